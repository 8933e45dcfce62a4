import type { Viewer } from '../auth/viewer';
import { isUuid } from '../auth/tenancy';
import { PartnerType } from '../auth/roles';
import { Channel } from './acceptance.enums';
import { currentTemplatesSql } from '../agreements/agreement.queries';
import type { ComplianceStatus } from './acceptance.enums';

/**
 * A customer's compliance status, DESIGN.md section 2, written once in SQL so that
 * the `complianceStatus` field (through a DataLoader) and the `customers` filter
 * cannot disagree:
 * - national clouds: NOT_APPLICABLE;
 * - per billing partner: CONFIRMED (active, current template), OUTDATED (active,
 *   template ranked below the current one of its type), REACCEPTANCE_REQUIRED (active,
 *   but a rule in force today no longer accepts it: wrong type or dated before its
 *   minimum), WITHDRAWN (no active one, the last was withdrawn), MISSING (never
 *   confirmed). The customer's direct acceptance counts as an active confirmation by
 *   every partner (DESIGN.md section 10);
 * - over several partners: the least compliant, MISSING < WITHDRAWN < REACCEPTANCE_REQUIRED < OUTDATED < CONFIRMED.
 */

/** Which billing partners a status is judged against. */
export type ComplianceScope =
  | { kind: 'partner'; partnerId: string }
  /** Every billing partner of the customer (callers without a partner, no argument). */
  | { kind: 'all' }
  /** The billing partners whose relationship names this reseller (a reseller, no argument). */
  | { kind: 'resellerOf'; resellerId: string };

/**
 * The `partnerId` argument, else the caller's partner; for callers without a
 * partner, all billing partners. A reseller never confirms itself, so for a
 * reseller caller its status is that of the provider(s) it serves the customer through.
 */
export function complianceScope(viewer: Viewer, partnerId: string | null | undefined): ComplianceScope {
  if (partnerId) return { kind: 'partner', partnerId };
  if (!viewer.partnerId) return { kind: 'all' };
  if (viewer.partnerType === PartnerType.INDIRECT_RESELLER) return { kind: 'resellerOf', resellerId: viewer.partnerId };
  return { kind: 'partner', partnerId: viewer.partnerId };
}

export const scopeKey = (s: ComplianceScope): string =>
  s.kind === 'partner' ? `p:${s.partnerId}` : s.kind === 'resellerOf' ? `r:${s.resellerId}` : 'all';

/** SQL listing the scope's partner ids (column `partner_id`) for the customer aliased `cc`. */
export function scopePartnersSql(scope: ComplianceScope): { sql: string; params: unknown[] } {
  if (scope.kind === 'partner') {
    // A malformed id names no partner: the status is MISSING, as for any partner that never confirmed.
    return { sql: 'select ?::uuid as partner_id', params: [isUuid(scope.partnerId) ? scope.partnerId : null] };
  }
  if (scope.kind === 'all') {
    return { sql: 'select r.partner_id from customer_relationships r where r.customer_id = cc.id', params: [] };
  }
  return {
    sql: `select r.partner_id from customer_relationships r
            join customer_relationship_resellers rr on rr.relationship_id = r.id
           where r.customer_id = cc.id and rr.reseller_id = ?`,
    params: [isUuid(scope.resellerId) ? scope.resellerId : null],
  };
}

/** Today as the rule judges it: the UTC date. */
export const TODAY = `(now() at time zone 'utc')::date`;

/** The rank of the current version of `type` (an SQL expression) for the customer `cc` today (the rule: `current_agreement_templates`). */
// Every translation of the current version has its rank: the first one found answers.
const currentRankSql = (type: string) => `(select x.version_rank from ${currentTemplatesSql(type, 'cc.country', TODAY)} x limit 1)`;

/**
 * Whether a rule in force today, on any channel, refuses an acceptance of `type` dated
 * `dated` (SQL expressions): a type it does not accept, or a date before its minimum.
 * The rules in force are an uncorrelated subquery, so PostgreSQL asks them once per
 * statement (an init plan), not once per customer and partner (a rebuild judges millions).
 */
const refusedTodaySql = (type: string, dated: string) => `exists (
                select 1 from unnest((select array_agg(p) from unnest(array['${Channel.DASHBOARD}', '${Channel.API}']) ch(channel)
                                      cross join lateral acceptance_policy_in_force(ch.channel, ${TODAY}) p)) r
                where not (${type} = any(r.accepted_types)) or ${dated} < r.minimum_date_agreed)`;

/** The customer `cc` has a direct acceptance by today. */
const DIRECT = `(cc.direct_acceptance_type is not null and cc.direct_accepted_on <= ${TODAY})`;

/** The statuses from least to most compliant: a code (below) is a position in it, from 0. */
const STATUS_ORDER = `array['MISSING','WITHDRAWN','REACCEPTANCE_REQUIRED','OUTDATED','CONFIRMED']`;

/**
 * The least compliant code (0 MISSING .. 4 CONFIRMED) of the customer `cc` over the billing
 * partners `partners` lists (SQL with a column `partner_id`; it may use `cc`): null when it
 * lists none. The rule per partner; the compliance directory judges each partner with it once.
 */
export const leastCodeSql = (partners: string) => `(
          select min(case
              when ${DIRECT} and not ${refusedTodaySql('cc.direct_acceptance_type', 'cc.direct_accepted_on')} then 4
              when a.id is null then
                case when ${DIRECT} then 2
                     when exists (select 1 from acceptances w
                                   where w.customer_id = cc.id and w.partner_id = ps.partner_id and w.status = 'WITHDRAWN')
                     then 1 else 0 end
              when ${refusedTodaySql('t.type', 'a.date_agreed')} then 2
              when t.version_rank < coalesce(${currentRankSql('t.type')}, t.version_rank) then 3
              else 4 end)
            from (${partners}) ps
            left join acceptances a on a.customer_id = cc.id and a.partner_id = ps.partner_id and a.status = 'ACTIVE'
            left join agreement_templates t on t.template_id = a.template_id)`;

/** The status of the customer `cc` whose least code is `code` (SQL): NOT_APPLICABLE outside the public cloud, MISSING with no partner. */
export const statusOfCodeSql = (code: string) => `case when cc.cloud <> 'PUBLIC' then 'NOT_APPLICABLE' else (${STATUS_ORDER})[1 + coalesce(${code}, 0)] end`;

/** A SQL expression: the status (text) of the customer whose id is `customerIdColumn`. */
export function complianceStatusSql(scope: ComplianceScope, customerIdColumn: string): { sql: string; params: unknown[] } {
  const partners = scopePartnersSql(scope);
  return {
    sql: `(select ${statusOfCodeSql(leastCodeSql(partners.sql))} from customers cc where cc.id = ${customerIdColumn})`,
    params: partners.params,
  };
}

/**
 * A SQL condition on a customer id column keeping customers whose compliance status
 * is `status`: relative to `partnerId` when given, else (for callers without a
 * partner) the least compliant status across the customer's billing partners, as
 * DESIGN.md section 2 states. The same rules as the `complianceStatus` field.
 *
 * Owned by the acceptance feature (issue 3); the customers list calls it for its filter.
 */
export function complianceStatusCondition(
  viewer: Viewer,
  status: ComplianceStatus,
  partnerId: string | null,
  customerIdColumn: string,
): { sql: string; params: unknown[] } {
  const expr = complianceStatusSql(complianceScope(viewer, partnerId), customerIdColumn);
  return { sql: `${expr.sql} = ?`, params: [...expr.params, status] };
}
