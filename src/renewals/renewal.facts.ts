import type { EntityManager } from '@mikro-orm/postgresql';
import type { AgreementTemplate } from '../agreements/agreement.entity';
import { todayUtc } from '../agreements/current';
import { Channel } from '../acceptance/acceptance.enums';
import type { Customer } from '../customers/customer.entity';
import type { CloudInstance } from '../customers/customer.enums';
import { queryRows } from '../db/query';
import type { Partner } from '../partners/partner.entity';
import type { PartnerType } from '../auth/roles';
import { plainPartner } from '../partners/partner.queries';
import { plainCustomer } from '../customers/customer.queries';
import { subscriptionOf, type SubscriptionRecord } from '../transactions/transaction.queries';
import { currentAgreementsOf, customerGateFacts, gateFactsOf, hashedGateFacts, probedGateFacts, GATE_FACT_COLUMNS, type GateFactColumns, type LoadedFacts } from '../transactions/gate.facts';
import { policyRules } from '../policy/policy.queries';
import { derivedValidSql } from '../kernel/derived';
import { factKey, renewalFactsTable, SET_COLUMNS, windowCountSql, windowSpansSql, type DerivedScope } from './renewal.derived.queries';
import type { PolicyRule } from '../policy/policy.rules';
import { TransactionKind, type BillingCycle, type SubscriptionStatus, type TermDuration } from '../transactions/transaction.enums';
import type { SeatLot } from '../transactions/windows';

/**
 * The gate's facts for the RENEWAL of many subscriptions at once, asked with the SQL of
 * src/transactions/gate.facts.ts that an attempt asks for one order (as index probes per
 * candidate, or for every partner's window as joins of whole tables read once and
 * hashed) and mapped to `GateFacts` by the same `gateFactsOf`, so the pure `decide` of
 * src/transactions/gate.ts judges both alike. SQL only gathers facts; it never decides.
 *
 * A renewal is judged as it would be placed: by the subscription's billing partner,
 * through the reseller it was sold through (if any), over the API, at `now`.
 *
 * What a renewal's facts are depends on few values: the customer's country (for the
 * current agreement) and cloud, the rank of the partner's active confirmation, and
 * four yes/no questions, and two dates (of the confirmation and of the direct acceptance).
 * So thousands of candidates share few distinct fact sets (`FactGroup`): the gate judges
 * each set once, and a page of risks is the first candidates in renewal order whose fact
 * set the gate blocks.
 *
 * For every partner's and one partner's window (and partner users' own), the sets and their
 * sizes come from facts derived per subscription and kept by triggers
 * (renewal.derived.queries.ts), whose dates are coarsened to what the gate compares them
 * with, so that a window has a few dozen sets however many subscriptions; otherwise (the
 * derived tables not valid, a reseller narrowed to a provider, or the existing-customer
 * fact asked) from the live SQL below.
 */

/** A SQL condition on `subscriptions s` with its parameters. */
export interface SqlCondition {
  sql: string;
  params: unknown[];
  /**
   * Keeps every partner's subscriptions (thousands in a window): the window's facts are
   * then asked of whole tables, each read once and hashed. Otherwise, for one partner's
   * hundreds, each fact is an index probe per candidate.
   */
  wide?: boolean;
  /**
   * The same subscriptions as a scope of the derived renewal facts (renewal.derived.queries.ts
   * `derivedScopes`). Their window is then
   * read from the maintained counts and the page from the derived rows, while the derived
   * tables are valid; otherwise, and for other scopes, from the live SQL.
   */
  derived?: DerivedScope;
}

export interface RenewalCandidate {
  subscriptionId: string;
  /** YYYY-MM-DD. */
  renewsOn: string;
  customerId: string;
  partnerId: string;
  resellerId: string | null;
  facts: LoadedFacts;
  /** For a page: the records the candidate names, as the page read them. */
  records?: CandidateRecords;
}

/** The subscription, customer and partners (billing, and reseller if any) of a candidate. */
export interface CandidateRecords {
  subscription: SubscriptionRecord;
  customer: Customer;
  partners: Partner[];
}

interface Row extends GateFactColumns {
  id: string;
  renews_on: string;
  customer_id: string;
  partner_id: string;
  reseller_id: string | null;
}

