import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError } from '../errors';
import { isUuid } from '../auth/tenancy';
import { isPlatformAdmin, seesAllPartners, type Viewer } from '../auth/viewer';
import { paginateRows, timeOrder, type ConnectionResult, type SqlCondition } from '../common/connection';
import type { Customer } from '../customers/customer.entity';
import type { Partner } from '../partners/partner.entity';
import { plainPartner } from '../partners/partner.queries';
import { PartnerType } from '../auth/roles';
import { Channel } from '../acceptance/acceptance.enums';
import { alertOfOrderCtes } from '../alerts/alert.record';
import { blockedOrderAlertOf, type BlockedOrderAlertRecord } from '../alerts/alert.queries';
import { decide, type GateDecision } from './gate';
import type { DescribedRule } from '../policy/policy.rules';
import { gateFacts, readAttemptFacts, type AttemptFacts, type AttemptQuery } from './transaction.facts';
import {
  lockedSubscription,
  orderOf,
  subscriptionOf,
  type CustomerJson,
  type OrderRecord,
  type PartnerJson,
  type SubscriptionJson,
  type SubscriptionRecord,
} from './transaction.queries';
import { plainCustomer } from '../customers/customer.queries';
import { queryRows } from '../db/query';
import { BillingCycle, OrderOutcome, SubscriptionStatus, TermDuration, TransactionKind } from './transaction.enums';
import { billingFits, lotsAfterChange, termEnd } from './windows';
import type { OrderFilter, TransactionInput } from './transaction.inputs';
import { newId } from '../kernel/ids';

/** Everything the gate and the order need, validated. */
interface Prepared {
  customer: CustomerJson;
  partnerId: string;
  resellerId: string | null;
  kind: TransactionKind;
  channel: Channel;
  requestedAt: Date;
  quantity: number;
  offerId: string | null;
  subscription: SubscriptionJson | null;
  /** NEW_PURCHASE: the term and billing; RENEWAL and AUTO_RENEWAL: the next term's. */
  termDuration: TermDuration | null;
  billingCycle: BillingCycle | null;
}

export interface AttemptResult {
  order: OrderRecord;
  alert: BlockedOrderAlertRecord | null;
  /**
   * The records the order names, as they were just read or written (plain objects of the
   * entities' shape), for the resolver to answer the payload's fields without reading
   * them again.
   */
  known: { customers: Customer[]; partners: Partner[]; subscriptions: SubscriptionRecord[]; policyRules: DescribedRule[] };
}

const KEY_MAX = 200;

/** One year on, as a calendar date (`YYYY-MM-DD`); 29 February rolls to 1 March. */
export function plusOneYear(date: string | Date): string {
  const d = typeof date === 'string' ? new Date(`${date}T00:00:00Z`) : new Date(date.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + 1);
  return d.toISOString().slice(0, 10);
}

const uuidOrNull = (id: string | null | undefined): string | null => (isUuid(id) ? id : null);

/** What of the order's customer and partners the statement read (a replay's are the request's, as its hash matched). */
function knownOf(facts: AttemptFacts, order: OrderRecord, subscription: SubscriptionJson | null): AttemptResult['known'] {
  const customers = facts.customer && facts.customer.id === order.customer.id ? [plainCustomer(facts.customer)] : [];
  const partners = [order.partner.id, order.reseller?.id]
    .map((id) => (id ? facts.partners.get(id) : undefined))
    .filter((p): p is PartnerJson => !!p)
    .map((p) => plainPartner(p));
  const rule = order.policyRule ? facts.rules.find((r) => r.id === order.policyRule!.id) : undefined;
  return { customers, partners, subscriptions: subscription ? [subscriptionOf(subscription)] : [], policyRules: rule ? [rule] : [] };
}

/** A concurrent request under the same key committed first: this one's writes are rolled back and it answers the first. */
class DuplicateAttempt extends Error {}

