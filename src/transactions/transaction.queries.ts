import type { EntityManager } from '@mikro-orm/postgresql';
import type { BlockedOrderAlertRow, Ref } from '../alerts/alert.queries';
import type { Channel } from '../acceptance/acceptance.enums';
import type { CustomerRow } from '../customers/customer.queries';
import { queryRows } from '../db/query';
import type { PartnerRow } from '../partners/partner.queries';
import type { BillingCycle, BlockReason, OrderOutcome, SubscriptionStatus, TermDuration, TransactionKind, TransactionWarning } from './transaction.enums';
import type { SeatLot } from './windows';

/**
 * The transactions feature's hand-written SQL outside the attempt's two statements
 * (transaction.facts.ts reads, TransactionService.place writes): the rows of orders,
 * alerts and subscriptions as `row_to_json` writes them, and one mapper per entity (the
 * alert's is the alerts feature's `blockedOrderAlertOf`).
 */

/** An order row as `row_to_json` writes it. */
export interface OrderJson {
  id: string;
  customer_id: string;
  partner_id: string;
  reseller_id: string | null;
  kind: string;
  channel: string;
  outcome: string;
  block_reasons: string[];
  warnings: string[];
  requested_at: string;
  created_at: string;
  offer_id: string | null;
  quantity: number;
  subscription_id: string | null;
  placed_by_id: string;
  policy_rule_id: string | null;
  idempotency_key: string;
  idempotency_scope: string;
  request_hash: string;
}

/** A blocked-order alert row as `row_to_json` writes it (the alerts feature's row; its bigint id as a JSON number). */
export type AlertJson = BlockedOrderAlertRow;

export interface SubscriptionJson {
  id: string;
  customer_id: string;
  partner_id: string;
  reseller_id: string | null;
  offer_id: string;
  seats: number;
  status: SubscriptionStatus;
  renews_on: string;
  created_at: string;
  cancelled_at: string | null;
  term_duration: TermDuration;
  billing_cycle: BillingCycle;
  auto_renew: boolean;
  /** Business time of the purchase or last renewal. */
  term_started_at: string;
  seat_lots: SeatLot[];
}

/** A customer row as `row_to_json` writes it. */
export type CustomerJson = CustomerRow;

/** A partner row as `row_to_json` writes it. */
export type PartnerJson = PartnerRow;

/**
 * An order as the attempt reads or writes it: a plain, read-only record of the entity's
 * GraphQL shape (relations as ids, which the field resolvers load). Managed entities
 * satisfy it too, so the resolvers take either.
 */
export interface OrderRecord {
  id: string;
  customer: Ref;
  partner: Ref;
  reseller?: Ref | null;
  kind: TransactionKind;
  channel: Channel;
  outcome: OrderOutcome;
  blockReasons: BlockReason[];
  warnings: TransactionWarning[];
  requestedAt: Date;
  createdAt: Date;
  offerId?: string | null;
  quantity: number;
  subscription?: Ref | null;
  placedBy: Ref;
  /** The policy rule the gate decided by; null before enforcement (and on orders stored before it was recorded). */
  policyRule?: Ref | null;
  idempotencyKey: string;
  idempotencyScope: string;
  requestHash: string;
}

/** A subscription as a plain, read-only record (relations as ids); managed entities satisfy it too. */
export interface SubscriptionRecord {
  id: string;
  customer: Ref;
  partner: Ref;
  reseller?: Ref | null;
  offerId: string;
  seats: number;
  status: SubscriptionStatus;
  renewsOn: string;
  createdAt: Date;
  cancelledAt?: Date | null;
  termDuration: TermDuration;
  billingCycle: BillingCycle;
  autoRenew: boolean;
  termStartedAt: Date;
  seatLots: SeatLot[];
}

/** The order as stored, from its `row_to_json`. */
export function orderOf(o: OrderJson): OrderRecord {
  return {
    id: o.id,
    customer: { id: o.customer_id },
    partner: { id: o.partner_id },
    reseller: o.reseller_id ? { id: o.reseller_id } : null,
    kind: o.kind as TransactionKind,
    channel: o.channel as Channel,
    outcome: o.outcome as OrderOutcome,
    blockReasons: o.block_reasons as BlockReason[],
    warnings: o.warnings as TransactionWarning[],
    requestedAt: new Date(o.requested_at),
    createdAt: new Date(o.created_at),
    offerId: o.offer_id,
    quantity: o.quantity,
    subscription: o.subscription_id ? { id: o.subscription_id } : null,
    placedBy: { id: o.placed_by_id },
    policyRule: o.policy_rule_id ? { id: o.policy_rule_id } : null,
    idempotencyKey: o.idempotency_key,
    idempotencyScope: o.idempotency_scope,
    requestHash: o.request_hash,
  };
}

export function subscriptionOf(s: SubscriptionJson): SubscriptionRecord {
  return {
    id: s.id,
    customer: { id: s.customer_id },
    partner: { id: s.partner_id },
    reseller: s.reseller_id ? { id: s.reseller_id } : null,
    offerId: s.offer_id,
    seats: s.seats,
    status: s.status,
    renewsOn: s.renews_on,
    createdAt: new Date(s.created_at),
    cancelledAt: s.cancelled_at ? new Date(s.cancelled_at) : null,
    termDuration: s.term_duration,
    billingCycle: s.billing_cycle,
    autoRenew: s.auto_renew,
    termStartedAt: new Date(s.term_started_at),
    seatLots: s.seat_lots ?? [],
  };
}

/** Re-reads the subscription under a row lock (inside the caller's transaction). */
export async function lockedSubscription(em: EntityManager, id: string): Promise<SubscriptionJson | undefined> {
  const [row] = await queryRows<{ s: SubscriptionJson }>(em, 'select row_to_json(s) as s from subscriptions s where s.id = ? for update', [id]);
  return row?.s;
}
