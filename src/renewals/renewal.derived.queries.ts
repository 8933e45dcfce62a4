import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';
import { installAndRebuildDerived, rowsToInsertSql, type DerivedTable } from '../kernel/derived';
import { customerGateFacts, GATE_FACT_COLUMNS, hashedGateFacts, probedGateFacts } from '../transactions/gate.facts';
import { visibleToPartnerSql } from '../auth/tenancy';

/**
 * The fact set of a candidate as one string, from its facts `f`: the same expression groups
 * and filters. Without `existing`, the sets leave that fact out (see `loadRenewalWindow`).
 */
export const factKey = (f: string, existing: boolean) =>
  `concat_ws('|', ${f}.country, ${f}.cloud, coalesce(${f}.direct_type, '-'), coalesce(${f}.direct_on, '-'),
     coalesce(${f}.active_rank::text, '-'), coalesce(${f}.active_type, '-'), coalesce(${f}.active_date, '-'), ${f}.withdrawn, ${existing ? `${f}.existing` : `'unasked'`}, ${f}.resold, ${f}.linked, ${f}.serving)`;

/**
 * The renewal facts derived per ACTIVE subscription (issue 23; tables in
 * renewal.derived.entity.ts, triggers in migrations/Migration20261204110000.ts). The rule
 * is written once: `renewal_facts_refresh`, which every trigger calls, is generated here at
 * start-up from the same SQL of the gate's facts (`probedGateFacts`, `customerGateFacts`)
 * and the same fact-set key (`factKey`) that the live window grouping uses, and the
 * rebuild asks them with `hashedGateFacts` as the live grouping of every partner's window
 * does. The facts are stored facts only (no "today"): the window's fact sets are judged at
 * read time, as before. The existing-customer fact is left out, as the window leaves it
 * out at first (renewal.facts.ts `loadRenewalWindow`).
 */

/** The derived table's name in `derived_epochs`. */
export const RENEWAL_FACTS = 'renewal_facts';

/** The fact columns a fact set stores: `GATE_FACT_COLUMNS` without `existing` (never asked for a RENEWAL's set). */
export const SET_COLUMNS = GATE_FACT_COLUMNS.filter((c) => c !== 'existing');

/** Stripes of the counts: a writer adds to the stripe of its backend. */
export const STRIPES = 16;
const STRIPE = `(pg_backend_pid() % ${STRIPES})::smallint`;

/**
 * The count scopes of a row `r` (with `partner_id`, `reseller_id`): every partner's
 * ('all'), and each party's ('p:<id>': the one-partner scope keeps subscriptions the
 * partner bills or resold), once each.
 */
export const scopesOf = (r: string) =>
  `array_remove(array['all', 'p:' || ${r}.partner_id::text, case when ${r}.reseller_id is distinct from ${r}.partner_id then 'p:' || ${r}.reseller_id::text end,
                      case when ${r}.visible_to_partner then 'vp:' || ${r}.partner_id::text end,
                      case when ${r}.visible_to_reseller then 'vr:' || ${r}.reseller_id::text end], null)`;

/** The derived rows' visibility columns of a subscription `s` (src/auth/tenancy.ts's rule, per row). */
const visibility = (s: string) => `${visibleToPartnerSql(`${s}.customer_id`, `${s}.partner_id`)} as visible_to_partner,
      ${s}.reseller_id is not null and ${visibleToPartnerSql(`${s}.customer_id`, `${s}.reseller_id`)} as visible_to_reseller`;

/**
 * A scope of the derived renewal facts: the key of its counts, and the ordered index ranges of
 * `renewal_facts rf` its page reads (each a condition ending in `and`, with its values).
 */
export interface DerivedScope {
  scope: string;
  ranges: { sql: string; params: unknown[] }[];
}

export const derivedScopes = {
  /** Every partner's subscriptions. */
  all: (): DerivedScope => ({ scope: 'all', ranges: [{ sql: '', params: [] }] }),
  /** Those `partnerId` bills or resold (a subscription is never resold by its billing partner; `<>` keeps one anyway). */
  partner: (partnerId: string): DerivedScope => ({
    scope: `p:${partnerId}`,
    ranges: [
      { sql: 'rf.partner_id = ? and', params: [partnerId] },
      { sql: 'rf.reseller_id = ? and rf.partner_id <> ? and', params: [partnerId, partnerId] },
    ],
  }),
  /** Those `partnerId` bills, of customers its users see. */
  billedVisible: (partnerId: string): DerivedScope => ({ scope: `vp:${partnerId}`, ranges: [{ sql: 'rf.partner_id = ? and rf.visible_to_partner and', params: [partnerId] }] }),
  /** Those sold through `resellerId`, of customers its users see. */
  resoldVisible: (resellerId: string): DerivedScope => ({ scope: `vr:${resellerId}`, ranges: [{ sql: 'rf.reseller_id = ? and rf.visible_to_reseller and', params: [resellerId] }] }),
};

