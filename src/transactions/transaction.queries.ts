import type { EntityManager } from '@mikro-orm/postgresql';
import { BlockedOrderAlert } from '../alerts/alert.entity';
import type { Channel } from '../acceptance/acceptance.enums';
import type { Customer } from '../customers/customer.entity';
import type { CustomerRow } from '../customers/customer.queries';
import { queryRows } from '../db/query';
import type { Partner, User } from '../partners/partner.entity';
import type { PartnerRow } from '../partners/partner.queries';
import { Order, Subscription } from './transaction.entity';
import type { BlockReason, OrderOutcome, SubscriptionStatus, TransactionKind, TransactionWarning } from './transaction.enums';

/**
 * The transactions feature's hand-written SQL outside the attempt's two statements
 * (transaction.facts.ts reads, TransactionService.place writes): the rows of orders,
 * alerts and subscriptions as `row_to_json` writes them, and one mapper per entity.
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
  idempotency_key: string;
  idempotency_scope: string;
  request_hash: string;
}

/** A blocked-order alert row as `row_to_json` writes it. */
export interface AlertJson {
  id: number | string;
  order_id: string;
  customer_id: string;
  partner_id: string;
  reseller_id: string | null;
  reasons: string[];
  created_at: string;
  acknowledged_at: string | null;
  acknowledged_by_id: string | null;
}

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
}

/** A customer row as `row_to_json` writes it. */
export type CustomerJson = CustomerRow;

/** A partner row as `row_to_json` writes it. */
export type PartnerJson = PartnerRow;

/**
 * A read-only record of an entity's class holding its fields as plain own properties:
 * `instanceof` holds, and defining the fields directly skips the ORM's per-instance
 * change tracking, which a record that never enters an EntityManager does not need.
 */
export function record<T extends object>(entity: abstract new () => T, fields: { [K in keyof T]?: T[K] }): T {
  const o = Object.create(entity.prototype) as T;
  for (const key of Object.keys(fields)) {
    Object.defineProperty(o, key, { value: (fields as Record<string, unknown>)[key], writable: true, enumerable: true, configurable: true });
  }
  return o;
}

/** The order as stored, from its `row_to_json`; relations are references by id, as the resolvers load them. */
export function orderOf(o: OrderJson): Order {
  return record(Order, {
    id: o.id,
    customer: { id: o.customer_id } as Customer,
    partner: { id: o.partner_id } as Partner,
    reseller: o.reseller_id ? ({ id: o.reseller_id } as Partner) : null,
    kind: o.kind as TransactionKind,
    channel: o.channel as Channel,
    outcome: o.outcome as OrderOutcome,
    blockReasons: o.block_reasons as BlockReason[],
    warnings: o.warnings as TransactionWarning[],
    requestedAt: new Date(o.requested_at),
    createdAt: new Date(o.created_at),
    offerId: o.offer_id,
    quantity: o.quantity,
    subscription: o.subscription_id ? ({ id: o.subscription_id } as Subscription) : null,
    placedBy: { id: o.placed_by_id } as User,
    idempotencyKey: o.idempotency_key,
    idempotencyScope: o.idempotency_scope,
    requestHash: o.request_hash,
  });
}

export function alertOf(a: AlertJson, order: Order): BlockedOrderAlert {
  return record(BlockedOrderAlert, {
    id: String(a.id),
    order,
    customer: { id: a.customer_id } as Customer,
    partner: { id: a.partner_id } as Partner,
    reseller: a.reseller_id ? ({ id: a.reseller_id } as Partner) : null,
    reasons: a.reasons as BlockReason[],
    createdAt: new Date(a.created_at),
    acknowledgedAt: a.acknowledged_at ? new Date(a.acknowledged_at) : null,
    acknowledgedBy: a.acknowledged_by_id ? ({ id: a.acknowledged_by_id } as User) : null,
  });
}

export function subscriptionOf(s: SubscriptionJson): Subscription {
  return record(Subscription, {
    id: s.id,
    customer: { id: s.customer_id } as Customer,
    partner: { id: s.partner_id } as Partner,
    reseller: s.reseller_id ? ({ id: s.reseller_id } as Partner) : null,
    offerId: s.offer_id,
    seats: s.seats,
    status: s.status,
    renewsOn: s.renews_on,
    createdAt: new Date(s.created_at),
    cancelledAt: s.cancelled_at ? new Date(s.cancelled_at) : null,
  });
}

/** Re-reads the subscription under a row lock (inside the caller's transaction). */
export async function lockedSubscription(em: EntityManager, id: string): Promise<SubscriptionJson | undefined> {
  const [row] = await queryRows<{ s: SubscriptionJson }>(em, 'select row_to_json(s) as s from subscriptions s where s.id = ? for update', [id]);
  return row?.s;
}