/** Candidates sharing one set of facts: `key` names the set in SQL, `n` counts them. */
export interface FactGroup {
  key: string;
  n: number;
  facts: LoadedFacts;
}

/** Adds whole days to a YYYY-MM-DD date. */
export function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Where a page of candidates starts: after this (renewsOn, subscription id). */
export interface CandidateCursor {
  renewsOn: string;
  subscriptionId: string;
}

/** The customer's columns a page hands out, as `c_<column>`. */
const CUSTOMER_AS = (c: string) =>
  ['tenant_id', 'company_name', 'domain', 'country', 'cloud', 'contact_first_name', 'contact_last_name', 'contact_email', 'contact_phone_number', 'created_at']
    .map((f) => `${c}.${f} as c_${f}`)
    .join(', ');

/**
 * The facts of each row of `x` (with `customer_id`, `partner_id`, `reseller_id`) asked as
 * index probes, each once per row (`offset 0` keeps the lateral whole, so a filter on
 * the facts and the output do not ask them twice): for a few hundred rows, or for a page
 * read in order only as far as it needs. The customer's columns come along as `c_*`.
 * `before` is the order time's placeholder for `existing`; null leaves it unasked (null).
 */
const probedFacts = (x: string, before: string | null) => `cross join lateral (
    select ${customerGateFacts('c')},
      ${probedGateFacts({ customer: `${x}.customer_id`, partner: `${x}.partner_id`, reseller: `${x}.reseller_id` }, before)},
      ${CUSTOMER_AS('c')}
      from customers c where c.id = ${x}.customer_id
    offset 0) f`;

/**
 * Active subscriptions renewing from today to today + `withinDays` (inclusive) that
 * `scope` keeps, as a condition on `subscriptions s`, with its values in the order of its placeholders.
 */
function windowSql(scope: SqlCondition, withinDays: number, now: Date): { sql: string; params: unknown[] } {
  const today = todayUtc(now);
  return {
    sql: `s.status = 'ACTIVE' and s.renews_on >= ?::date and s.renews_on <= ?::date and ${scope.sql}`,
    params: [today, addDays(today, withinDays), ...scope.params],
  };
}

/** What every candidate is judged against: the current agreements of each country (of every type) and the policy's rules. Two statements. */
interface Judging {
  current: Map<string, AgreementTemplate[]>;
  rules: PolicyRule[];
}

async function judging(em: EntityManager, countries: string[], now: Date): Promise<Judging> {
  return { current: await currentAgreementsOf(em, countries, todayUtc(now)), rules: await policyRules(em) };
}

const factsOf = (r: GateFactColumns, now: Date, j: Judging): LoadedFacts =>
  gateFactsOf(r, { kind: TransactionKind.RENEWAL, channel: Channel.API, requestedAt: now }, j.current.get(r.country) ?? [], j.rules);

const toCandidate = (r: Row, now: Date, j: Judging): RenewalCandidate => ({
  subscriptionId: r.id,
  renewsOn: r.renews_on,
  customerId: r.customer_id,
  partnerId: r.partner_id,
  resellerId: r.reseller_id,
  facts: factsOf(r, now, j),
});

/**
 * Every candidate of the window with its facts, in (renewsOn, id) order: two
 * statements however many there are (the facts asked of whole tables). The scan judges them all.
 */
export async function loadRenewalCandidates(em: EntityManager, scope: SqlCondition, withinDays: number, now: Date = new Date()): Promise<RenewalCandidate[]> {
  const where = windowSql(scope, withinDays, now);
  const rows = await queryRows<Row>(
    em,
    `select s.id, to_char(s.renews_on, 'YYYY-MM-DD') as renews_on, s.customer_id, s.partner_id, s.reseller_id, ${hashedGateFacts('subscriptions', 's', '?::timestamptz')}
      where ${where.sql}
      order by s.renews_on, s.id`,
    [now, ...where.params],
  );
  if (rows.length === 0) return [];
  const j = await judging(em, [...new Set(rows.map((r) => r.country))], now);
  return rows.map((r) => toCandidate(r, now, j));
}

/** The fact columns of `GATE_FACT_COLUMNS` of the alias `a`, as a list. */
const FACT_LIST = (a: string) => GATE_FACT_COLUMNS.map((c) => `${a}.${c}`).join(', ');

