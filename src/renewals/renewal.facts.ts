import type { EntityManager } from '@mikro-orm/postgresql';
import type { AgreementTemplate } from '../agreements/agreement.entity';
import { plainTemplate, TEMPLATE_COLUMNS, type TemplateRow } from '../agreements/agreement.loaders';
import { AgreementType, GLOBAL } from '../agreements/agreement.enums';
import { currentTemplate, languageOfCountry, todayUtc } from '../agreements/current';
import { Channel } from '../acceptance/acceptance.enums';
import type { Customer } from '../customers/customer.entity';
import { CloudInstance } from '../customers/customer.enums';
import { queryRows } from '../db/query';
import type { Partner } from '../partners/partner.entity';
import type { PartnerType } from '../auth/roles';
import { plainPartner } from '../partners/partner.loaders';
import type { Subscription } from '../transactions/transaction.entity';
import type { AcceptanceState } from '../transactions/gate';
import type { LoadedFacts } from '../transactions/transaction.facts';
import { TransactionKind, type SubscriptionStatus } from '../transactions/transaction.enums';

/**
 * The gate's facts for the RENEWAL of many subscriptions at once, asked in SQL with
 * the same questions `loadGateFacts` in src/transactions/transaction.facts.ts asks for
 * one order (as index probes per candidate, or for every partner's window as joins of
 * whole tables read once and hashed). The answer is the same
 * `LoadedFacts` type, so the pure `decide` of src/transactions/gate.ts judges both
 * alike. SQL only gathers facts; it never decides.
 *
 * A renewal is judged as it would be placed: by the subscription's billing partner,
 * through the reseller it was sold through (if any), over the API, at `now`.
 *
 * What a renewal's facts are depends on few values: the customer's country (for the
 * current agreement) and cloud, the rank of the partner's active confirmation, and
 * four yes/no questions. So thousands of candidates share a few dozen distinct fact
 * sets (`FactGroup`): the gate judges each set once, and a page of risks is the first
 * candidates in renewal order whose fact set the gate blocks.
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
  subscription: Subscription;
  customer: Customer;
  partners: Partner[];
}

/** The columns the gate's facts are made of. */
interface FactColumns {
  country: string;
  cloud: CloudInstance;
  active_rank: number | null;
  withdrawn: boolean;
  /** Null when not asked. */
  existing: boolean | null;
  resold: boolean;
  linked: boolean;
  serving: boolean;
}

