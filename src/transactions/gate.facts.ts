import type { AgreementTemplate } from '../agreements/agreement.entity';
import { AgreementType } from '../agreements/agreement.enums';
import { currentKey, currentTemplates, currentTemplatesSql, preferredTranslation } from '../agreements/agreement.queries';
import { languageOfCountry } from '../agreements/current';
import type { Channel } from '../acceptance/acceptance.enums';
import { CloudInstance } from '../customers/customer.enums';
import type { EntityManager } from '@mikro-orm/postgresql';
import { gateRequiredType, type AcceptanceState, type DirectAcceptanceFact, type GateFacts } from './gate';
import { firstRule, ruleInForce, type PolicyRule } from '../policy/policy.rules';
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
  /** The customer's direct acceptance (type, YYYY-MM-DD), if any. */
  direct_type: AgreementType | null;
  direct_on: string | null;
  /** The rank of the template of the billing partner's active confirmation, if any. */
  active_rank: number | null;
  /** Its template's type and its acceptance date (YYYY-MM-DD). */
  active_type: AgreementType | null;
  active_date: string | null;
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
export const GATE_FACT_COLUMNS = [
  'country', 'cloud', 'direct_type', 'direct_on', 'active_rank', 'active_type', 'active_date', 'withdrawn', 'existing', 'resold', 'linked', 'serving',
] as const;

/** The customer's own facts (columns of `customers` aliased `c`), as select-list items. */
export const customerGateFacts = (c: string) =>
  `upper(${c}.country) as country, ${c}.cloud, ${c}.direct_acceptance_type as direct_type, to_char(${c}.direct_accepted_on, 'YYYY-MM-DD') as direct_on`;

/** SQL expressions naming whose facts are asked: the customer, its billing partner and the reseller (may be null). */
export interface FactSubjects {
  customer: string;
  partner: string;
  reseller: string;
}

/** Every agreement type: the current template of each is gathered, and the rule in force says which is required. */
const AGREEMENT_TYPES = Object.values(AgreementType);

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
const activeProbe = (s: FactSubjects, what: string) => `(select ${what} from acceptances a join agreement_templates t on t.template_id = a.template_id
        where a.customer_id = ${s.customer} and a.partner_id = ${s.partner} and a.status = 'ACTIVE')`;
export const probedGateFacts = (s: FactSubjects, before: string | null) => `
      ${activeProbe(s, 't.version_rank')} as active_rank, ${activeProbe(s, 't.type')} as active_type,
      ${activeProbe(s, `to_char(a.date_agreed, 'YYYY-MM-DD')`)} as active_date,
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
export const hashedGateFacts = (table: string, x: string, before: string | null) => `${customerGateFacts('c')},
      t.version_rank as active_rank, t.type as active_type, to_char(a.date_agreed, 'YYYY-MM-DD') as active_date,
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

/** The current version's translations of every type for the customer whose country is `country` on `day` (SQL expressions), as a JSON array of template rows. */
export const currentAgreementJson = (country: string, day: string) =>
  `(select json_agg(row_to_json(t)) from (${AGREEMENT_TYPES.map((type) => `select * from ${currentTemplatesSql(`'${type}'`, country, day)}`).join(' union all ')}) t)`;

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
 * The agreement of `type` a customer of `country` must have accepted, among the current
 * versions' translations (of every type): any translation satisfies the gate; the one
 * named as requiredAgreement is in the country's language where one exists.
 */
export function requiredAgreement(translations: readonly AgreementTemplate[], country: string, type: AgreementType | null): AgreementTemplate | null {
  if (!type) return null;
  return preferredTranslation(translations.filter((t) => t.type === type), languageOf(country));
}

/** The current versions' translations of every type per country on `day` (YYYY-MM-DD), in one statement. */
export async function currentAgreementsOf(em: EntityManager, countries: string[], day: string): Promise<Map<string, AgreementTemplate[]>> {
  if (countries.length === 0) return new Map();
  const keys = countries.flatMap((country) => AGREEMENT_TYPES.map((type) => ({ type, country })));
  const current = await currentTemplates(em, keys, day);
  return new Map(countries.map((country) => [country, AGREEMENT_TYPES.flatMap((type) => current.get(currentKey(type, country)) ?? [])]));
}

/**
 * The gate's facts of an order of `kind` over `channel` at `requestedAt`, from the columns
 * gathered for it, the current versions' translations for the customer and the policy's
 * rules: the rule in force is picked here (`ruleInForce`), and the current template named
 * is of the type that rule requires (before enforcement, the first rule to come).
 */
export function gateFactsOf(
  r: GateFactColumns,
  order: { kind: TransactionKind; channel: Channel; requestedAt: Date },
  current: readonly AgreementTemplate[],
  rules: readonly PolicyRule[],
): LoadedFacts {
  const acceptance: AcceptanceState =
    r.active_rank !== null && r.active_rank !== undefined
      ? { status: 'ACTIVE', type: r.active_type!, templateRank: Number(r.active_rank), dateAgreed: r.active_date! }
      : r.withdrawn
        ? { status: 'WITHDRAWN' }
        : { status: 'NONE' };
  const directAcceptance: DirectAcceptanceFact | null = r.direct_type && r.direct_on ? { type: r.direct_type, acceptedOn: r.direct_on } : null;
  const rule = ruleInForce(rules, order.channel, order.requestedAt);
  const type = gateRequiredType(rule ?? firstRule(rules, order.channel), acceptance, directAcceptance);
  return {
    kind: order.kind,
    channel: order.channel,
    requestedAt: order.requestedAt,
    nationalCloud: r.cloud !== CloudInstance.PUBLIC,
    acceptance,
    directAcceptance,
    rule,
    currentAgreement: requiredAgreement(current, r.country, type),
    existingCustomer: r.existing ?? false,
    reseller: r.resold ? { linkedToProvider: r.linked, servesCustomer: r.serving } : null,
  };
}