const SETS = SET_COLUMNS.join(', ');
const setsOf = (x: string) => SET_COLUMNS.map((c) => `${x}.${c}`).join(', ');

/**
 * A date of the facts (YYYY-MM-DD text) as the latest policy threshold (`minimum_date_agreed`
 * of any rule) on or before it, or 0001-01-01: the gate compares these dates only with such
 * thresholds (`reacceptanceRequired`) and with today (a direct acceptance counts from its
 * day), so this answers every such comparison alike, while the window's fact sets stay a
 * few dozen instead of one per acceptance day. A new threshold invalidates the derived
 * tables (the trigger on the rules in the migration).
 */
const sinceThreshold = (d: string) =>
  `coalesce((select to_char(max(p.minimum_date_agreed), 'YYYY-MM-DD') from acceptance_policy_rules p where p.minimum_date_agreed <= ${d}::date), '0001-01-01')`;

/**
 * The facts `f` with their dates coarsened (`sinceThreshold`); a direct acceptance dated
 * after today keeps its day (it counts from then; the gate compares it with the day of
 * reading). Every other column as it is. A query selecting these beside `factKey` of them
 * fences their subquery (`offset 0`): flattened, each output column and the key evaluated the
 * threshold subqueries and the hashed facts twice per row (the refill at 1M: 51 -> 30 s).
 */
const coarseFacts = (f: string) =>
  SET_COLUMNS.map((c) =>
    c === 'active_date'
      ? `case when ${f}.active_date is null then null else ${sinceThreshold(`${f}.active_date`)} end as active_date`
      : c === 'direct_on'
        ? `case when ${f}.direct_on is null then null when ${f}.direct_on::date > (now() at time zone 'utc')::date then ${f}.direct_on
                else ${sinceThreshold(`${f}.direct_on`)} end as direct_on`
        : `${f}.${c}`,
  ).join(', ');

/** The days of a span of the counts (fixed by Migration20261207100000, whose SQL helpers assume it). */
export const SPAN_DAYS = 64;

/**
 * Adds each row's +/- `d` to the counts of its scopes, span and fact set, on this backend's stripe:
 * the day deltas of a (scope, span, set) summed into one cumulative array (`renewal_counts_of`),
 * added to the row's; days whose deltas net to 0 are left out.
 */
const countDeltas = (rows: string) => `insert into renewal_fact_counts as k (scope, span_start, fact_key, stripe, cumulative)
  select x.sc, x.span_start, x.fact_key, ${STRIPE}, renewal_counts_of(x.pos, x.d)
    from (select sc, renewal_span_start(d.renews_on) as span_start, d.renews_on - renewal_span_start(d.renews_on) as pos, d.fact_key, sum(d.d)::int as d
            from ${rows} d cross join lateral unnest(${scopesOf('d')}) sc
           group by 1, 2, 3, 4
          having sum(d.d) <> 0) x
   group by x.sc, x.span_start, x.fact_key
   order by x.sc, x.span_start, x.fact_key
  on conflict (scope, span_start, fact_key, stripe) do update set cumulative = renewal_counts_add(k.cumulative, excluded.cumulative)`;

/**
 * How many of a scope's subscriptions renew with each fact set from `first` to `last` (dates),
 * over the counts `k` of the spans the window overlaps (`k.span_start` within the window's
 * spans): per span, those up to the window's last day in the span less those before its first.
 */
export const windowCountSql = (k: string, first: string, last: string) =>
  `${k}.cumulative[least(${SPAN_DAYS}, ${last} - ${k}.span_start + 1)] - coalesce(${k}.cumulative[${first} - ${k}.span_start], 0)`;

/** The spans of the counts `k` that a window from `first` to `last` overlaps. */
export const windowSpansSql = (k: string, first: string, last: string) => `${k}.span_start > ${first} - ${SPAN_DAYS} and ${k}.span_start <= ${last}`;

