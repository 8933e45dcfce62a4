import type { EntityManager } from '@mikro-orm/postgresql';
import { isLinked, isUuid, partnerExists, visibleCustomerCondition } from '../auth/tenancy';
import { seesAllPartners, type Viewer } from '../auth/viewer';
import { decodeCursor, encodeCursor, pageSize, type ConnectionResult } from '../common/connection';
import { BadUserInputError, NotFoundError } from '../errors';
import { PartnerType } from '../auth/roles';
import { decide, type GateDecision } from '../transactions/gate';
import type { LoadedFacts } from '../transactions/gate.facts';
import { OrderOutcome } from '../transactions/transaction.enums';
import { addDays, loadRenewalCandidates, loadRenewalWindow, type CandidateCursor, type CandidateRecords, type RenewalCandidate, type SqlCondition } from './renewal.facts';
import type { RenewalRisk } from './renewal.types';
import { derivedScopes } from './renewal.derived.queries';
import { queryRows } from '../db/query';
import { todayUtc } from '../agreements/current';
import { subscriptionOf, type SubscriptionJson, type SubscriptionRecord } from '../transactions/transaction.queries';

export const DEFAULT_WINDOW_DAYS = 60;
/** The longest term, three years (DESIGN.md section 12): 1,096 days. */
export const MAX_WINDOW_DAYS = 1_096;

/** Serializes renewal-alert inserts so that cursor order is commit order (as src/alerts/alert.record.ts does for blocked orders). */
const RENEWAL_ALERT_SEQUENCE_LOCK = 7_302_118_403;
/** The doorbell of renewal-risk alerts; the table is the mailbox. */
export const RENEWAL_ALERT_CHANNEL = 'renewal_risk_alerts';

