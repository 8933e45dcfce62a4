import type { EntityManager } from '@mikro-orm/postgresql';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { AgreementType, GLOBAL } from '../agreements/agreement.enums';
import { currentTemplate, languageOfCountry, todayUtc } from '../agreements/current';
import { Channel } from '../acceptance/acceptance.enums';
import { CloudInstance } from '../customers/customer.enums';
import type { AcceptanceState } from '../transactions/gate';
import type { LoadedFacts } from '../transactions/transaction.facts';
import { TransactionKind } from '../transactions/transaction.enums';

/**
 * The gate's facts for the RENEWAL of many subscriptions at once, asked in SQL with
 * the same questions `loadGateFacts` in src/transactions/transaction.facts.ts asks for
 * one order (correlated subqueries per candidate). The answer is the same
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
   * Keeps every partner's subscriptions (thousands in a window): the facts may then be
   * asked set-based (the planner hashes whole tables). Otherwise, for one partner's
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

interface CandidatesOptions {
  /**
   * For a page: in (renewsOn, id) order, after `after` when given, and each fact asked
   * per candidate as rows are read (an index probe), so that a filter and a limit
   * above read candidates only as far as the page needs. Without it the planner is
   * free to join and hash whole tables, which is cheaper for the whole window.
   */
  page: { after: CandidateCursor | null } | null;
}

/**
 * A FROM clause: active subscriptions renewing from today to today + `withinDays`
 * (inclusive) that `scope` keeps, as `s`, each with its facts as `f`.
 */
function candidatesSql(scope: SqlCondition, withinDays: number, now: Date, { page }: CandidatesOptions): SqlCondition {
  const today = todayUtc(now);
  const probe = page !== null || !scope.wide;
  const params: unknown[] = [today, addDays(today, withinDays), ...scope.params];
  let from = '';
  if (page?.after) {
    from = 'and (s.renews_on, s.id) > (?::date, ?::uuid)';
    params.push(page.after.renewsOn, page.after.subscriptionId);
  }
  params.push(now);
  // A scalar subquery is always a per-row probe; PostgreSQL may turn an EXISTS into a hash of the whole table.
  const exists = (sql: string) => (probe ? `coalesce((${sql.replace(/^select 1/, 'select true')} limit 1), false)` : `exists (${sql})`);
  // The candidates `s` (for a page: ordered, kept whole by `offset 0`), then their facts `f` (with their customers' country and cloud).
  const country = probe ? '(select upper(c.country) from customers c where c.id = s.customer_id)' : 's.customer_country';
  const cloud = probe ? '(select c.cloud from customers c where c.id = s.customer_id)' : 's.customer_cloud';
  const sql = `(select s.id, s.renews_on as renews_day, s.customer_id, s.partner_id, s.reseller_id
                  ${probe ? '' : ', upper(c.country) as customer_country, c.cloud as customer_cloud'}
             from subscriptions s ${probe ? '' : 'join customers c on c.id = s.customer_id'}
            where s.status = 'ACTIVE' and s.renews_on >= ?::date and s.renews_on <= ?::date and ${scope.sql} ${from}
            ${page ? 'order by s.renews_on, s.id offset 0' : ''}) s
     cross join lateral (select to_char(s.renews_day, 'YYYY-MM-DD') as renews_on,
       ${country} as country, ${cloud} as cloud,
       (select t.version_rank from acceptances a join agreement_templates t on t.template_id = a.template_id
         where a.customer_id = s.customer_id and a.partner_id = s.partner_id and a.status = 'ACTIVE') as active_rank,
       ${exists(`select 1 from acceptances w where w.customer_id = s.customer_id and w.partner_id = s.partner_id and w.status = 'WITHDRAWN'`)} as withdrawn,
       ${exists(`select 1 from orders o where o.customer_id = s.customer_id and o.partner_id = s.partner_id and o.outcome = 'COMPLETED' and o.requested_at < ?`)} as existing,
       s.reseller_id is not null as resold,
       ${exists(`select 1 from reseller_links l where l.reseller_id = s.reseller_id and l.provider_id = s.partner_id`)} as linked,
       ${exists(`select 1 from customer_relationships r join customer_relationship_resellers rr on rr.relationship_id = r.id
                  where r.customer_id = s.customer_id and r.partner_id = s.partner_id and rr.reseller_id = s.reseller_id`)} as serving) f`;
  return { sql, params };
}

