import { queryRows } from '../db/query';
import type { DerivedTable } from '../kernel/derived';

/**
 * Blocked orders counted per scope and per (scope, reason) (issue 23), kept by a trigger
 * on blocked_order_alerts (migration 20261204100000) so that complianceSummary does not
 * count alerts per request. The scopes are the parties alertScopeCondition admits: every
 * alert counts in 'all', in 'p:<billing partner>' and in 'p:<reseller>'; a reason listed
 * twice on one alert counts twice, as `unnest(reasons)` does. Stripes as the compliance
 * counts (`pg_backend_pid() % 16`).
 */

/** The scopes of an alert whose parties are the SQL expressions `partner` and `reseller`. */
const scopesSql = (partner: string, reseller: string) =>
  `select 'all' as scope union select 'p:' || ${partner} union select 'p:' || ${reseller} where ${reseller} is not null`;

export const blockedOrderCounts: DerivedTable = {
  name: 'blocked_order_counts',
  functions: () => [
    // Rows in key order, so concurrent writers lock counter rows in one order.
    `create or replace function blocked_counts_add(p_partner uuid, p_reseller uuid, p_reasons text[], p_delta int) returns void language sql as $$
    insert into blocked_order_counts (scope, stripe, n)
    select s.scope, pg_backend_pid() % 16, p_delta from (${scopesSql('p_partner', 'p_reseller')}) s order by 1
    on conflict (scope, stripe) do update set n = blocked_order_counts.n + excluded.n;
    insert into blocked_reason_counts (scope, reason, stripe, n)
    select s.scope, r.reason, pg_backend_pid() % 16, count(*) * p_delta
      from (${scopesSql('p_partner', 'p_reseller')}) s cross join unnest(p_reasons) r(reason) group by 1, 2 order by 1, 2
    on conflict (scope, reason, stripe) do update set n = blocked_reason_counts.n + excluded.n;
  $$`,
  ],
  async rebuild(tx) {
    await queryRows(tx, 'lock table blocked_order_counts, blocked_reason_counts in exclusive mode');
    await queryRows(tx, 'delete from blocked_order_counts');
    await queryRows(tx, 'delete from blocked_reason_counts');
    await queryRows(
      tx,
      `insert into blocked_order_counts (scope, stripe, n)
       select s.scope, 0, count(*) from blocked_order_alerts a cross join lateral (${scopesSql('a.partner_id', 'a.reseller_id')}) s group by s.scope`,
    );
    await queryRows(
      tx,
      `insert into blocked_reason_counts (scope, reason, stripe, n)
       select s.scope, r.reason, 0, count(*) from blocked_order_alerts a cross join lateral (${scopesSql('a.partner_id', 'a.reseller_id')}) s
        cross join unnest(a.reasons) r(reason) group by s.scope, r.reason`,
    );
  },
  // Counting alerts does not depend on the day.
  validUntilSql: 'null',
};