export function checkWindow(withinDays: number | null | undefined): number {
  const days = withinDays ?? DEFAULT_WINDOW_DAYS;
  if (!Number.isInteger(days) || days < 0 || days > MAX_WINDOW_DAYS) {
    throw new BadUserInputError(`withinDays must be between 0 and ${MAX_WINDOW_DAYS}`, 'withinDays');
  }
  return days;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const isDay = (s: string) => DAY.test(s) && new Date(Date.parse(`${s}T00:00:00Z`) || 0).toISOString().slice(0, 10) === s;

/** A cursor of this list is (renewsOn, subscription id); anything else is BAD_USER_INPUT on `after`. */
function checkCursor([renewsOn, subscriptionId]: unknown[]): CandidateCursor {
  if (typeof renewsOn !== 'string' || !isDay(renewsOn) || !isUuid(subscriptionId)) {
    throw new BadUserInputError('after is not a cursor from this list', 'after');
  }
  return { renewsOn, subscriptionId };
}

/** A candidate and the gate's decision on its renewal. */
interface Judged {
  candidate: RenewalCandidate;
  decision: GateDecision;
}

/** The same pure gate as orders: a risk is a candidate whose RENEWAL it would block. */
function atRisk(candidates: RenewalCandidate[]): Judged[] {
  return candidates
    .map((candidate) => ({ candidate, decision: decide(candidate.facts) }))
    .filter(({ decision }) => decision.outcome === OrderOutcome.BLOCKED);
}

function toRisk({ candidate: c, decision: d }: Judged): RenewalRisk {
  return {
    renewsOn: c.renewsOn,
    blockReasons: d.blockReasons,
    warnings: d.warnings,
    requiredAgreement: c.facts.currentAgreement && d.requiredAgreement ? c.facts.currentAgreement : null,
    subscriptionId: c.subscriptionId,
    customerId: c.customerId,
    partnerId: c.partnerId,
    resellerId: c.resellerId,
  };
}

/** Renewal risks (DESIGN.md section 9): listed for a partner, and raised as alerts by the scan. */
export class RenewalRiskService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
  ) {}

  /**
   * Which subscriptions the viewer may see risks of, as a condition on `subscriptions s`.
   * Platform roles: all, or those `partnerId` is a party to. A billing partner: its own
   * (a provider's include its resellers'). A reseller: those sold through it, narrowed to
   * one linked provider when it names one. Partner users also only of customers they see.
   * Any other partner id is answered as a missing one.
   */
  async scope(partnerId: string | null | undefined): Promise<SqlCondition> {
    const v = this.viewer;
    const missing = () => new NotFoundError('Partner', partnerId ?? undefined, 'partnerId');
    if (partnerId && !isUuid(partnerId)) throw missing();
    if (seesAllPartners(v)) {
      if (!partnerId) return { sql: 'true', params: [], wide: true, derived: derivedScopes.all() };
      if (!(await partnerExists(this.em, partnerId))) throw missing();
      return { sql: '(s.partner_id = ? or s.reseller_id = ?)', params: [partnerId, partnerId], derived: derivedScopes.partner(partnerId) };
    }
    const visible = visibleCustomerCondition(v, 's.customer_id');
    const own = !partnerId || partnerId === v.partnerId;
    if (v.partnerType === PartnerType.INDIRECT_RESELLER) {
      if (own) return { sql: `s.reseller_id = ? and ${visible.sql}`, params: [v.partnerId, ...visible.params], derived: derivedScopes.resoldVisible(v.partnerId!) };
      if (!(await isLinked(this.em, v.partnerId!, partnerId!))) throw missing();
      return { sql: `s.partner_id = ? and s.reseller_id = ? and ${visible.sql}`, params: [partnerId, v.partnerId, ...visible.params] };
    }
    if (!own) throw missing();
    return { sql: `s.partner_id = ? and ${visible.sql}`, params: [v.partnerId, ...visible.params], derived: derivedScopes.billedVisible(v.partnerId!) };
  }

  /**
   * One page of risks, soonest renewal first. Whether a subscription is at risk is the
   * gate's answer. The window's candidates share few distinct fact sets: the gate
   * judges each set once, which gives the total count (the sizes of the blocked sets),
   * and the page is the first candidates after the cursor whose set it blocked, read
   * in renewal order only as far as the page needs. Three statements however large
   * the window or the page (the fact sets, their countries' agreements, the page),
   * and none for the page when nothing is at risk; two more when the gate's answer for
   * a set depends on whether the customer is an existing one (never for a RENEWAL
   * today), which the sets leave out at first. The page's statement reads the
   * subscriptions, customers and partners it names too: they come back as `known`.
   * The sets of every partner's, one partner's and a partner user's own window are summed
   * from maintained counts (renewal.derived.queries.ts): the same statements, each bounded
   * by the window's sets and the spans of 64 days it overlaps (two subscripts of a span's
   * cumulative counts per set), not by the subscriptions or the days. totalCount is exact.
   */
  async list(args: {
    partnerId?: string | null;
    withinDays?: number | null;
    first?: number | null;
    after?: string | null;
  }): Promise<ConnectionResult<RenewalRisk> & { known: CandidateRecords[] }> {
    const limit = pageSize(args.first);
    const days = checkWindow(args.withinDays);
    const after = args.after ? checkCursor(decodeCursor(args.after, 2)) : null;
    const scope = await this.scope(args.partnerId);
    let window = await loadRenewalWindow(this.em, scope, days, { asksExisting: false });
    const blocks = (facts: LoadedFacts) => decide(facts).outcome === OrderOutcome.BLOCKED;
    // The sets leave out whether the customer is an existing one (a pass over every completed order).
    // If the gate's answer for some set depends on it, the sets are asked again with it.
    if (window.groups.some((g) => blocks({ ...g.facts, existingCustomer: true }) !== blocks({ ...g.facts, existingCustomer: false }))) {
      window = await loadRenewalWindow(this.em, scope, days, { asksExisting: true });
    }
    const blocked = window.groups.filter((g) => blocks(g.facts));
    const totalCount = blocked.reduce((sum, g) => sum + g.n, 0);
    const read = totalCount ? await window.candidatesOf(blocked.map((g) => g.key), after, limit + 1) : [];
    // Each candidate is judged again on its own facts (the same as its set's): reasons, warnings, agreement.
    const risks = atRisk(read).map(toRisk);
    const edges = risks.slice(0, limit).map((node) => ({ node, cursor: encodeCursor([node.renewsOn, node.subscriptionId]) }));
    return {
      known: read.flatMap((c) => (c.records ? [c.records] : [])),
      edges,
      totalCount,
      pageInfo: {
        hasNextPage: risks.length > limit,
        hasPreviousPage: after !== null,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
    };
  }
}