/** The current agreement of each country, as `loadGateFacts` selects it. One statement. */
async function currentAgreements(em: EntityManager, countries: string[], now: Date): Promise<Map<string, AgreementTemplate | null>> {
  if (countries.length === 0) return new Map();
  const today = todayUtc(now);
  const templates = await em.find(AgreementTemplate, {
    type: AgreementType.MICROSOFT_CLOUD_AGREEMENT,
    country: { $in: [...countries, GLOBAL] },
    effectiveFrom: { $lte: today },
  });
  return new Map(
    // The same selection as loadGateFacts: the translation in the country's language names the requirement.
    countries.map((country) => [
      country,
      currentTemplate(templates, { type: AgreementType.MICROSOFT_CLOUD_AGREEMENT, country, language: languageOfCountry(country), today }),
    ]),
  );
}

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
 * statements however many there are. The scan judges them all.
 */
export async function loadRenewalCandidates(em: EntityManager, scope: SqlCondition, withinDays: number, now: Date = new Date()): Promise<RenewalCandidate[]> {
  const q = candidatesSql(scope, withinDays, now, { page: null });
  const rows = await em.getConnection().execute<Row[]>(`select s.*, f.* from ${q.sql} order by s.renews_day, s.id`, q.params, 'all', em.getTransactionContext());
  if (rows.length === 0) return [];
  const current = await currentAgreements(em, [...new Set(rows.map((r) => r.country))], now);
  return rows.map((r) => toCandidate(r, now, current));
}

/** What a page of risks reads: the fact sets of the whole window with their sizes, and a way to read candidates of chosen sets. */
export interface RenewalWindow {
  groups: FactGroup[];
  /** Up to `limit` candidates after `after` whose fact set is one of `keys`, in (renewsOn, id) order. One statement. */
  candidatesOf(keys: string[], after: CandidateCursor | null, limit: number): Promise<RenewalCandidate[]>;
}

/**
 * The window's distinct fact sets and how many candidates share each: two
 * statements (the grouped facts, then the current agreements of their countries).
 */
export async function loadRenewalWindow(em: EntityManager, scope: SqlCondition, withinDays: number, now: Date = new Date()): Promise<RenewalWindow> {
  const all = candidatesSql(scope, withinDays, now, { page: null });
  const rows = await em.getConnection().execute<(FactColumns & { key: string; n: number })[]>(
    `select ${factKey('g')} as key, g.*
       from (select f.country, f.cloud, f.active_rank, f.withdrawn, f.existing, f.resold, f.linked, f.serving, count(*)::int as n
               from ${all.sql}
              group by f.country, f.cloud, f.active_rank, f.withdrawn, f.existing, f.resold, f.linked, f.serving) g`,
    all.params,
    'all',
    em.getTransactionContext(),
  );
  const current = await currentAgreements(em, [...new Set(rows.map((r) => r.country))], now);
  return {
    groups: rows.map((r) => ({ key: r.key, n: Number(r.n), facts: factsOf(r, now, current) })),
    async candidatesOf(keys, after, limit) {
      if (keys.length === 0) return [];
      const q = candidatesSql(scope, withinDays, now, { page: { after } });
      const page = await em.getConnection().execute<Row[]>(
        `select s.*, f.* from ${q.sql}
          where ${factKey('f')} = any(array(select jsonb_array_elements_text(?::jsonb)))
          order by s.renews_day, s.id limit ?`,
        [...q.params, JSON.stringify(keys), limit],
        'all',
        em.getTransactionContext(),
      );
      return page.map((r) => toCandidate(r, now, current));
    },
  };
}