/** What a page of risks reads: the fact sets of the whole window with their sizes, and a way to read candidates of chosen sets. */
export interface RenewalWindow {
  groups: FactGroup[];
  /** Whether the sets tell existing customers apart; if not, `existingCustomer` of their facts is a placeholder (false). */
  asksExisting: boolean;
  /**
   * Up to `limit` candidates after `after` whose fact set is one of `keys`, in (renewsOn, id)
   * order, each with all its facts and the records it names (`records`). One statement, or
   * two when the first, over the days the page is likely to need, came back short.
   */
  candidatesOf(keys: string[], after: CandidateCursor | null, limit: number): Promise<RenewalCandidate[]>;
}

/**
 * The window's distinct fact sets and how many candidates share each: two
 * statements (the grouped facts, then the current agreements of their countries).
 * For every partner's window (thousands) the facts are asked of whole tables at once;
 * for a narrower scope (hundreds) as index probes, once per (customer, partner,
 * reseller), whose facts are the same.
 *
 * With `asksExisting` false the sets leave out whether the customer is an existing
 * one, which costs a pass over every completed order. The caller asks again with it
 * when the gate's answer for some set depends on it.
 */
export async function loadRenewalWindow(
  em: EntityManager,
  scope: SqlCondition,
  withinDays: number,
  { asksExisting, now = new Date() }: { asksExisting: boolean; now?: Date },
): Promise<RenewalWindow> {
  if (scope.derived && !asksExisting) {
    const window = await derivedWindow(em, scope.derived, withinDays, now);
    if (window) return window;
  }
  const where = windowSql(scope, withinDays, now);
  const at = asksExisting ? '?::timestamptz' : null;
  const facts = scope.wide ? hashedGateFacts('triples', 'x', at) : `f.* from triples x ${probedFacts('x', at)}`;
  const rows = await queryRows<GateFactColumns & { key: string; n: number }>(
    em,
    // For probes, candidates of one (customer, partner, reseller) are counted first: their facts are the same.
    // Hashed facts cost less per row than that grouping does.
    `with triples as (select s.customer_id, s.partner_id, s.reseller_id, ${scope.wide ? '1' : 'count(*)::int'} as n from subscriptions s where ${where.sql}
                       ${scope.wide ? '' : 'group by s.customer_id, s.partner_id, s.reseller_id'})
     select ${factKey('g', asksExisting)} as key, ${FACT_LIST('g')}, g.n
       from (select ${FACT_LIST('f')}, sum(f.n)::int as n
               from (select x.n, ${facts}) f
              group by ${FACT_LIST('f')}) g`,
    asksExisting ? [...where.params, now] : where.params,
  );
  const j = await judging(em, [...new Set(rows.map((r) => r.country))], now);
  const groups = rows.map((r) => ({ key: r.key, n: Number(r.n), facts: factsOf(r, now, j) }));
  return {
    groups,
    asksExisting,
    async candidatesOf(keys, after, limit) {
      if (keys.length === 0) return [];
      const read = async (until: string | null) => {
        const where = windowSql(scope, withinDays, now);
        const from = after ? 'and (s.renews_on, s.id) > (?::date, ?::uuid)' : '';
        const to = until ? 'and s.renews_on <= ?::date' : '';
        // The candidates in order (kept whole by `offset 0`), each with its facts asked as it is read, up to the page.
        const page = await queryRows<PageRow>(
          em,
          `select x.*, ${PARTNER_AS('p', 'p_')}, ${PARTNER_AS('rp', 'rp_')}
             from (select s.id, to_char(s.renews_on, 'YYYY-MM-DD') as renews_on, s.customer_id, s.partner_id, s.reseller_id,
                          s.offer_id, s.seats, s.status, s.created_at, s.cancelled_at,
                          s.term_duration, s.billing_cycle, s.auto_renew, s.term_started_at, s.seat_lots, f.*
                     from (select s.* from subscriptions s where ${where.sql} ${from} ${to} order by s.renews_on, s.id offset 0) s
                     ${probedFacts('s', '?::timestamptz')}
                    where ${factKey('f', asksExisting)} = any(array(select jsonb_array_elements_text(?::jsonb)))
                    order by s.renews_on, s.id
                    limit ?) x
             join partners p on p.id = x.partner_id
             left join partners rp on rp.id = x.reseller_id
            order by x.renews_on, x.id`,
          [...where.params, ...(after ? [after.renewsOn, after.subscriptionId] : []), ...(until ? [until] : []), now, JSON.stringify(keys), limit],
        );
        return page.map((r) => ({ ...toCandidate(r, now, j), records: recordsOf(r) }));
      };
      // Ordering the whole rest of the window costs most of the page for thousands of candidates: the page
      // first reads up to a day by which, if the chosen sets are spread evenly over the window, twice `limit`
      // of them renew. If fewer than `limit` come back (and the window goes on), it reads the rest.
      const chosen = new Set(keys);
      const wanted = groups.reduce((sum, g) => sum + (chosen.has(g.key) ? g.n : 0), 0);
      const start = after?.renewsOn ?? todayUtc(now);
      const until = addDays(start, Math.ceil((2 * limit * (withinDays + 1)) / Math.max(wanted, 1)));
      if (until < addDays(todayUtc(now), withinDays)) {
        const first = await read(until);
        if (first.length >= limit) return first;
      }
      return read(null);
    },
  };
}

