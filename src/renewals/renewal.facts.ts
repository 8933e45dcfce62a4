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
import type { PartnerType } from '../partners/partner.enums';
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
  existing: boolean;
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

/** The fact set of a candidate as one string, from its facts `f`: the same expression groups and filters. */
const factKey = (f: string) =>
  `concat_ws('|', ${f}.country, ${f}.cloud, coalesce(${f}.active_rank::text, '-'), ${f}.withdrawn, ${f}.existing, ${f}.resold, ${f}.linked, ${f}.serving)`;

/**
 * The facts of each row of `x` (with `customer_id`, `partner_id`, `reseller_id`) asked as
 * index probes, each once per row (`offset 0` keeps the lateral whole, so a filter on
 * the facts and the output do not ask them twice): for a few hundred rows, or for a page
 * read in order only as far as it needs. The customer's columns come along as `c_*`.
 */
const probedFacts = (x: string, now: number) => `cross join lateral (
    select upper(c.country) as country, c.cloud,
      (select t.version_rank from acceptances a join agreement_templates t on t.template_id = a.template_id
        where a.customer_id = ${x}.customer_id and a.partner_id = ${x}.partner_id and a.status = 'ACTIVE') as active_rank,
      coalesce((select true from acceptances w where w.customer_id = ${x}.customer_id and w.partner_id = ${x}.partner_id and w.status = 'WITHDRAWN' limit 1), false) as withdrawn,
      coalesce((select true from orders o where o.customer_id = ${x}.customer_id and o.partner_id = ${x}.partner_id and o.outcome = 'COMPLETED'
                  and o.requested_at < $${now} limit 1), false) as existing,
      ${x}.reseller_id is not null as resold,
      coalesce((select true from reseller_links l where l.reseller_id = ${x}.reseller_id and l.provider_id = ${x}.partner_id limit 1), false) as linked,
      coalesce((select true from customer_relationships r join customer_relationship_resellers rr on rr.relationship_id = r.id
                 where r.customer_id = ${x}.customer_id and r.partner_id = ${x}.partner_id and rr.reseller_id = ${x}.reseller_id limit 1), false) as serving,
      c.tenant_id as c_tenant_id, c.company_name as c_company_name, c.domain as c_domain, c.country as c_country, c.cloud as c_cloud,
      c.contact_first_name as c_contact_first_name, c.contact_last_name as c_contact_last_name, c.contact_email as c_contact_email,
      c.contact_phone_number as c_contact_phone_number, c.created_at as c_created_at
      from customers c where c.id = ${x}.customer_id
    offset 0) f`;

/**
 * The same questions as `probedFacts`, asked of whole tables at once: each table is read
 * once and hashed (the (customer, partner) pairs with an active confirmation and its
 * rank, with a withdrawal, with a completed order; the links; the resellers serving
 * each pair), then joined to the rows of `x`. For thousands of rows (every partner's
 * window) this is a few scans instead of a probe per row and question. The facts are
 * the columns of the select list `factColumns`; the joins are `factJoins`.
 */
const hashedFactColumns = (x: string) => `upper(c.country) as country, c.cloud, act.version_rank as active_rank,
    wd.customer_id is not null as withdrawn, ex.customer_id is not null as existing, ${x}.reseller_id is not null as resold,
    l.reseller_id is not null as linked, sv.customer_id is not null as serving`;
const hashedFactJoins = (x: string, now: number) => `join customers c on c.id = ${x}.customer_id
    -- At most one active confirmation per (customer, partner): a unique index says so.
    left join (select a.customer_id, a.partner_id, t.version_rank from acceptances a join agreement_templates t on t.template_id = a.template_id
                where a.status = 'ACTIVE') act on act.customer_id = ${x}.customer_id and act.partner_id = ${x}.partner_id
    left join (select distinct w.customer_id, w.partner_id from acceptances w where w.status = 'WITHDRAWN') wd
           on wd.customer_id = ${x}.customer_id and wd.partner_id = ${x}.partner_id
    left join (select distinct o.customer_id, o.partner_id from orders o where o.outcome = 'COMPLETED' and o.requested_at < $${now}) ex
           on ex.customer_id = ${x}.customer_id and ex.partner_id = ${x}.partner_id
    -- One link per (reseller, provider): a unique constraint says so.
    left join reseller_links l on l.reseller_id = ${x}.reseller_id and l.provider_id = ${x}.partner_id
    left join (select distinct r.customer_id, r.partner_id, rr.reseller_id from customer_relationships r
                 join customer_relationship_resellers rr on rr.relationship_id = r.id) sv
           on sv.customer_id = ${x}.customer_id and sv.partner_id = ${x}.partner_id and sv.reseller_id = ${x}.reseller_id`;

interface WindowSql {
  /** The window's candidates as a WHERE condition on `subscriptions s`. */
  where: string;
  params: unknown[];
  /** The positional number of `now`'s parameter. */
  now: number;
}

