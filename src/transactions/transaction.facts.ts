import type { EntityManager } from '@mikro-orm/postgresql';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { AgreementType, GLOBAL } from '../agreements/agreement.enums';
import { currentTemplate, languageOfCountry, todayUtc } from '../agreements/current';
import { Channel } from '../acceptance/acceptance.enums';
import type { Customer } from '../customers/customer.entity';
import { CloudInstance } from '../customers/customer.enums';
import type { AcceptanceState, GateFacts } from './gate';
import type { TransactionKind } from './transaction.enums';

export interface FactsQuery {
  customer: Customer;
  partnerId: string;
  resellerId: string | null;
  kind: TransactionKind;
  channel: Channel;
  requestedAt: Date;
}

export interface LoadedFacts extends GateFacts {
  currentAgreement: AgreementTemplate | null;
}

/**
 * Reads what the gate decides on, in two statements; the decision itself is the
 * pure `decide` in gate.ts. "Now" for the current agreement and for "existing
 * customer" is the order's business time, so replayed history is judged as it stood.
 */
export async function loadGateFacts(em: EntityManager, q: FactsQuery): Promise<LoadedFacts> {
  const conn = em.getConnection();
  const tx = em.getTransactionContext();
  const [row] = await conn.execute<{ active_rank: number | null; withdrawn: boolean; existing: boolean; linked: boolean; serving: boolean }[]>(
    `select
       (select t.version_rank from acceptances a join agreement_templates t on t.template_id = a.template_id
         where a.customer_id = ? and a.partner_id = ? and a.status = 'ACTIVE') as active_rank,
       exists (select 1 from acceptances w where w.customer_id = ? and w.partner_id = ? and w.status = 'WITHDRAWN') as withdrawn,
       exists (select 1 from orders o where o.customer_id = ? and o.partner_id = ? and o.outcome = 'COMPLETED' and o.requested_at < ?) as existing,
       exists (select 1 from reseller_links l where l.reseller_id = ? and l.provider_id = ?) as linked,
       exists (select 1 from customer_relationships r join customer_relationship_resellers rr on rr.relationship_id = r.id
                where r.customer_id = ? and r.partner_id = ? and rr.reseller_id = ?) as serving`,
    [
      q.customer.id, q.partnerId,
      q.customer.id, q.partnerId,
      q.customer.id, q.partnerId, q.requestedAt,
      q.resellerId, q.partnerId,
      q.customer.id, q.partnerId, q.resellerId,
    ],
    'all',
    tx,
  );
  const today = todayUtc(q.requestedAt);
  const templates = await em.find(AgreementTemplate, {
    type: AgreementType.MICROSOFT_CLOUD_AGREEMENT,
    country: { $in: [q.customer.country.toUpperCase(), GLOBAL] },
    effectiveFrom: { $lte: today },
  });
  const acceptance: AcceptanceState =
    row.active_rank !== null && row.active_rank !== undefined
      ? { status: 'ACTIVE', templateRank: Number(row.active_rank) }
      : row.withdrawn
        ? { status: 'WITHDRAWN' }
        : { status: 'NONE' };
  return {
    kind: q.kind,
    channel: q.channel,
    requestedAt: q.requestedAt,
    nationalCloud: q.customer.cloud !== CloudInstance.PUBLIC,
    acceptance,
    // Any translation of the current version satisfies the gate; the one named as
    // requiredAgreement is in the customer's country's language where one exists.
    currentAgreement: currentTemplate(templates, {
      type: AgreementType.MICROSOFT_CLOUD_AGREEMENT,
      country: q.customer.country,
      language: languageOfCountry(q.customer.country),
      today,
    }),
    existingCustomer: row.existing,
    reseller: q.resellerId ? { linkedToProvider: row.linked, servesCustomer: row.serving } : null,
  };
}