/**
 * Subscriptions with auto-renew off ending within the window (DESIGN.md section 12):
 * not renewal risks (they will not renew), but listed beside them, soonest end first,
 * under the same scope as `renewalRisks`. One statement.
 */
export async function endingSubscriptions(
  service: RenewalRiskService,
  em: EntityManager,
  args: { partnerId?: string | null; withinDays?: number | null; first?: number | null },
  now: Date = new Date(),
): Promise<SubscriptionRecord[]> {
  const limit = pageSize(args.first);
  const days = checkWindow(args.withinDays);
  const scope = await service.scope(args.partnerId);
  const today = todayUtc(now);
  const rows = await queryRows<{ s: SubscriptionJson }>(
    em,
    `select row_to_json(s) as s from subscriptions s
      where s.status = 'ENDING' and s.renews_on >= ?::date and s.renews_on <= ?::date and ${scope.sql}
      order by s.renews_on, s.id limit ?`,
    [today, addDays(today, days), ...scope.params, limit],
  );
  return rows.map((r) => subscriptionOf(r.s));
}

/**
 * The scan: every subscription of every partner renewing within `withinDays` whose
 * renewal the gate would block gets one alert per term. Insert-or-nothing on the
 * unique (subscription, renewsOn) makes it safe to run anywhere, any number of times,
 * at once on several instances. Inside the transaction the advisory lock orders
 * commits by cursor (see src/alerts/alert.record.ts), and NOTIFY rings the alert hubs
 * of every instance at commit. Answers how many alerts it raised.
 */
export async function scanRenewalRisks(em: EntityManager, withinDays: number, now: Date = new Date()): Promise<number> {
  const risks = atRisk(await loadRenewalCandidates(em, { sql: 'true', params: [], wide: true }, withinDays, now)).map(toRisk);
  if (risks.length === 0) return 0;
  const rows = risks.map((r) => ({
    subscription_id: r.subscriptionId,
    customer_id: r.customerId,
    partner_id: r.partnerId,
    reseller_id: r.resellerId,
    renews_on: r.renewsOn,
    block_reasons: r.blockReasons,
    warnings: r.warnings,
    required_template_id: r.requiredAgreement?.templateId ?? null,
  }));
  return em.transactional(async (t) => {
    const tx = t as EntityManager;
    await queryRows(tx, 'select pg_advisory_xact_lock(?)', [RENEWAL_ALERT_SEQUENCE_LOCK]);
    const inserted = await queryRows<{ id: string }>(
      tx,
      `insert into renewal_risk_alerts (subscription_id, customer_id, partner_id, reseller_id, renews_on, block_reasons, warnings, required_template_id, created_at)
       select x.subscription_id, x.customer_id, x.partner_id, x.reseller_id, x.renews_on, x.block_reasons, x.warnings, x.required_template_id, now()
         from jsonb_to_recordset(?::jsonb) as x(subscription_id uuid, customer_id uuid, partner_id uuid, reseller_id uuid, renews_on date,
                                                block_reasons text[], warnings text[], required_template_id text)
        order by x.renews_on, x.subscription_id
       on conflict (subscription_id, renews_on) do nothing
       returning id`,
      [JSON.stringify(rows)],
    );
    if (inserted.length) await queryRows(tx, 'select pg_notify(?, ?)', [RENEWAL_ALERT_CHANNEL, String(inserted[inserted.length - 1].id)]);
    return inserted.length;
  });
}
