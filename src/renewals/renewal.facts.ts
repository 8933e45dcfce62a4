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
 * The gate's facts for the RENEWAL of many subscriptions at once, in two statements
 * however many there are: one reads every candidate with its acceptance, order and
 * reseller facts (correlated subqueries, the same questions `loadGateFacts` in
 * src/transactions/transaction.facts.ts asks for one order), one reads the effective
 * templates of their countries. The answer is the same `LoadedFacts` type, so the
 * pure `decide` of src/transactions/gate.ts judges both alike.
 *
 * A renewal is judged as it would be placed: by the subscription's billing partner,
 * through the reseller it was sold through (if any), over the API, at `now`.
 */

/** A SQL condition on `subscriptions s` (and `customers c`) with its parameters. */
export interface SqlCondition {
  sql: string;
  params: unknown[];
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

interface Row {
  id: string;
  renews_on: string;
  customer_id: string;
  partner_id: string;
  reseller_id: string | null;
  country: string;
  cloud: CloudInstance;
  active_rank: number | null;
  withdrawn: boolean;
  existing: boolean;
  linked: boolean;
  serving: boolean;
}

/** Adds whole days to a YYYY-MM-DD date. */
export function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/**
 * Active subscriptions renewing from today to today + `withinDays` (inclusive) that
 * `scope` keeps, in (renewsOn, id) order, each with its facts.
 */
export async function loadRenewalCandidates(em: EntityManager, scope: SqlCondition, withinDays: number, now: Date = new Date()): Promise<RenewalCandidate[]> {
  const today = todayUtc(now);
  const rows = await em.getConnection().execute<Row[]>(
    `select s.id, to_char(s.renews_on, 'YYYY-MM-DD') as renews_on, s.customer_id, s.partner_id, s.reseller_id, c.country, c.cloud,
       (select t.version_rank from acceptances a join agreement_templates t on t.template_id = a.template_id
         where a.customer_id = s.customer_id and a.partner_id = s.partner_id and a.status = 'ACTIVE') as active_rank,
       exists (select 1 from acceptances w where w.customer_id = s.customer_id and w.partner_id = s.partner_id and w.status = 'WITHDRAWN') as withdrawn,
       exists (select 1 from orders o where o.customer_id = s.customer_id and o.partner_id = s.partner_id and o.outcome = 'COMPLETED' and o.requested_at < ?) as existing,
       exists (select 1 from reseller_links l where l.reseller_id = s.reseller_id and l.provider_id = s.partner_id) as linked,
       exists (select 1 from customer_relationships r join customer_relationship_resellers rr on rr.relationship_id = r.id
                where r.customer_id = s.customer_id and r.partner_id = s.partner_id and rr.reseller_id = s.reseller_id) as serving
     from subscriptions s join customers c on c.id = s.customer_id
     where s.status = 'ACTIVE' and s.renews_on >= ?::date and s.renews_on <= ?::date and ${scope.sql}
     order by s.renews_on, s.id`,
    [now, today, addDays(today, withinDays), ...scope.params],
    'all',
    em.getTransactionContext(),
  );
  if (rows.length === 0) return [];
  const countries = [...new Set(rows.map((r) => r.country.toUpperCase()))];
  const templates = await em.find(AgreementTemplate, {
    type: AgreementType.MICROSOFT_CLOUD_AGREEMENT,
    country: { $in: [...countries, GLOBAL] },
    effectiveFrom: { $lte: today },
  });
  const currentByCountry = new Map(
    // The same selection as loadGateFacts: the translation in the country's language names the requirement.
    countries.map((country) => [
      country,
      currentTemplate(templates, { type: AgreementType.MICROSOFT_CLOUD_AGREEMENT, country, language: languageOfCountry(country), today }),
    ]),
  );
  return rows.map((r) => {
    const acceptance: AcceptanceState =
      r.active_rank !== null && r.active_rank !== undefined
        ? { status: 'ACTIVE', templateRank: Number(r.active_rank) }
        : r.withdrawn
          ? { status: 'WITHDRAWN' }
          : { status: 'NONE' };
    return {
      subscriptionId: r.id,
      renewsOn: r.renews_on,
      customerId: r.customer_id,
      partnerId: r.partner_id,
      resellerId: r.reseller_id,
      facts: {
        kind: TransactionKind.RENEWAL,
        channel: Channel.API,
        requestedAt: now,
        nationalCloud: r.cloud !== CloudInstance.PUBLIC,
        acceptance,
        currentAgreement: currentByCountry.get(r.country.toUpperCase()) ?? null,
        existingCustomer: r.existing,
        reseller: r.reseller_id ? { linkedToProvider: r.linked, servesCustomer: r.serving } : null,
      },
    };
  });
}