/** The columns of `renewal_facts` after its key, and what the counts need of a row. */
const ROW_VALUES_OF = ['renews_on', 'customer_id', 'partner_id', 'reseller_id', 'visible_to_partner', 'visible_to_reseller', 'fact_key'];
const ROW = ['subscription_id', ...ROW_VALUES_OF].join(', ');
const ROW_VALUES = (x: string) => ROW_VALUES_OF.map((c) => `${x}.${c}`).join(', ');
const DELTA = (x: string) => ['renews_on', 'fact_key', 'partner_id', 'reseller_id', 'visible_to_partner', 'visible_to_reseller'].map((c) => `${x}.${c}`).join(', ');

/**
 * `renewal_facts_refresh(ids)`: recomputes the derived rows of the subscriptions `ids`
 * (the triggers pass those whose facts a write may have changed) and moves the counts by
 * the difference. The subscriptions are locked first (in id order), so two writers
 * refreshing one subscription take turns, and the second reads the first's result.
 * Each fact is an index probe per subscription, as for one order.
 */
export function refreshFunctionSql(): string {
  const fresh = `select f.*, ${factKey('f', false)} as fact_key
      from (select s.id, s.renews_on, s.customer_id, s.partner_id, s.reseller_id, ${visibility('s')}, ${coarseFacts('l')}
              from subscriptions s
              cross join lateral (select ${customerGateFacts('c')},
                                         ${probedGateFacts({ customer: 's.customer_id', partner: 's.partner_id', reseller: 's.reseller_id' }, null)}
                                    from customers c where c.id = s.customer_id offset 0) l
             where s.id = any(p_ids) and s.status = 'ACTIVE' offset 0) f`;
  // A generic plan: planning the statement anew per write (custom plans) cost several times its run.
  return `create or replace function renewal_facts_refresh(p_ids uuid[]) returns void language plpgsql set plan_cache_mode = force_generic_plan as $fn$
begin
  if p_ids is null or cardinality(p_ids) = 0 then return; end if;
  perform 1 from subscriptions s where s.id = any(p_ids) order by s.id for no key update;
  with old as (select f.* from renewal_facts f where f.subscription_id = any(p_ids)),
       fresh as (${fresh}),
       gone as (delete from renewal_facts f where f.subscription_id = any(p_ids) and f.subscription_id not in (select x.id from fresh x)),
       kept as (insert into renewal_facts as r (${ROW})
                select x.id, ${ROW_VALUES('x')} from fresh x
                on conflict (subscription_id) do update
                  set ${ROW_VALUES_OF.map((c) => `${c} = excluded.${c}`).join(', ')}
                where (${ROW_VALUES('r')}) is distinct from (${ROW_VALUES('excluded')})),
       sets as (insert into renewal_fact_sets (fact_key, ${SETS})
                select distinct on (x.fact_key) x.fact_key, ${setsOf('x')} from fresh x order by x.fact_key
                on conflict (fact_key) do nothing),
       deltas as (select ${DELTA('o')}, -1 as d from old o
                  union all
                  select ${DELTA('x')}, 1 from fresh x)
  ${countDeltas('deltas')};
end $fn$`;
}

/** Every ACTIVE subscription's row of the facts and its fact key, asked of whole tables (hashed): the refill's rows. */
export const refillRowsSql = () => `select f.*, ${factKey('f', false)} as fact_key
       from (select l.id, l.renews_on, l.customer_id, l.partner_id, l.reseller_id, ${visibility('l')}, ${coarseFacts('l')}
               from (select s.id, s.renews_on, s.customer_id, s.partner_id, s.reseller_id, ${hashedGateFacts('subscriptions', 's', null)}
                      where s.status = 'ACTIVE') l offset 0) f`;

/**
 * Refills the derived tables from the base tables, in the kernel's rebuild transaction:
 * the facts of every ACTIVE subscription asked of whole tables (hashed), as the live
 * grouping of every partner's window asks them; counts on stripe 0. Fact sets are kept (a
 * set's columns never change; unused ones cost nothing).
 */
