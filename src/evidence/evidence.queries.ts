import type { EntityManager } from '@mikro-orm/postgresql';
import type { AgreementType } from '../agreements/agreement.enums';
import type { EvidenceSource } from '../acceptance/acceptance.enums';
import { Contact } from '../common/contact';
import { queryRows } from '../db/query';
import { DocumentStatus } from './evidence.enums';
import type { AcceptanceEvidence, UpstreamExchange } from './evidence.types';

/**
 * The evidence feature's SQL: a confirmation's evidence (the acceptance, its template and its
 * `acceptance_evidence` row) and the upstream exchanges about it (`partner_center_exchanges`,
 * the protocol's log: those naming the acceptance, and those of the attestation it came from).
 */

export interface EvidenceRow {
  id: string;
  customer_id: string;
  partner_id: string;
  source: EvidenceSource;
  recorded_at: string;
  confirmed_by_id: string;
  contact_first_name: string;
  contact_last_name: string;
  contact_email: string;
  contact_phone_number: string | null;
  attestation_id: string | null;
  template_id: string;
  type: AgreementType;
  version: string;
  template_country: string;
  template_language: string;
  display_uri: string;
  reconstructed: boolean | null;
  document_status: DocumentStatus | null;
  document_uri: string | null;
  document_sha256: string | null;
  document_country: string | null;
  document_language: string | null;
  document_fetched_at: string | null;
  document_error: string | null;
}

const EVIDENCE_COLUMNS = `a.id, a.customer_id, a.partner_id, a.source, a.recorded_at, a.confirmed_by_id, a.contact_first_name, a.contact_last_name, a.contact_email,
       a.contact_phone_number, a.attestation_id, t.template_id, t.type, t.version, t.country as template_country, t.language as template_language, t.display_uri,
       e.reconstructed, e.document_status, e.document_uri, e.document_sha256, e.document_country, e.document_language, e.document_fetched_at, e.document_error`;
const EVIDENCE_FROM = `acceptances a join agreement_templates t on t.template_id = a.template_id left join acceptance_evidence e on e.acceptance_id = a.id`;

/** Evidence of the acceptances named by one `?::uuid[]`. */
export const EVIDENCE_BY_ID = `select ${EVIDENCE_COLUMNS} from ${EVIDENCE_FROM} where a.id = any(?::uuid[])`;

/** Evidence of every confirmation of a (customer, partner) pair, oldest first. */
export const EVIDENCE_OF_PAIR = `select ${EVIDENCE_COLUMNS} from ${EVIDENCE_FROM} where a.customer_id = ? and a.partner_id = ? order by a.recorded_at, a.id`;

export function evidenceOf(r: EvidenceRow): AcceptanceEvidence {
  const fetched = r.document_status === DocumentStatus.FETCHED;
  return {
    acceptanceId: r.id,
    source: r.source,
    recordedAt: new Date(r.recorded_at),
    recordedById: r.confirmed_by_id,
    attestationId: r.attestation_id,
    signatory: Object.assign(new Contact(), { firstName: r.contact_first_name, lastName: r.contact_last_name, email: r.contact_email, phoneNumber: r.contact_phone_number }),
    // No evidence row: a confirmation written outside the gateway's writers; known facts only.
    reconstructed: r.reconstructed ?? true,
    document: {
      templateId: r.template_id,
      type: r.type,
      version: r.version,
      country: (fetched && r.document_country) || r.template_country,
      language: (fetched && r.document_language) || r.template_language,
      uri: r.document_uri ?? r.display_uri,
      sha256: r.document_sha256,
      fetchedAt: r.document_fetched_at ? new Date(r.document_fetched_at) : null,
      status: r.document_status ?? DocumentStatus.NOT_FETCHED,
      error: r.document_error,
    },
  };
}

export interface ExchangeOfAcceptanceRow {
  about: string;
  at: string;
  operation: string;
  request_id: string | null;
  correlation_id: string | null;
  http_status: number | null;
  code: string | null;
  outcome: string;
}

/**
 * The exchanges about the acceptances named by one `?::uuid[]` (column `about`): those naming
 * the acceptance, and those of the attestation it came from; oldest first.
 */
export const EXCHANGES_OF_ACCEPTANCES = `select a.id as about, x.at, x.operation, x.request_id, x.correlation_id, x.http_status, x.code, x.outcome
  from acceptances a
  join lateral (select * from partner_center_exchanges x where x.acceptance_id = a.id
                union all
                select * from partner_center_exchanges x where a.attestation_id is not null and x.attestation_id = a.attestation_id and x.acceptance_id is distinct from a.id) x on true
 where a.id = any(?::uuid[])
 order by a.id, x.at, x.id`;

export const exchangeOf = (r: ExchangeOfAcceptanceRow): UpstreamExchange => ({
  at: new Date(r.at),
  operation: r.operation,
  requestId: r.request_id,
  correlationId: r.correlation_id,
  httpStatus: r.http_status,
  code: r.code,
  outcome: r.outcome,
});

/** The exchanges about each acceptance, in one statement. */
export async function exchangesOfAcceptances(em: EntityManager, ids: readonly string[]): Promise<Map<string, UpstreamExchange[]>> {
  const rows = await queryRows<ExchangeOfAcceptanceRow>(em, EXCHANGES_OF_ACCEPTANCES, [ids]);
  const by = new Map<string, UpstreamExchange[]>();
  for (const r of rows) {
    const list = by.get(r.about) ?? [];
    list.push(exchangeOf(r));
    by.set(r.about, list);
  }
  return by;
}