/** A partner's columns named `<prefix><column>`, beside another table's. */
const PARTNER_AS = (alias: string, prefix: string) =>
  ['id', 'name', 'tenant_id', 'type', 'created_at'].map((f) => `${alias}.${f} as ${prefix}${f}`).join(', ');

/** A row of a page: the candidate, its facts, its subscription, customer and partners. */
interface PageRow extends Row {
  offer_id: string;
  seats: number;
  status: SubscriptionStatus;
  created_at: string;
  cancelled_at: string | null;
  term_duration: TermDuration;
  billing_cycle: BillingCycle;
  auto_renew: boolean;
  term_started_at: string;
  seat_lots: SeatLot[];
  c_tenant_id: string;
  c_company_name: string;
  c_domain: string;
  c_country: string;
  c_cloud: CloudInstance;
  c_contact_first_name: string;
  c_contact_last_name: string;
  c_contact_email: string;
  c_contact_phone_number: string | null;
  c_created_at: string;
  [column: `${'p' | 'rp'}_${string}`]: unknown;
}

const partnerAt = (r: PageRow, prefix: 'p_' | 'rp_'): Partner | null =>
  r[`${prefix}id`]
    ? plainPartner({
        id: r[`${prefix}id`] as string,
        name: r[`${prefix}name`] as string,
        tenant_id: r[`${prefix}tenant_id`] as string,
        type: r[`${prefix}type`] as PartnerType,
        created_at: r[`${prefix}created_at`] as string,
      })
    : null;

/**
 * The records a page row names, read-only, by each feature's mapper (as the customer list
 * and the orders' payloads hand them out), for the field resolvers to answer without
 * reading them again.
 */
function recordsOf(r: PageRow): CandidateRecords {
  const customer = plainCustomer({
    id: r.customer_id,
    tenant_id: r.c_tenant_id,
    company_name: r.c_company_name,
    domain: r.c_domain,
    country: r.c_country,
    cloud: r.c_cloud,
    contact_first_name: r.c_contact_first_name,
    contact_last_name: r.c_contact_last_name,
    contact_email: r.c_contact_email,
    contact_phone_number: r.c_contact_phone_number,
    created_at: r.c_created_at,
  });
  const subscription = subscriptionOf({
    id: r.id,
    customer_id: r.customer_id,
    partner_id: r.partner_id,
    reseller_id: r.reseller_id,
    offer_id: r.offer_id,
    seats: r.seats,
    status: r.status,
    renews_on: r.renews_on,
    created_at: r.created_at,
    cancelled_at: r.cancelled_at,
    term_duration: r.term_duration,
    billing_cycle: r.billing_cycle,
    auto_renew: r.auto_renew,
    term_started_at: r.term_started_at,
    seat_lots: r.seat_lots,
  });
  const partners = [partnerAt(r, 'p_'), partnerAt(r, 'rp_')].filter((p): p is Partner => p !== null);
  return { subscription, customer, partners };
}