export async function refillRenewalFacts(tx: EntityManager): Promise<void> {
  // Writers' triggers wait for the rebuild (and then refresh against it); readers do not: they read the
  // rows as they were, under the epoch as it was (invalid while a rebuild is due: the live SQL).
  await queryRows(tx, 'lock table renewal_facts, renewal_fact_counts, renewal_fact_sets in exclusive mode');
  // The counts' grouping and the sorts below in memory (a few hundred MB at 1M customers).
  await queryRows(tx, `set local work_mem = '${REFILL_WORK_MEM}'`);
  await queryRows(
    tx,
    `create temp table renewal_facts_refill on commit drop as ${refillRowsSql()}`,
  );
  await queryRows(tx, 'analyze renewal_facts_refill');
  // Only the difference is written (rows, then counts; after the deletes and updates, the new
  // rows are those the table lacks: an EXCEPT, hashed, where an anti-join was planned as a merge
  // of both sides sorted by text keys or as an index probe per row): after an invalidation most facts are
  // unchanged, so the indexes and the WAL see only what changed (and the tables do not double
  // in dead rows); into empty tables (the seeder) every row is new.
  await queryRows(tx, 'delete from renewal_facts f where not exists (select 1 from renewal_facts_refill x where x.id = f.subscription_id)');
  await queryRows(
    tx,
    `update renewal_facts r set ${ROW_VALUES_OF.map((c) => `${c} = x.${c}`).join(', ')}
       from renewal_facts_refill x where x.id = r.subscription_id and (${ROW_VALUES('r')}) is distinct from (${ROW_VALUES('x')})`,
  );
  // In renewal order: a window's rows lie on few pages.
  const freshFacts = await rowsToInsertSql(tx, `select x.id, ${ROW_VALUES('x')} from renewal_facts_refill x`, 'renewal_facts', ROW);
  await queryRows(tx, `insert into renewal_facts (${ROW}) select x.* from (${freshFacts}) x order by x.renews_on, x.id`);
  await queryRows(
    tx,
    `insert into renewal_fact_sets (fact_key, ${SETS}) select distinct on (x.fact_key) x.fact_key, ${setsOf('x')} from renewal_facts_refill x order by x.fact_key
     on conflict (fact_key) do nothing`,
  );
  // The counts on stripe 0; the other stripes (writers' deltas) are folded into it.
  await queryRows(
    tx,
    `create temp table renewal_fact_counts_refill on commit drop as
     select d.scope, d.span_start, d.fact_key, renewal_counts_of(d.pos, d.n) as cumulative
       from (select sc as scope, renewal_span_start(x.renews_on) as span_start, x.renews_on - renewal_span_start(x.renews_on) as pos, x.fact_key, count(*)::int as n
               from renewal_facts_refill x cross join lateral unnest(${scopesOf('x')}) sc
              group by 1, 2, 3, 4) d
      group by d.scope, d.span_start, d.fact_key`,
  );
  await queryRows(tx, 'analyze renewal_fact_counts_refill');
  await queryRows(
    tx,
    `delete from renewal_fact_counts k
      where k.stripe <> 0 or not exists (select 1 from renewal_fact_counts_refill x where (x.scope, x.span_start, x.fact_key) = (k.scope, k.span_start, k.fact_key))`,
  );
  await queryRows(
    tx,
    `update renewal_fact_counts k set cumulative = x.cumulative from renewal_fact_counts_refill x
      where (x.scope, x.span_start, x.fact_key) = (k.scope, k.span_start, k.fact_key) and k.stripe = 0 and k.cumulative <> x.cumulative`,
  );
  const countColumns = 'scope, span_start, fact_key, cumulative';
  const freshCounts = await rowsToInsertSql(tx, `select ${countColumns} from renewal_fact_counts_refill`, 'renewal_fact_counts', countColumns);
  await queryRows(
    tx,
    `insert into renewal_fact_counts (scope, span_start, fact_key, stripe, cumulative)
     select x.scope, x.span_start, x.fact_key, 0, x.cumulative
       from (${freshCounts}) x
      -- In key order: a window's rows of one scope lie on few pages.
      order by x.scope, x.span_start, x.fact_key`,
  );
  await queryRows(tx, 'drop table renewal_facts_refill, renewal_fact_counts_refill');
  await queryRows(tx, 'analyze renewal_facts');
  await queryRows(tx, 'analyze renewal_fact_counts');
}

/** The refill's work_mem (set locally in its transaction). */
const REFILL_WORK_MEM = '256MB';

/** The derived table as the kernel (src/kernel/derived.ts) installs, rebuilds and checks it. */
export const renewalFactsTable: DerivedTable = {
  name: RENEWAL_FACTS,
  functions: () => [refreshFunctionSql()],
  rebuild: refillRenewalFacts,
  // Stored facts only: no date makes them wrong without a write.
  validUntilSql: 'null',
};

/**
 * Installs the generated refresh function and rebuilds the derived tables now (whatever
 * their epoch): for seeders and tools that fill a database without a running gateway.
 */
export async function rebuildRenewalFacts(em: EntityManager, opts?: { force?: boolean }): Promise<void> {
  await installAndRebuildDerived(em, [renewalFactsTable], opts);
}
