import type { AgreementTemplate } from '../agreements/agreement.entity';
import { AgreementType } from '../agreements/agreement.enums';
import { currentKey, currentTemplates, currentTemplatesSql, preferredTranslation } from '../agreements/agreement.queries';
import { languageOfCountry } from '../agreements/current';
import type { Channel } from '../acceptance/acceptance.enums';
import { CloudInstance } from '../customers/customer.enums';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AcceptanceState, GateFacts } from './gate';
import type { TransactionKind } from './transaction.enums';

/**
 * What the gate needs, gathered in SQL and mapped to `GateFacts` in one place, for an
 * attempt and its dry run (transaction.facts.ts, one order) and for renewal risks and the
 * renewal scan (renewals/renewal.facts.ts, many subscriptions). SQL only gathers facts;
 * the pure `decide` of gate.ts judges them. A new fact is a new column here: in
 * `GateFactColumns`, in both ways of asking (`probedGateFacts`, `hashedGateFacts`) and in
 * `gateFactsOf`.
 */

/** The gate's facts with the template it names as required. */
export interface LoadedFacts extends GateFacts {
  currentAgreement: AgreementTemplate | null;
}

/** The columns the gate's facts are made of, as every statement gathering them selects them. */
export interface GateFactColumns {
  /** The customer's country, upper case (the current agreement depends on it). */
  country: string;
  cloud: CloudInstance;
  /** The rank of the template of the billing partner's active confirmation, if any. */
  active_rank: number | null;
  /** Whether a confirmation by the billing partner was withdrawn. */
  withdrawn: boolean;
  /** Whether the customer has a COMPLETED order with the billing partner before the order's time; null when not asked. */
  existing: boolean | null;
  /** Whether the order is placed through a reseller. */
  resold: boolean;
  /** The reseller is linked to the billing partner (false without a reseller). */
  linked: boolean;
  /** The reseller serves the customer for the billing partner (false without a reseller). */
  serving: boolean;
}

/** The column names of `GateFactColumns`, in the order the statements select them. */
export const GATE_FACT_COLUMNS = ['country', 'cloud', 'active_rank', 'withdrawn', 'existing', 'resold', 'linked', 'serving'] as const;

/** SQL expressions naming whose facts are asked: the customer, its billing partner and the reseller (may be null). */
export interface FactSubjects {
  customer: string;
  partner: string;
  reseller: string;
}

/** The agreement type the gate asks for (DESIGN.md section 3). */
export const GATED_AGREEMENT_TYPE = AgreementType.MICROSOFT_CLOUD_AGREEMENT;

/** The reseller's facts (`linked`, `serving`), asked (as index probes) only when there is a reseller. */
const resellerFacts = (s: FactSubjects) => `
      case when ${s.reseller} is null then false
           else exists (select 1 from reseller_links l where l.reseller_id = ${s.reseller} and l.provider_id = ${s.partner}) end as linked,
      case when ${s.reseller} is null then false
           else exists (select 1 from customer_relationships r join customer_relationship_resellers rr on rr.relationship_id = r.id
                         where r.customer_id = ${s.customer} and r.partner_id = ${s.partner} and rr.reseller_id = ${s.reseller}) end as serving`;

/**
 * The facts other than the customer's own columns, as select-list items, each an index
 * probe: for one order, or for a few hundred rows. `before` is the SQL expression of
 * the order time for `existing`; null leaves it unasked (null).
 */
export const probedGateFacts = (s: FactSubjects, before: string | null) => `
      (select t.version_rank from acceptances a join agreement_templates t on t.template_id = a.template_id
        where a.customer_id = ${s.customer} and a.partner_id = ${s.partner} and a.status = 'ACTIVE') as active_rank,
      coalesce((select true from acceptances w where w.customer_id = ${s.customer} and w.partner_id = ${s.partner} and w.status = 'WITHDRAWN' limit 1), false) as withdrawn,
      ${
        before
          ? `coalesce((select true from orders o where o.customer_id = ${s.customer} and o.partner_id = ${s.partner} and o.outcome = 'COMPLETED'
              and o.requested_at < ${before} limit 1), false)`
          : 'null::boolean'
      } as existing,
      ${s.reseller} is not null as resold, ${resellerFacts(s)}`;

