import { appendAuditChain } from '../audit/audit.chain';
import type { EntityManager } from '@mikro-orm/postgresql';
import { todayUtc } from '../agreements/current';
import { PartnerType } from '../auth/roles';
import { isUuid, visibleCustomerCondition } from '../auth/tenancy';
import { seesAllPartners, type Viewer } from '../auth/viewer';
import { queryRows } from '../db/query';
import { BadUserInputError, ForbiddenError, NotFoundError } from '../errors';
import { SubscriptionStatus } from './transaction.enums';
import { subscriptionOf, type SubscriptionJson, type SubscriptionRecord } from './transaction.queries';
import { windowOpen } from './windows';
import { SUBSCRIPTION_EVENT } from './subscription.events';
import { newId } from '../kernel/ids';

/**
 * Auto-renew, expiry and the end of subscriptions on a withdrawal (DESIGN.md sections 4
 * and 12). Every change outside an order is a row of `subscription_events`, which the
 * audit trail lists (`SUBSCRIPTION_EVENTS`).
 */

/** One event row per subscription, in one statement. */
async function recordEvents(em: EntityManager, subs: SubscriptionJson[], event: string, at: Date, actorId: string | null, note: string | null): Promise<void> {
  if (subs.length === 0) return;
  await queryRows(
    em,
    `insert into subscription_events (id, subscription_id, customer_id, partner_id, event, at, actor_id, note)
     select x.id, x.subscription_id, x.customer_id, x.partner_id, ?, ?, ?, ?
       from jsonb_to_recordset(?::jsonb) as x(id uuid, subscription_id uuid, customer_id uuid, partner_id uuid)`,
    [event, at, actorId, note, JSON.stringify(subs.map((s) => ({ id: newId(), subscription_id: s.id, customer_id: s.customer_id, partner_id: s.partner_id })))],
  );  // Audit events: hash-chained in the same transaction (src/audit/audit.chain.ts).
  await appendAuditChain(em, subs.map((s) => ({ customerId: s.customer_id, partnerId: s.partner_id })));
}

/**
 * What a withdrawal does to the partner's subscriptions of the customer (DESIGN.md section
 * 4), inside the withdrawal's transaction: those still inside their cancellation window
 * (at `now`) are cancelled, the other active ones get auto-renew off (ENDING). Each change
 * is an event of the audit trail.
 */
export async function endSubscriptionsOnWithdrawal(
  em: EntityManager,
  customerId: string,
  partnerId: string,
  actorId: string,
  now: Date,
): Promise<{ cancelled: SubscriptionRecord[]; ending: SubscriptionRecord[] }> {
  const rows = await queryRows<{ s: SubscriptionJson }>(
    em,
    `select row_to_json(s) as s from subscriptions s
      where s.customer_id = ? and s.partner_id = ? and s.status in ('ACTIVE', 'ENDING')
      order by s.created_at, s.id for update`,
    [customerId, partnerId],
  );
  const all = rows.map((r) => r.s);
  const toCancel = all.filter((s) => windowOpen(s.term_started_at, now));
  const toEnd = all.filter((s) => !toCancel.includes(s) && s.status === SubscriptionStatus.ACTIVE);
  if (toCancel.length) {
    await queryRows(em, `update subscriptions set status = 'CANCELLED', cancelled_at = ? where id = any(?::uuid[])`, [now, toCancel.map((s) => s.id)]);
  }
  if (toEnd.length) {
    await queryRows(em, `update subscriptions set status = 'ENDING', auto_renew = false where id = any(?::uuid[])`, [toEnd.map((s) => s.id)]);
  }
  await recordEvents(em, toCancel, SUBSCRIPTION_EVENT.CANCELLED, now, actorId, 'withdrawal:');
  await recordEvents(em, toEnd, SUBSCRIPTION_EVENT.AUTO_RENEW_OFF, now, actorId, 'withdrawal:');
  return {
    cancelled: toCancel.map((s) => subscriptionOf({ ...s, status: SubscriptionStatus.CANCELLED, cancelled_at: now.toISOString() })),
    ending: toEnd.map((s) => subscriptionOf({ ...s, status: SubscriptionStatus.ENDING, auto_renew: false })),
  };
}

/**
 * Expiry: ENDING subscriptions whose `renewsOn` has come (on `now`'s UTC day or before)
 * become EXPIRED. One statement, the same answer however often and wherever it runs, so
 * a doubled scheduled job changes nothing twice. Answers how many expired.
 */
export async function expireEndingSubscriptions(em: EntityManager, now: Date = new Date()): Promise<number> {
  const rows = await queryRows<{ id: string }>(
    em,
    `update subscriptions set status = 'EXPIRED' where status = 'ENDING' and renews_on <= ?::date returning id`,
    [todayUtc(now)],
  );
  return rows.length;
}

/** Auto-renew (DESIGN.md section 12): only the billing partner (ADMIN or AGENT) or a platform admin changes it. */
export class SubscriptionService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
  ) {}

  /**
   * Turns auto-renew off (the subscription is ENDING: it ends at renewsOn) or on again
   * (ACTIVE). Setting it as it is changes nothing and records nothing. Another tenant's
   * subscription is NOT_FOUND; the reseller it was sold through is FORBIDDEN (only the
   * billing partner changes it); a cancelled or expired one is BAD_USER_INPUT.
   */
  async setAutoRenew(subscriptionId: string, autoRenew: boolean): Promise<SubscriptionRecord> {
    const missing = () => new NotFoundError('Subscription', subscriptionId, 'subscriptionId');
    if (!isUuid(subscriptionId)) throw missing();
    return this.em.transactional(async (t) => {
      const tx = t as EntityManager;
      const v = this.viewer;
      const visible = visibleCustomerCondition(v, 's.customer_id');
      const [row] = await queryRows<{ s: SubscriptionJson }>(
        tx,
        `select row_to_json(s) as s from subscriptions s where s.id = ? and ${visible.sql} for update`,
        [subscriptionId, ...visible.params],
      );
      const s = row?.s;
      if (!s) throw missing();
      if (!seesAllPartners(v) && s.partner_id !== v.partnerId) {
        if (v.partnerType === PartnerType.INDIRECT_RESELLER && s.reseller_id === v.partnerId) {
          throw new ForbiddenError('Only the billing partner changes auto-renew');
        }
        throw missing();
      }
      if (s.status === SubscriptionStatus.CANCELLED || s.status === SubscriptionStatus.EXPIRED) {
        throw new BadUserInputError(`The subscription is ${s.status}: auto-renew cannot be changed`, 'subscriptionId');
      }
      if (s.auto_renew === autoRenew) return subscriptionOf(s);
      // Off on a term that has already ended (replayed history): it has ended, as the expiry job would find.
      const ended = !autoRenew && s.renews_on.slice(0, 10) <= todayUtc(new Date());
      const status = autoRenew ? SubscriptionStatus.ACTIVE : ended ? SubscriptionStatus.EXPIRED : SubscriptionStatus.ENDING;
      await queryRows(tx, 'update subscriptions set auto_renew = ?, status = ? where id = ?', [autoRenew, status, s.id]);
      await recordEvents(tx, [s], autoRenew ? SUBSCRIPTION_EVENT.AUTO_RENEW_ON : SUBSCRIPTION_EVENT.AUTO_RENEW_OFF, new Date(), v.userId, null);
      return subscriptionOf({ ...s, auto_renew: autoRenew, status });
    });
  }
}