/** Transactions and the gate (DESIGN.md section 5): attempt, dry run, history. */
export class TransactionService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
  ) {}

  /** A dry run: the same validation and the same gate as `attempt`, and nothing written. */
  async preflight(input: TransactionInput): Promise<GateDecision> {
    this.assertRequestedAtAllowed(input);
    const requestedAt = input.requestedAt ?? new Date();
    const facts = await readAttemptFacts(this.em, this.factsQuery(input, null, requestedAt));
    const prepared = this.prepare(input, facts, requestedAt);
    return decide(gateFacts(facts, prepared));
  }

  /**
   * Reads the earlier order under the key, what validation checks and the gate's facts
   * in one statement, decides, and writes the order (with its subscription or alert) in
   * one more: on its own for a NEW_PURCHASE, after locking the subscription otherwise.
   * The unique (scope, key) index makes concurrent duplicates queue: the first inserts,
   * the others find its committed order and answer it.
   */
  async attempt(input: TransactionInput): Promise<AttemptResult> {
    this.assertRequestedAtAllowed(input);
    const key = (input.idempotencyKey ?? '').trim();
    if (!key) throw new BadUserInputError('idempotencyKey is required', 'idempotencyKey');
    if (key.length > KEY_MAX) throw new BadUserInputError(`idempotencyKey is longer than ${KEY_MAX} characters`, 'idempotencyKey');
    const scope = this.viewer.partnerId ?? 'platform';
    const hash = requestHash(input);
    const requestedAt = input.requestedAt ?? new Date();
    const query = this.factsQuery(input, { scope, key }, requestedAt);
    const facts = await readAttemptFacts(this.em, query);
    // A plain retry is answered before anything else, as the first answer was.
    if (facts.earlier) return this.replay(facts, hash);
    const prepared = this.prepare(input, facts, requestedAt);
    const decision = decide(gateFacts(facts, prepared));
    try {
      if (!prepared.subscription) return await this.place(this.em, facts, prepared, decision, { key, scope, hash });
      return await this.em.transactional(async (tx) => {
        // Concurrent changes of one subscription apply one after the other.
        prepared.subscription = await this.lockSubscription(tx, prepared.subscription!.id, prepared.kind);
        // The windows are judged on the subscription as locked: two decreases at once cannot both spend the same reducible seats.
        const windowed = prepared.kind === TransactionKind.SEAT_CHANGE || prepared.kind === TransactionKind.CANCELLATION;
        return this.place(tx, facts, prepared, windowed ? decide(gateFacts(facts, prepared)) : decision, { key, scope, hash });
      });
    } catch (err) {
      if (!(err instanceof DuplicateAttempt)) throw err;
      const again = await readAttemptFacts(this.em, query);
      if (!again.earlier) throw new Error('the conflicting order under this idempotency key is gone');
      return this.replay(again, hash);
    }
  }

  /** The first order under the key, answered again; a different request under the key is a CONFLICT. */
  private replay(facts: AttemptFacts, hash: string): AttemptResult {
    const earlier = facts.earlier!;
    if (earlier.order.request_hash !== hash) {
      throw new ConflictError('This idempotencyKey was already used for a different request');
    }
    const order = orderOf(earlier.order);
    const alert = order.outcome === OrderOutcome.BLOCKED && earlier.alert ? blockedOrderAlertOf(earlier.alert) : null;
    return { order, alert, known: knownOf(facts, order, null) };
  }

  /** Re-reads the subscription under a row lock (inside the transaction). */
  private async lockSubscription(em: EntityManager, id: string, kind: TransactionKind): Promise<SubscriptionJson> {
    const subscription = await lockedSubscription(em, id);
    if (!subscription) throw new NotFoundError('Subscription', id, 'subscriptionId');
    assertTransactable(subscription, kind);
    return subscription;
  }

  /**
   * One statement: the order, and with it the new or changed subscription (COMPLETED) or
   * the alert (BLOCKED, see `alertOfOrderCtes`). `on conflict do nothing` on the
   * idempotency key inserts nothing when a concurrent duplicate committed first; the
   * subscription and the alert follow from the inserted row only.
   */
  private async place(em: EntityManager, facts: AttemptFacts, p: Prepared, decision: GateDecision, idem: { key: string; scope: string; hash: string }): Promise<AttemptResult> {
    const completed = decision.outcome === OrderOutcome.COMPLETED;
    const order: OrderRecord = {
      id: newId(),
      customer: { id: p.customer.id },
      partner: { id: p.partnerId },
      reseller: p.resellerId ? { id: p.resellerId } : null,
      kind: p.kind,
      channel: p.channel,
      outcome: decision.outcome,
      blockReasons: decision.blockReasons,
      warnings: decision.warnings,
      requestedAt: p.requestedAt,
      createdAt: new Date(),
      offerId: p.offerId,
      quantity: p.quantity,
      subscription: p.subscription ? { id: p.subscription.id } : null,
      placedBy: { id: this.viewer.userId },
      // The rule in force was among the facts read: recording it costs no statement.
      policyRule: decision.policyRule ? { id: decision.policyRule.id } : null,
      idempotencyKey: idem.key,
      idempotencyScope: idem.scope,
      requestHash: idem.hash,
    };
    let cte: string;
    const params: unknown[] = [];
    // The subscription as it is after this statement.
    let subscription = p.subscription;
    const at = p.requestedAt.toISOString();
    if (completed && p.kind === TransactionKind.NEW_PURCHASE) {
      const term = p.termDuration ?? TermDuration.P1Y;
      subscription = {
        id: newId(),
        customer_id: p.customer.id,
        partner_id: p.partnerId,
        reseller_id: p.resellerId,
        offer_id: p.offerId!,
        seats: p.quantity,
        status: SubscriptionStatus.ACTIVE,
        renews_on: termEnd(p.requestedAt, term),
        created_at: order.createdAt.toISOString(),
        cancelled_at: null,
        term_duration: term,
        billing_cycle: p.billingCycle ?? BillingCycle.ANNUAL,
        auto_renew: true,
        term_started_at: at,
        seat_lots: [{ seats: p.quantity, addedAt: at }],
      };
      order.subscription = { id: subscription.id };
      cte = `subscription as (
        insert into subscriptions (id, customer_id, partner_id, reseller_id, offer_id, seats, status, renews_on, created_at,
                                   term_duration, billing_cycle, auto_renew, term_started_at, seat_lots)
        select ?::uuid, ?::uuid, ?::uuid, ?::uuid, ?::text, ?::int, ?::text, ?::date, ?::timestamptz, ?::text, ?::text, true, ?::timestamptz, ?::jsonb
          from placed returning id)`;
      const s = subscription;
      params.push(s.id, s.customer_id, s.partner_id, s.reseller_id, s.offer_id, s.seats, s.status, s.renews_on, order.createdAt,
        s.term_duration, s.billing_cycle, s.term_started_at, JSON.stringify(s.seat_lots));
    } else if (completed && p.kind === TransactionKind.SEAT_CHANGE) {
      const was = p.subscription!;
      subscription = { ...was, seats: p.quantity, seat_lots: lotsAfterChange(was.seat_lots ?? [], was.seats, p.quantity, p.requestedAt) };
      cte = 'subscription as (update subscriptions set seats = ?, seat_lots = ?::jsonb where id = ? and exists (select 1 from placed) returning id)';
      params.push(subscription.seats, JSON.stringify(subscription.seat_lots), subscription.id);
    } else if (completed && p.kind === TransactionKind.CANCELLATION) {
      subscription = { ...p.subscription!, status: SubscriptionStatus.CANCELLED, cancelled_at: at };
      cte = `subscription as (update subscriptions set status = 'CANCELLED', cancelled_at = ? where id = ? and exists (select 1 from placed) returning id)`;
      params.push(p.requestedAt, subscription.id);
    } else if (completed) {
      // A renewal starts the next term: its term, billing and seats (a RENEWAL may change them), a fresh window.
      const was = p.subscription!;
      const term = p.termDuration ?? was.term_duration;
      subscription = {
        ...was,
        seats: p.quantity,
        renews_on: termEnd(was.renews_on, term),
        term_duration: term,
        billing_cycle: p.billingCycle ?? was.billing_cycle,
        term_started_at: at,
        seat_lots: [{ seats: p.quantity, addedAt: at }],
      };
      cte = `subscription as (update subscriptions set renews_on = ?, seats = ?, term_duration = ?, billing_cycle = ?, term_started_at = ?, seat_lots = ?::jsonb
        where id = ? and exists (select 1 from placed) returning id)`;
      params.push(subscription.renews_on, subscription.seats, subscription.term_duration, subscription.billing_cycle, p.requestedAt, JSON.stringify(subscription.seat_lots), subscription.id);
    } else {
      // Same statement, so the same transaction: no blocked order without its alert, no alert without its order.
      cte = alertOfOrderCtes('placed');
    }
    const [row] = await queryRows<{ id: string; alert_id?: string; alert_created_at?: string }>(em, {
      // The variants: new subscription, seats, renewal, alert.
      key: `place:${completed ? p.kind : 'BLOCKED'}`,
      sql: () => `with placed as (
         insert into orders (id, customer_id, partner_id, reseller_id, kind, channel, outcome, block_reasons, warnings, requested_at, created_at,
                             offer_id, quantity, subscription_id, placed_by_id, policy_rule_id, idempotency_key, idempotency_scope, request_hash)
         values (?, ?, ?, ?, ?, ?, ?, ?::text[], ?::text[], ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (idempotency_scope, idempotency_key) do nothing
         returning id, customer_id, partner_id, reseller_id, block_reasons),
       ${cte}
       ${completed ? 'select placed.id from placed' : 'select placed.id, n.id as alert_id, n.created_at as alert_created_at from placed left join alert_notified n on true'}`,
    }, [
        order.id, p.customer.id, p.partnerId, p.resellerId, order.kind, order.channel, order.outcome, order.blockReasons, order.warnings,
        order.requestedAt, order.createdAt, order.offerId, order.quantity, order.subscription?.id ?? null, this.viewer.userId, order.policyRule?.id ?? null, idem.key, idem.scope, idem.hash,
        ...params,
      ],
    );
    if (!row) throw new DuplicateAttempt();
    const alert: BlockedOrderAlertRecord | null = completed
      ? null
      : {
          id: String(row.alert_id),
          order: { id: order.id },
          customer: order.customer,
          partner: order.partner,
          reseller: order.reseller,
          reasons: order.blockReasons,
          createdAt: new Date(row.alert_created_at!),
          acknowledgedAt: null,
          acknowledgedBy: null,
        };
    return { order, alert, known: knownOf(facts, order, subscription) };
  }

  private assertRequestedAtAllowed(input: TransactionInput): void {
    if (input.requestedAt && !isPlatformAdmin(this.viewer)) throw new ForbiddenError('Only a platform admin may set requestedAt');
  }

  /** The ids the statement reads: the ones validation will check, and the partners the gate is asked about. */
  private factsQuery(input: TransactionInput, idempotency: AttemptQuery['idempotency'], requestedAt: Date): AttemptQuery {
    const v = this.viewer;
    const reseller = v.partnerType === PartnerType.INDIRECT_RESELLER;
    const named = reseller || seesAllPartners(v);
    return {
      viewer: v,
      idempotency,
      customerId: uuidOrNull(input.customerId),
      namedPartnerId: uuidOrNull(input.partnerId),
      namedResellerId: uuidOrNull(input.resellerId),
      partnerId: named ? uuidOrNull(input.partnerId) : (v.partnerId ?? null),
      resellerId: reseller ? (v.partnerId ?? null) : uuidOrNull(input.resellerId),
      subscriptionId: input.kind === TransactionKind.NEW_PURCHASE ? null : uuidOrNull(input.subscriptionId),
      requestedAt,
    };
  }

  /** Validation in the order of the input; answers with the coded error of the first problem. */
  private prepare(input: TransactionInput, facts: AttemptFacts, requestedAt: Date): Prepared {
    const kind = input.kind;
    if (kind === TransactionKind.CANCELLATION) {
      if (input.quantity !== 0) throw new BadUserInputError('quantity must be 0 for CANCELLATION', 'quantity');
    } else if (!Number.isInteger(input.quantity) || input.quantity < 1) throw new BadUserInputError('quantity must be more than 0', 'quantity');
    const termed = kind === TransactionKind.NEW_PURCHASE || kind === TransactionKind.RENEWAL;
    for (const field of ['termDuration', 'billingCycle'] as const) {
      if (input[field] && !termed) throw new BadUserInputError(`${field} is only for NEW_PURCHASE and RENEWAL`, field);
    }
    if (input.termDuration && !Object.values(TermDuration).includes(input.termDuration)) throw new BadUserInputError('termDuration is not a known term', 'termDuration');
    if (input.billingCycle && !Object.values(BillingCycle).includes(input.billingCycle)) throw new BadUserInputError('billingCycle is not a known billing cycle', 'billingCycle');
    if (kind === TransactionKind.NEW_PURCHASE) checkBilling(input.termDuration ?? TermDuration.P1Y, input.billingCycle ?? BillingCycle.ANNUAL);
    let offerId: string | null = null;
    if (kind === TransactionKind.NEW_PURCHASE) {
      offerId = (input.offerId ?? '').trim();
      if (!offerId) throw new BadUserInputError('offerId is required for NEW_PURCHASE', 'offerId');
      if (offerId.length > 200) throw new BadUserInputError('offerId is longer than 200 characters', 'offerId');
    } else if (!input.subscriptionId) {
      throw new BadUserInputError(`subscriptionId is required for ${kind}`, 'subscriptionId');
    }
    const { partnerId, resellerId } = this.partners(input, facts);
    const customer = facts.customer;
    if (!customer) throw new NotFoundError('Customer', input.customerId, 'customerId');

    let subscription: SubscriptionJson | null = null;
    if (kind !== TransactionKind.NEW_PURCHASE) {
      subscription = facts.subscription;
      if (!subscription) throw new NotFoundError('Subscription', input.subscriptionId!, 'subscriptionId');
      assertTransactable(subscription, kind);
    }
    let termDuration: TermDuration | null = null;
    let billingCycle: BillingCycle | null = null;
    if (kind === TransactionKind.NEW_PURCHASE) {
      termDuration = input.termDuration ?? TermDuration.P1Y;
      billingCycle = input.billingCycle ?? BillingCycle.ANNUAL;
    } else if (subscription && kind !== TransactionKind.SEAT_CHANGE && kind !== TransactionKind.CANCELLATION) {
      // The next term: as asked, else as the current one.
      termDuration = input.termDuration ?? subscription.term_duration;
      billingCycle = input.billingCycle ?? subscription.billing_cycle;
      checkBilling(termDuration, billingCycle);
    }
    return {
      customer,
      partnerId,
      resellerId,
      kind,
      channel: input.channel ?? Channel.API,
      requestedAt,
      quantity: input.quantity,
      offerId,
      subscription,
      termDuration,
      billingCycle,
    };
  }

  /**
   * The billing partner and the reseller of the order. A reseller names its provider
   * and places the order as itself; whether it may (linked, serving the customer) is
   * the gate's RESELLER_NOT_AUTHORIZED, so the attempt is recorded and alerted.
   */
  private partners(input: TransactionInput, facts: AttemptFacts): { partnerId: string; resellerId: string | null } {
    const v = this.viewer;
    if (v.partnerType === PartnerType.INDIRECT_RESELLER) {
      if (!input.partnerId || input.partnerId === v.partnerId) {
        throw new BadUserInputError('A reseller names the provider it orders through as partnerId', 'partnerId');
      }
      if (input.resellerId && input.resellerId !== v.partnerId) throw new ForbiddenError('A reseller places orders only as itself');
      partnerOfType(facts.namedPartnerType, input.partnerId, 'partnerId', [PartnerType.INDIRECT_PROVIDER], v);
      return { partnerId: input.partnerId, resellerId: v.partnerId! };
    }
    let partnerId: string;
    if (seesAllPartners(v)) {
      if (!input.partnerId) throw new BadUserInputError('partnerId is required for a caller without a partner', 'partnerId');
      partnerOfType(facts.namedPartnerType, input.partnerId, 'partnerId', [PartnerType.DIRECT_BILL, PartnerType.INDIRECT_PROVIDER], v);
      partnerId = input.partnerId;
    } else {
      if (input.partnerId && !isUuid(input.partnerId)) throw new NotFoundError('Partner', input.partnerId, 'partnerId');
      // A partner user acts for its own partner only (as actingPartnerId answers).
      if (input.partnerId && input.partnerId !== v.partnerId) throw new NotFoundError('Partner', input.partnerId);
      partnerId = v.partnerId!;
    }
    if (!input.resellerId) return { partnerId, resellerId: null };
    partnerOfType(facts.namedResellerType, input.resellerId, 'resellerId', [PartnerType.INDIRECT_RESELLER], v);
    return { partnerId, resellerId: input.resellerId };
  }

  /**
   * Orders the viewer may see: its own as billing partner (a provider: also its resellers') or as
   * reseller. Plain rows (`orderOf`), page and bounded count in one statement: a page of managed
   * entities cost about twice the CPU of the rows' own work (issue 23).
   */
  list(filter: OrderFilter | null | undefined, args: { first?: number | null; after?: string | null }): Promise<ConnectionResult<OrderRecord>> {
    const where: SqlCondition[] = [];
    if (!seesAllPartners(this.viewer)) {
      // An order's partner is a billing partner and its reseller a reseller (placing one checks
      // both; a partner's type never changes): one column for the viewer's type, so the page is
      // an ordered range of (partner_id, created_at) and the bounded count stops at its cap
      // there; `partner_id = ? or reseller_id = ?` read a bitmap of every order of the partner.
      const column = this.viewer.partnerType === PartnerType.INDIRECT_RESELLER ? 'o.reseller_id' : 'o.partner_id';
      where.push({ sql: `${column} = ?::uuid`, params: [this.viewer.partnerId] });
    }
    for (const [field, column] of [['customerId', 'o.customer_id'], ['partnerId', 'o.partner_id']] as const) {
      const id = filter?.[field];
      if (id === null || id === undefined) continue;
      // A malformed id matches nothing, like an id of another tenant.
      where.push(isUuid(id) ? { sql: `${column} = ?::uuid`, params: [id] } : { sql: 'false', params: [] });
    }
    if (filter?.outcome) where.push({ sql: 'o.outcome = ?', params: [filter.outcome] });
    if (filter?.kind) where.push({ sql: 'o.kind = ?', params: [filter.kind] });
    return paginateRows(
      this.em,
      {
        table: 'orders',
        alias: 'o',
        where,
        keys: timeOrder('o.created_at', (o) => o.createdAt, 'o.id', (o) => o.id),
        row: orderOf,
        count: 'bounded',
      },
      args,
    );
  }
}