/**
 * Every fact of `GateFactColumns` for thousands of rows of the table `table` aliased `x`
 * (with `customer_id`, `partner_id`, `reseller_id`), asked of whole tables: the customers
 * and the active confirmations (with their templates) are read once and hashed, then
 * joined; the (customer, partner) pairs with a withdrawal are hashed once for an IN. The
 * reseller's facts stay probes, asked only of rows with a reseller; whether the customer
 * is an existing one (a pass over every completed order, the largest table) only when
 * `before` is given. The facts are the select list, the joins the FROM.
 */
export const hashedGateFacts = (table: string, x: string, before: string | null) => `upper(c.country) as country, c.cloud, t.version_rank as active_rank,
      (${x}.customer_id, ${x}.partner_id) in (select w.customer_id, w.partner_id from acceptances w where w.status = 'WITHDRAWN') as withdrawn,
      ${before ? 'ex.customer_id is not null' : 'null::boolean'} as existing,
      ${x}.reseller_id is not null as resold, ${resellerFacts({ customer: `${x}.customer_id`, partner: `${x}.partner_id`, reseller: `${x}.reseller_id` })}
    from ${table} ${x}
    join customers c on c.id = ${x}.customer_id
    -- At most one active confirmation per (customer, partner): a unique index says so.
    left join (acceptances a join agreement_templates t on t.template_id = a.template_id)
           on a.customer_id = ${x}.customer_id and a.partner_id = ${x}.partner_id and a.status = 'ACTIVE'
    ${
      before
        ? `left join (select distinct o.customer_id, o.partner_id from orders o where o.outcome = 'COMPLETED' and o.requested_at < ${before}) ex
             on ex.customer_id = ${x}.customer_id and ex.partner_id = ${x}.partner_id`
        : ''
    }`;

/** The current version's translations for the customer whose country is `country` on `day` (SQL expressions), as a JSON array of template rows. */
export const currentAgreementJson = (country: string, day: string) =>
  `(select json_agg(row_to_json(t)) from ${currentTemplatesSql(`'${GATED_AGREEMENT_TYPE}'`, country, day)} t)`;

/** The most likely language per country code (Intl's likely subtags), computed once per code. */
const languages = new Map<string, string | null>();
function languageOf(country: string): string | null {
  let language = languages.get(country);
  if (language === undefined) {
    language = languageOfCountry(country);
    if (languages.size < 1_000) languages.set(country, language);
  }
  return language;
}

/**
 * The agreement a customer of `country` must have accepted, among the current version's
 * translations: any translation satisfies the gate; the one named as requiredAgreement
 * is in the country's language where one exists.
 */
export function requiredAgreement(translations: readonly AgreementTemplate[], country: string): AgreementTemplate | null {
  return preferredTranslation(translations, languageOf(country));
}

/** The required agreement per country on `day` (YYYY-MM-DD), in one statement. */
export async function requiredAgreements(em: EntityManager, countries: string[], day: string): Promise<Map<string, AgreementTemplate | null>> {
  if (countries.length === 0) return new Map();
  const current = await currentTemplates(em, countries.map((country) => ({ type: GATED_AGREEMENT_TYPE, country })), day);
  return new Map(countries.map((country) => [country, requiredAgreement(current.get(currentKey(GATED_AGREEMENT_TYPE, country)) ?? [], country)]));
}

/** The gate's facts of an order of `kind` over `channel` at `requestedAt`, from the columns gathered for it. */
export function gateFactsOf(
  r: GateFactColumns,
  order: { kind: TransactionKind; channel: Channel; requestedAt: Date },
  currentAgreement: AgreementTemplate | null,
): LoadedFacts {
  const acceptance: AcceptanceState =
    r.active_rank !== null && r.active_rank !== undefined
      ? { status: 'ACTIVE', templateRank: Number(r.active_rank) }
      : r.withdrawn
        ? { status: 'WITHDRAWN' }
        : { status: 'NONE' };
  return {
    kind: order.kind,
    channel: order.channel,
    requestedAt: order.requestedAt,
    nationalCloud: r.cloud !== CloudInstance.PUBLIC,
    acceptance,
    currentAgreement,
    existingCustomer: r.existing ?? false,
    reseller: r.resold ? { linkedToProvider: r.linked, servesCustomer: r.serving } : null,
  };
}