interface Row extends FactColumns {
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

/**
 * The fact set of a candidate as one string, from its facts `f`: the same expression groups
 * and filters. Without `existing`, the sets leave that fact out (see `loadRenewalWindow`).
 */
const factKey = (f: string, existing: boolean) =>
  `concat_ws('|', ${f}.country, ${f}.cloud, coalesce(${f}.active_rank::text, '-'), ${f}.withdrawn, ${existing ? `${f}.existing` : `'unasked'`}, ${f}.resold, ${f}.linked, ${f}.serving)`;

/** Positional parameters (`$n`) of a statement being written: the statements are prepared. */
class Params {
  readonly values: unknown[] = [];
  /** The placeholder of `value`. */
  at(value: unknown): string {
    return `$${this.values.push(value)}`;
  }
}

/**
 * The reseller's facts of each row of `x`: whether the reseller is linked to the billing
 * partner, and whether it serves the customer for that partner. Asked (as an index probe)
 * only of rows sold through a reseller; without one both are false.
 */
const resellerFacts = (x: string) => `
      case when ${x}.reseller_id is null then false
           else exists (select 1 from reseller_links l where l.reseller_id = ${x}.reseller_id and l.provider_id = ${x}.partner_id) end as linked,
      case when ${x}.reseller_id is null then false
           else exists (select 1 from customer_relationships r join customer_relationship_resellers rr on rr.relationship_id = r.id
                         where r.customer_id = ${x}.customer_id and r.partner_id = ${x}.partner_id and rr.reseller_id = ${x}.reseller_id) end as serving`;

/** Whether the customer has a COMPLETED order with the billing partner before `now` (a placeholder), for the rows of `x`. */
const existingProbe = (x: string, now: string) =>
  `coalesce((select true from orders o where o.customer_id = ${x}.customer_id and o.partner_id = ${x}.partner_id and o.outcome = 'COMPLETED'
              and o.requested_at < ${now} limit 1), false)`;

/**
 * The facts of each row of `x` (with `customer_id`, `partner_id`, `reseller_id`) asked as
 * index probes, each once per row (`offset 0` keeps the lateral whole, so a filter on
 * the facts and the output do not ask them twice): for a few hundred rows, or for a page
 * read in order only as far as it needs. The customer's columns come along as `c_*`.
 * `now` is the placeholder of the order time for `existing`; null leaves it unasked (null).
 */
const probedFacts = (x: string, now: string | null) => `cross join lateral (
    select upper(c.country) as country, c.cloud,
      (select t.version_rank from acceptances a join agreement_templates t on t.template_id = a.template_id
        where a.customer_id = ${x}.customer_id and a.partner_id = ${x}.partner_id and a.status = 'ACTIVE') as active_rank,
      coalesce((select true from acceptances w where w.customer_id = ${x}.customer_id and w.partner_id = ${x}.partner_id and w.status = 'WITHDRAWN' limit 1), false) as withdrawn,
      ${now ? existingProbe(x, now) : 'null::boolean'} as existing,
      ${x}.reseller_id is not null as resold, ${resellerFacts(x)},
      c.tenant_id as c_tenant_id, c.company_name as c_company_name, c.domain as c_domain, c.country as c_country, c.cloud as c_cloud,
      c.contact_first_name as c_contact_first_name, c.contact_last_name as c_contact_last_name, c.contact_email as c_contact_email,
      c.contact_phone_number as c_contact_phone_number, c.created_at as c_created_at
      from customers c where c.id = ${x}.customer_id
    offset 0) f`;

/**
 * The same questions as `probedFacts` for thousands of rows of `x` (every partner's
 * window), asked of whole tables: the customers and the active confirmations (with
 * their templates) are read once and hashed, then joined; the (customer, partner) pairs
 * with a withdrawal are hashed once for an IN. The reseller's facts stay probes, asked
 * only of rows with a reseller; whether the customer is an existing one (a pass over
 * every completed order, the largest table) only when `now` is given. The facts are
 * the select list, the joins the FROM.
 */
const hashedFacts = (x: string, now: string | null) => `upper(c.country) as country, c.cloud, t.version_rank as active_rank,
      (${x}.customer_id, ${x}.partner_id) in (select w.customer_id, w.partner_id from acceptances w where w.status = 'WITHDRAWN') as withdrawn,
      ${now ? 'ex.customer_id is not null' : 'null::boolean'} as existing,
      ${x}.reseller_id is not null as resold, ${resellerFacts(x)}
    from ${x === 's' ? 'subscriptions' : 'triples'} ${x}
    join customers c on c.id = ${x}.customer_id
    -- At most one active confirmation per (customer, partner): a unique index says so.
    left join (acceptances a join agreement_templates t on t.template_id = a.template_id)
           on a.customer_id = ${x}.customer_id and a.partner_id = ${x}.partner_id and a.status = 'ACTIVE'
    ${
      now
        ? `left join (select distinct o.customer_id, o.partner_id from orders o where o.outcome = 'COMPLETED' and o.requested_at < ${now}) ex
             on ex.customer_id = ${x}.customer_id and ex.partner_id = ${x}.partner_id`
        : ''
    }`;

/**
 * Active subscriptions renewing from today to today + `withinDays` (inclusive) that
 * `scope` keeps, as a condition on `subscriptions s`; its values go to `p`.
 */
function windowSql(scope: SqlCondition, withinDays: number, now: Date, p: Params): string {
  const today = todayUtc(now);
  const from = p.at(today);
  const to = p.at(addDays(today, withinDays));
  let i = 0;
  const scopeSql = scope.sql.replace(/\?/g, () => p.at(scope.params[i++]));
  return `s.status = 'ACTIVE' and s.renews_on >= ${from}::date and s.renews_on <= ${to}::date and ${scopeSql}`;
}

/** The current agreement of each country, as `loadGateFacts` selects it. One statement. */
async function currentAgreements(em: EntityManager, countries: string[], now: Date): Promise<Map<string, AgreementTemplate | null>> {
  if (countries.length === 0) return new Map();
  const today = todayUtc(now);
  const rows = await queryRows<TemplateRow>(em, CURRENT_AGREEMENTS, [AgreementType.MICROSOFT_CLOUD_AGREEMENT, [...countries, GLOBAL], today]);
  const templates = rows.map(plainTemplate);
  return new Map(
    // The same selection as loadGateFacts: the translation in the country's language names the requirement.
    countries.map((country) => [
      country,
      currentTemplate(templates, { type: AgreementType.MICROSOFT_CLOUD_AGREEMENT, country, language: languageOfCountry(country), today }),
    ]),
  );
}

const CURRENT_AGREEMENTS = `select ${TEMPLATE_COLUMNS('t')} from agreement_templates t
  where t.type = ? and t.country = any(?::text[]) and t.effective_from <= ?::date`;

function factsOf(r: FactColumns, now: Date, current: Map<string, AgreementTemplate | null>): LoadedFacts {
  const acceptance: AcceptanceState =
    r.active_rank !== null && r.active_rank !== undefined
      ? { status: 'ACTIVE', templateRank: Number(r.active_rank) }
      : r.withdrawn
        ? { status: 'WITHDRAWN' }
        : { status: 'NONE' };
  return {
    kind: TransactionKind.RENEWAL,
    channel: Channel.API,
    requestedAt: now,
    nationalCloud: r.cloud !== CloudInstance.PUBLIC,
    acceptance,
    currentAgreement: current.get(r.country) ?? null,
    existingCustomer: r.existing ?? false,
    reseller: r.resold ? { linkedToProvider: r.linked, servesCustomer: r.serving } : null,
  };
}

const toCandidate = (r: Row, now: Date, current: Map<string, AgreementTemplate | null>): RenewalCandidate => ({
  subscriptionId: r.id,
  renewsOn: r.renews_on,
  customerId: r.customer_id,
  partnerId: r.partner_id,
  resellerId: r.reseller_id,
  facts: factsOf(r, now, current),
});

/**
 * Every candidate of the window with its facts, in (renewsOn, id) order: two
 * statements however many there are (the facts asked of whole tables). The scan judges them all.
 */
export async function loadRenewalCandidates(em: EntityManager, scope: SqlCondition, withinDays: number, now: Date = new Date()): Promise<RenewalCandidate[]> {
  const p = new Params();
  const where = windowSql(scope, withinDays, now, p);
  const rows = await queryRows<Row>(
    em,
    `select s.id, to_char(s.renews_on, 'YYYY-MM-DD') as renews_on, s.customer_id, s.partner_id, s.reseller_id, ${hashedFacts('s', p.at(now))}
      where ${where}
      order by s.renews_on, s.id`,
    p.values,
  );
  if (rows.length === 0) return [];
  const current = await currentAgreements(em, [...new Set(rows.map((r) => r.country))], now);
  return rows.map((r) => toCandidate(r, now, current));
}

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
  const p = new Params();
  const where = windowSql(scope, withinDays, now, p);
  const at = asksExisting ? p.at(now) : null;
  const facts = scope.wide ? hashedFacts('x', at) : `f.* from triples x ${probedFacts('x', at)}`;
  const rows = await queryRows<FactColumns & { key: string; n: number }>(
    em,
    // For probes, candidates of one (customer, partner, reseller) are counted first: their facts are the same.
    // Hashed facts cost less per row than that grouping does.
    `with triples as (select s.customer_id, s.partner_id, s.reseller_id, ${scope.wide ? '1' : 'count(*)::int'} as n from subscriptions s where ${where}
                       ${scope.wide ? '' : 'group by s.customer_id, s.partner_id, s.reseller_id'})
     select ${factKey('g', asksExisting)} as key, g.country, g.cloud, g.active_rank, g.withdrawn, g.existing, g.resold, g.linked, g.serving, g.n
       from (select f.country, f.cloud, f.active_rank, f.withdrawn, f.existing, f.resold, f.linked, f.serving, sum(f.n)::int as n
               from (select x.n, ${facts}) f
              group by f.country, f.cloud, f.active_rank, f.withdrawn, f.existing, f.resold, f.linked, f.serving) g`,
    p.values,
  );
  const current = await currentAgreements(em, [...new Set(rows.map((r) => r.country))], now);
  const groups = rows.map((r) => ({ key: r.key, n: Number(r.n), facts: factsOf(r, now, current) }));
  return {
    groups,
    asksExisting,
    async candidatesOf(keys, after, limit) {
      if (keys.length === 0) return [];
      const read = async (until: string | null) => {
        const q = new Params();
        const where = windowSql(scope, withinDays, now, q);
        const from = after ? `and (s.renews_on, s.id) > (${q.at(after.renewsOn)}::date, ${q.at(after.subscriptionId)}::uuid)` : '';
        const to = until ? `and s.renews_on <= ${q.at(until)}::date` : '';
        // The candidates in order (kept whole by `offset 0`), each with its facts asked as it is read, up to the page.
        const page = await queryRows<PageRow>(
          em,
          `select x.*, ${PARTNER_AS('p', 'p_')}, ${PARTNER_AS('rp', 'rp_')}
             from (select s.id, to_char(s.renews_on, 'YYYY-MM-DD') as renews_on, s.customer_id, s.partner_id, s.reseller_id,
                          s.offer_id, s.seats, s.status, s.created_at, s.cancelled_at, f.*
                     from (select s.* from subscriptions s where ${where} ${from} ${to} order by s.renews_on, s.id offset 0) s
                     ${probedFacts('s', q.at(now))}
                    where ${factKey('f', asksExisting)} = any(array(select jsonb_array_elements_text(${q.at(JSON.stringify(keys))}::jsonb)))
                    order by s.renews_on, s.id
                    limit ${q.at(limit)}) x
             join partners p on p.id = x.partner_id
             left join partners rp on rp.id = x.reseller_id
            order by x.renews_on, x.id`,
          q.values,
        );
        return page.map((r) => ({ ...toCandidate(r, now, current), records: recordsOf(r) }));
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
 * The records a page row names, as read-only plain objects of the entities' shape (as
 * the customer list and the orders' payloads hand out), for the field resolvers to
 * answer without reading them again.
 */
function recordsOf(r: PageRow): CandidateRecords {
  const customer = {
    id: r.customer_id,
    tenantId: r.c_tenant_id,
    companyName: r.c_company_name,
    domain: r.c_domain,
    country: r.c_country,
    cloud: r.c_cloud,
    primaryContact: { firstName: r.c_contact_first_name, lastName: r.c_contact_last_name, email: r.c_contact_email, phoneNumber: r.c_contact_phone_number },
    createdAt: new Date(r.c_created_at),
  } as Customer;
  const subscription = {
    id: r.id,
    customer: { id: r.customer_id },
    partner: { id: r.partner_id },
    reseller: r.reseller_id ? { id: r.reseller_id } : null,
    offerId: r.offer_id,
    seats: r.seats,
    status: r.status,
    renewsOn: r.renews_on,
    createdAt: new Date(r.created_at),
    cancelledAt: r.cancelled_at ? new Date(r.cancelled_at) : null,
  } as Subscription;
  const partners = [partnerAt(r, 'p_'), partnerAt(r, 'rp_')].filter((p): p is Partner => p !== null);
  return { subscription, customer, partners };
}