/**
 * Active subscriptions renewing from today to today + `withinDays` (inclusive) that
 * `scope` keeps, as a condition on `subscriptions s`, with `now` as a parameter of its
 * own for the facts. Placeholders are positional (`$n`): the statements are prepared.
 */
function windowSql(scope: SqlCondition, withinDays: number, now: Date): WindowSql {
  const today = todayUtc(now);
  const params: unknown[] = [today, addDays(today, withinDays), now, ...scope.params];
  let n = 3;
  const scopeSql = scope.sql.replace(/\?/g, () => `$${++n}`);
  return { where: `s.status = 'ACTIVE' and s.renews_on >= $1::date and s.renews_on <= $2::date and ${scopeSql}`, params, now: 3 };
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
    existingCustomer: r.existing,
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
  const w = windowSql(scope, withinDays, now);
  const rows = await queryRows<Row>(
    em,
    `select s.id, to_char(s.renews_on, 'YYYY-MM-DD') as renews_on, s.customer_id, s.partner_id, s.reseller_id, ${hashedFactColumns('s')}
       from subscriptions s ${hashedFactJoins('s', w.now)}
      where ${w.where}
      order by s.renews_on, s.id`,
    w.params,
  );
  if (rows.length === 0) return [];
  const current = await currentAgreements(em, [...new Set(rows.map((r) => r.country))], now);
  return rows.map((r) => toCandidate(r, now, current));
}

/** What a page of risks reads: the fact sets of the whole window with their sizes, and a way to read candidates of chosen sets. */
export interface RenewalWindow {
  groups: FactGroup[];
  /**
   * Up to `limit` candidates after `after` whose fact set is one of `keys`, in (renewsOn, id)
   * order, each with the records it names (`records`). One statement.
   */
  candidatesOf(keys: string[], after: CandidateCursor | null, limit: number): Promise<RenewalCandidate[]>;
}

/**
 * The window's distinct fact sets and how many candidates share each: two
 * statements (the grouped facts, then the current agreements of their countries).
 * The candidates are first counted per (customer, partner, reseller), whose facts are
 * the same; for every partner's window (thousands) the facts are then asked of whole
 * tables at once, for a narrower scope (hundreds) as index probes.
 */
export async function loadRenewalWindow(em: EntityManager, scope: SqlCondition, withinDays: number, now: Date = new Date()): Promise<RenewalWindow> {
  const w = windowSql(scope, withinDays, now);
  const facts = scope.wide ? `${hashedFactColumns('x')} from triples x ${hashedFactJoins('x', w.now)}` : `f.* from triples x ${probedFacts('x', w.now)}`;
  const rows = await queryRows<FactColumns & { key: string; n: number }>(
    em,
    `with triples as (select s.customer_id, s.partner_id, s.reseller_id, count(*)::int as n from subscriptions s where ${w.where}
                       group by s.customer_id, s.partner_id, s.reseller_id)
     select ${factKey('g')} as key, g.country, g.cloud, g.active_rank, g.withdrawn, g.existing, g.resold, g.linked, g.serving, g.n
       from (select f.country, f.cloud, f.active_rank, f.withdrawn, f.existing, f.resold, f.linked, f.serving, sum(f.n)::int as n
               from (select x.n, ${facts}) f
              group by f.country, f.cloud, f.active_rank, f.withdrawn, f.existing, f.resold, f.linked, f.serving) g`,
    w.params,
  );
  const current = await currentAgreements(em, [...new Set(rows.map((r) => r.country))], now);
  return {
    groups: rows.map((r) => ({ key: r.key, n: Number(r.n), facts: factsOf(r, now, current) })),
    async candidatesOf(keys, after, limit) {
      if (keys.length === 0) return [];
      const params = [...w.params];
      const at = (value: unknown) => `$${params.push(value)}`;
      const from = after ? `and (s.renews_on, s.id) > (${at(after.renewsOn)}::date, ${at(after.subscriptionId)}::uuid)` : '';
      // The candidates in order (kept whole by `offset 0`), each with its facts asked as it is read, up to the page.
      const page = await queryRows<PageRow>(
        em,
        `select x.*, ${PARTNER_AS('p', 'p_')}, ${PARTNER_AS('rp', 'rp_')}
           from (select s.id, to_char(s.renews_on, 'YYYY-MM-DD') as renews_on, s.customer_id, s.partner_id, s.reseller_id,
                        s.offer_id, s.seats, s.status, s.created_at, s.cancelled_at, f.*
                   from (select s.* from subscriptions s where ${w.where} ${from} order by s.renews_on, s.id offset 0) s
                   ${probedFacts('s', w.now)}
                  where ${factKey('f')} = any(array(select jsonb_array_elements_text(${at(JSON.stringify(keys))}::jsonb)))
                  order by s.renews_on, s.id
                  limit ${at(limit)}) x
           join partners p on p.id = x.partner_id
           left join partners rp on rp.id = x.reseller_id
          order by x.renews_on, x.id`,
        params,
      );
      return page.map((r) => ({ ...toCandidate(r, now, current), records: recordsOf(r) }));
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