/** A billing cycle must fit the term (DESIGN.md section 12): BAD_USER_INPUT naming `billingCycle`. */
function checkBilling(term: TermDuration, billing: BillingCycle): void {
  if (!billingFits(term, billing)) throw new BadUserInputError(`billingCycle ${billing} does not fit the term ${term}`, 'billingCycle');
}

/**
 * Whether a subscription takes a transaction of `kind`: cancelled and expired ones take
 * none; an ENDING one (auto-renew off) is neither renewed nor auto-renewed (turn auto-renew
 * on first), but its seats may change and it may be cancelled inside its window.
 */
function assertTransactable(s: SubscriptionJson, kind: TransactionKind): void {
  if (s.status === SubscriptionStatus.CANCELLED || s.status === SubscriptionStatus.EXPIRED) {
    throw new BadUserInputError(`The subscription is ${s.status}`, 'subscriptionId');
  }
  if (s.status === SubscriptionStatus.ENDING && (kind === TransactionKind.RENEWAL || kind === TransactionKind.AUTO_RENEWAL)) {
    throw new BadUserInputError('The subscription is ENDING (auto-renew is off): turn auto-renew on to renew it', 'subscriptionId');
  }
}

/** NOT_FOUND when the named partner does not exist (or the id is no UUID), BAD_USER_INPUT when it is of another type. */
/**
 * The named partner exists and is of one of `types`. A partner user naming a partner of
 * another type is answered as for an unknown id: the type of another tenant is not its to learn.
 */
function partnerOfType(type: PartnerType | null, id: string, field: string, types: PartnerType[], viewer: Viewer): void {
  if (!type || (!types.includes(type) && !seesAllPartners(viewer))) throw new NotFoundError('Partner', id, field);
  if (!types.includes(type)) throw new BadUserInputError(`${field} must name a partner of type ${types.join(' or ')}`, field);
}

/** What identifies a request under an idempotency key: every field as sent (defaults applied). */
export function requestHash(input: TransactionInput): string {
  const canonical = [
    input.customerId,
    input.kind,
    input.channel ?? Channel.API,
    input.partnerId ?? null,
    input.resellerId ?? null,
    input.subscriptionId ?? null,
    input.offerId ?? null,
    input.quantity,
    input.requestedAt ? new Date(input.requestedAt).toISOString() : null,
    // Appended only when sent, so keys of requests from before new commerce hash as they did.
    ...(input.termDuration || input.billingCycle ? [input.termDuration ?? null, input.billingCycle ?? null] : []),
  ];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
