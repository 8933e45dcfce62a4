import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError } from '../errors';
import { actingPartnerId, canSeeCustomer, isUuid } from '../auth/tenancy';
import { isPlatformAdmin, seesAllPartners, type Viewer } from '../auth/viewer';
import { paginate, type ConnectionResult } from '../common/connection';
import { Customer } from '../customers/customer.entity';
import { Partner, User } from '../partners/partner.entity';
import { PartnerType } from '../partners/partner.enums';
import { Channel } from '../acceptance/acceptance.enums';
import { BlockedOrderAlert } from '../alerts/alert.entity';
import { recordBlockedOrderAlert } from '../alerts/alert.record';
import { DEFAULT_GATE_POLICY, decide, type GateDecision, type GatePolicy } from './gate';
import { loadGateFacts } from './transaction.facts';
import { Order, Subscription } from './transaction.entity';
import { OrderOutcome, SubscriptionStatus, TransactionKind } from './transaction.enums';
import type { OrderFilter, TransactionInput } from './transaction.inputs';

/** Everything the gate and the order need, validated. */
interface Prepared {
  customer: Customer;
  partnerId: string;
  resellerId: string | null;
  kind: TransactionKind;
  channel: Channel;
  requestedAt: Date;
  quantity: number;
  offerId: string | null;
  subscription: Subscription | null;
}

export interface AttemptResult {
  order: Order;
  alert: BlockedOrderAlert | null;
}

/** First key of the two-key advisory lock that serializes requests under one idempotency key. */
const IDEMPOTENCY_LOCK = 7_302_119;
const KEY_MAX = 200;

/** One year on, as a calendar date (`YYYY-MM-DD`); 29 February rolls to 1 March. */
export function plusOneYear(date: string | Date): string {
  const d = typeof date === 'string' ? new Date(`${date}T00:00:00Z`) : new Date(date.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + 1);
  return d.toISOString().slice(0, 10);
}