/** The columns of a derived fact set, as `GateFactColumns` (the existing-customer fact unasked: null). */
const SET_AS_FACTS = (f: string) => `${SET_COLUMNS.map((c) => `${f}.${c}`).join(', ')}, null::boolean as existing`;

/**
 * The window of a derived scope, or null while the derived tables may not answer (not yet
 * rebuilt under the functions this code generates): the fact sets with their sizes summed
 * from the maintained counts, over (days x fact sets x stripes) rows, with the validity of
 * the tables asked in the same statement (one snapshot). The page reads the derived rows in
 * renewal order (an index range per party), filtered by fact set, and joins only the page's
 * subscriptions, customers, partners and fact sets. Two statements for the window (the
 * sets, their countries' agreements), one for the page.
 */
async function derivedWindow(em: EntityManager, derived: NonNullable<SqlCondition['derived']>, withinDays: number, now: Date): Promise<RenewalWindow | null> {
  const today = todayUtc(now);
  const last = addDays(today, withinDays);
  const valid = derivedValidSql(renewalFactsTable);
  const rows = await queryRows<(GateFactColumns & { ready: boolean; key: string | null; n: number })>(
    em,
    `select v.ready, g.key, g.n, ${SET_AS_FACTS('f')}
       from (select ${valid.sql} as ready) v
       left join lateral (select k.fact_key as key, sum(${windowCountSql('k', 'w.first', 'w.last')})::int as n
                            from (select ?::date as first, ?::date as last) w
                            join renewal_fact_counts k on k.scope = ? and ${windowSpansSql('k', 'w.first', 'w.last')}
                           where v.ready
                           group by k.fact_key having sum(${windowCountSql('k', 'w.first', 'w.last')}) > 0) g on true
       left join renewal_fact_sets f on f.fact_key = g.key`,
    [...valid.params, today, last, derived.scope],
  );
  if (!rows[0]?.ready) return null;
  const sets = rows.filter((r) => r.key !== null);
  const j = await judging(em, [...new Set(sets.map((r) => r.country))], now);
  const groups = sets.map((r) => ({ key: r.key!, n: Number(r.n), facts: factsOf(r, now, j) }));
  return {
    groups,
    asksExisting: false,
    async candidatesOf(keys, after, limit) {
      if (keys.length === 0) return [];
      // One ordered index range per party (merged in order), each read only as far as the page needs.
      const range = (r: DerivedScope['ranges'][number]) => ({
        sql: `select rf.subscription_id, rf.renews_on, rf.fact_key from renewal_facts rf
               where ${r.sql} rf.renews_on >= ?::date and rf.renews_on <= ?::date
                 ${after ? 'and (rf.renews_on, rf.subscription_id) > (?::date, ?::uuid)' : ''}
                 and rf.fact_key = any(?::text[])
               order by rf.renews_on, rf.subscription_id limit ?`,
        params: [...r.params, today, last, ...(after ? [after.renewsOn, after.subscriptionId] : []), keys, limit],
      });
      const parts = derived.ranges.map(range);
      const ranges =
        parts.length === 1
          ? parts[0]
          : { sql: `${parts.map((p) => `(${p.sql})`).join(' union all ')} order by renews_on, subscription_id limit ?`, params: [...parts.flatMap((p) => p.params), limit] };
      const page = await queryRows<PageRow>(
        em,
        `select s.id, to_char(s.renews_on, 'YYYY-MM-DD') as renews_on, s.customer_id, s.partner_id, s.reseller_id,
                s.offer_id, s.seats, s.status, s.created_at, s.cancelled_at,
                s.term_duration, s.billing_cycle, s.auto_renew, s.term_started_at, s.seat_lots, ${SET_AS_FACTS('f')},
                ${CUSTOMER_AS('c')}, ${PARTNER_AS('p', 'p_')}, ${PARTNER_AS('rp', 'rp_')}
           from (${ranges.sql}) x
           join subscriptions s on s.id = x.subscription_id
           join customers c on c.id = s.customer_id
           join renewal_fact_sets f on f.fact_key = x.fact_key
           join partners p on p.id = s.partner_id
           left join partners rp on rp.id = s.reseller_id
          order by x.renews_on, x.subscription_id`,
        ranges.params,
      );
      return page.map((r) => ({ ...toCandidate(r, now, j), records: recordsOf(r) }));
    },
  };
}