/** Transactions and the gate (DESIGN.md section 5): attempt, dry run, history. */
export class TransactionService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
    private readonly policy: GatePolicy = DEFAULT_GATE_POLICY,
  ) {}

  /** A dry run: the same validation and the same gate as `attempt`, and nothing written. */
  async preflight(input: TransactionInput): Promise<GateDecision> {
    this.assertRequestedAtAllowed(input);
    const prepared = await this.prepare(this.em, input);
    return decide(await loadGateFacts(this.em, prepared), this.policy);
  }

  async attempt(input: TransactionInput): Promise<AttemptResult> {
    this.assertRequestedAtAllowed(input);
    const key = (input.idempotencyKey ?? '').trim();
    if (!key) throw new BadUserInputError('idempotencyKey is required', 'idempotencyKey');
    if (key.length > KEY_MAX) throw new BadUserInputError(`idempotencyKey is longer than ${KEY_MAX} characters`, 'idempotencyKey');
    const scope = this.viewer.partnerId ?? 'platform';
    const hash = requestHash(input);
    // Outside the transaction: a plain retry is answered without queueing, and validation
    // (which reads through the pool) never runs while this request holds a connection.
    const replay = await this.earlier(this.em, scope, key, hash);
    if (replay) return replay;
    const prepared = await this.prepare(this.em, input);
    try {
      return await this.em.transactional(async (t) => {
        const tx = t as EntityManager;
        // Identical concurrent requests queue here; the next finds the first's order once it committed.
        await tx.getConnection().execute('select pg_advisory_xact_lock(?, hashtext(?))', [IDEMPOTENCY_LOCK, `${scope}:${key}`], 'all', tx.getTransactionContext());
        const earlier = await this.earlier(tx, scope, key, hash);
        if (earlier) return earlier;
        // From here on only this transaction's connection is used, so queued requests cannot starve it.
        if (prepared.subscription) prepared.subscription = await this.lockSubscription(tx, prepared.subscription.id);
        return this.place(tx, prepared, { key, scope, hash });
      });
    } catch (err) {
      // The unique (scope, key) index is the backstop should two requests ever pass the lock together.
      if (err instanceof UniqueConstraintViolationException) {
        const earlier = await this.earlier(this.em.fork() as EntityManager, scope, key, hash);
        if (earlier) return earlier;
      }
      throw err;
    }
  }

  /** Re-reads the subscription under a row lock: concurrent changes of one subscription apply one after the other. */
  private async lockSubscription(tx: EntityManager, id: string): Promise<Subscription> {
    const subscription = await tx.findOneOrFail(Subscription, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (subscription.status !== SubscriptionStatus.ACTIVE) {
      throw new BadUserInputError(`The subscription is ${subscription.status}`, 'subscriptionId');
    }
    return subscription;
  }

  /** The first order under this key, if any; a different request under the key is a CONFLICT. */
  private async earlier(em: EntityManager, scope: string, key: string, hash: string): Promise<AttemptResult | null> {
    const order = await em.findOne(Order, { idempotencyScope: scope, idempotencyKey: key });
    if (!order) return null;
    if (order.requestHash !== hash) {
      throw new ConflictError('This idempotencyKey was already used for a different request');
    }
    const alert = order.outcome === OrderOutcome.BLOCKED ? await em.findOne(BlockedOrderAlert, { order: order.id }) : null;
    return { order, alert };
  }

  private async place(tx: EntityManager, p: Prepared, idem: { key: string; scope: string; hash: string }): Promise<AttemptResult> {
    const decision = decide(await loadGateFacts(tx, p), this.policy);
    let subscription = p.subscription;
    if (decision.outcome === OrderOutcome.COMPLETED) {
      if (p.kind === TransactionKind.NEW_PURCHASE) {
        subscription = tx.create(Subscription, {
          customer: p.customer,
          partner: tx.getReference(Partner, p.partnerId),
          reseller: p.resellerId ? tx.getReference(Partner, p.resellerId) : null,
          offerId: p.offerId!,
          seats: p.quantity,
          renewsOn: plusOneYear(p.requestedAt),
        });
      } else if (p.kind === TransactionKind.SEAT_CHANGE) {
        subscription!.seats = p.quantity;
      } else {
        subscription!.renewsOn = plusOneYear(subscription!.renewsOn);
      }
    }
    const order = tx.create(Order, {
      customer: p.customer,
      partner: tx.getReference(Partner, p.partnerId),
      reseller: p.resellerId ? tx.getReference(Partner, p.resellerId) : null,
      kind: p.kind,
      channel: p.channel,
      outcome: decision.outcome,
      blockReasons: decision.blockReasons,
      warnings: decision.warnings,
      requestedAt: p.requestedAt,
      offerId: p.offerId,
      quantity: p.quantity,
      subscription,
      placedBy: tx.getReference(User, this.viewer.userId),
      idempotencyKey: idem.key,
      idempotencyScope: idem.scope,
      requestHash: idem.hash,
    });
    await tx.flush();
    let alert: BlockedOrderAlert | null = null;
    if (order.outcome === OrderOutcome.BLOCKED) {
      // Same transaction: no blocked order without its alert, no alert without its order.
      const alertId = await recordBlockedOrderAlert(tx, order);
      alert = await tx.findOneOrFail(BlockedOrderAlert, { id: alertId });
    }
    return { order, alert };
  }

  private assertRequestedAtAllowed(input: TransactionInput): void {
    if (input.requestedAt && !isPlatformAdmin(this.viewer)) throw new ForbiddenError('Only a platform admin may set requestedAt');
  }

  /** Validation in the order of the input; answers with the coded error of the first problem. */
  private async prepare(em: EntityManager, input: TransactionInput): Promise<Prepared> {
    const kind = input.kind;
    if (!Number.isInteger(input.quantity) || input.quantity < 1) throw new BadUserInputError('quantity must be more than 0', 'quantity');
    let offerId: string | null = null;
    if (kind === TransactionKind.NEW_PURCHASE) {
      offerId = (input.offerId ?? '').trim();
      if (!offerId) throw new BadUserInputError('offerId is required for NEW_PURCHASE', 'offerId');
      if (offerId.length > 200) throw new BadUserInputError('offerId is longer than 200 characters', 'offerId');
    } else if (!input.subscriptionId) {
      throw new BadUserInputError(`subscriptionId is required for ${kind}`, 'subscriptionId');
    }
    const { partnerId, resellerId } = await this.partners(em, input);
    const customer = isUuid(input.customerId) && (await canSeeCustomer(em, this.viewer, input.customerId)) ? await em.findOne(Customer, { id: input.customerId }) : null;
    if (!customer) throw new NotFoundError('Customer', input.customerId, 'customerId');

    let subscription: Subscription | null = null;
    if (kind !== TransactionKind.NEW_PURCHASE) {
      subscription = isUuid(input.subscriptionId)
        ? await em.findOne(Subscription, { id: input.subscriptionId, customer: customer.id, partner: partnerId })
        : null;
      if (!subscription) throw new NotFoundError('Subscription', input.subscriptionId!, 'subscriptionId');
      if (subscription.status !== SubscriptionStatus.ACTIVE) {
        throw new BadUserInputError(`The subscription is ${subscription.status}`, 'subscriptionId');
      }
    }
    return {
      customer,
      partnerId,
      resellerId,
      kind,
      channel: input.channel ?? Channel.API,
      requestedAt: input.requestedAt ?? new Date(),
      quantity: input.quantity,
      offerId,
      subscription,
    };
  }

  /**
   * The billing partner and the reseller of the order. A reseller names its provider
   * and places the order as itself; whether it may (linked, serving the customer) is
   * the gate's RESELLER_NOT_AUTHORIZED, so the attempt is recorded and alerted.
   */
  private async partners(em: EntityManager, input: TransactionInput): Promise<{ partnerId: string; resellerId: string | null }> {
    const v = this.viewer;
    if (v.partnerType === PartnerType.INDIRECT_RESELLER) {
      if (!input.partnerId || input.partnerId === v.partnerId) {
        throw new BadUserInputError('A reseller names the provider it orders through as partnerId', 'partnerId');
      }
      if (input.resellerId && input.resellerId !== v.partnerId) throw new ForbiddenError('A reseller places orders only as itself');
      await this.partnerOfType(em, input.partnerId, 'partnerId', [PartnerType.INDIRECT_PROVIDER]);
      return { partnerId: input.partnerId, resellerId: v.partnerId! };
    }
    let partnerId: string;
    if (seesAllPartners(v)) {
      if (!input.partnerId) throw new BadUserInputError('partnerId is required for a caller without a partner', 'partnerId');
      await this.partnerOfType(em, input.partnerId, 'partnerId', [PartnerType.DIRECT_BILL, PartnerType.INDIRECT_PROVIDER]);
      partnerId = input.partnerId;
    } else {
      if (input.partnerId && !isUuid(input.partnerId)) throw new NotFoundError('Partner', input.partnerId, 'partnerId');
      partnerId = await actingPartnerId(em, v, input.partnerId);
    }
    if (!input.resellerId) return { partnerId, resellerId: null };
    await this.partnerOfType(em, input.resellerId, 'resellerId', [PartnerType.INDIRECT_RESELLER]);
    return { partnerId, resellerId: input.resellerId };
  }

  private async partnerOfType(em: EntityManager, id: string, field: string, types: PartnerType[]): Promise<Partner> {
    const partner = isUuid(id) ? await em.findOne(Partner, { id }) : null;
    if (!partner) throw new NotFoundError('Partner', id, field);
    if (!types.includes(partner.type)) throw new BadUserInputError(`${field} must name a partner of type ${types.join(' or ')}`, field);
    return partner;
  }

  /** Orders the viewer may see: its own as billing partner (a provider: also its resellers') or as reseller. */
  list(filter: OrderFilter | null | undefined, args: { first?: number | null; after?: string | null }): Promise<ConnectionResult<Order>> {
    const qb = this.em.createQueryBuilder(Order, 'o');
    if (!seesAllPartners(this.viewer)) qb.where('(o.partner_id = ? or o.reseller_id = ?)', [this.viewer.partnerId, this.viewer.partnerId]);
    for (const [field, column] of [['customerId', 'o.customer_id'], ['partnerId', 'o.partner_id']] as const) {
      const id = filter?.[field];
      if (id === null || id === undefined) continue;
      // A malformed id matches nothing, like an id of another tenant.
      if (!isUuid(id)) qb.andWhere('false');
      else qb.andWhere(`${column} = ?`, [id]);
    }
    if (filter?.outcome) qb.andWhere({ outcome: filter.outcome });
    if (filter?.kind) qb.andWhere({ kind: filter.kind });
    return paginate(
      qb,
      [
        { column: 'o.created_at', value: (o) => o.createdAt.toISOString() },
        { column: 'o.id', value: (o) => o.id },
      ],
      args,
    );
  }
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
  ];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
