import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';
import { jobWriter, transactionDb } from '../partner-center/outbox';

/**
 * Evidence of new confirmations (DESIGN.md section 13), written in the transaction that
 * records them (src/acceptance/acceptance.service.ts, recordConfirmations): one
 * `acceptance_evidence` row each, and for a Customer Agreement confirmed by a partner with a
 * Partner Center connection, a job that fetches and hashes the document shown (the vendor's
 * links live 5 minutes: src/evidence/evidence.document.ts). Others are NOT_FETCHED: the
 * Cloud Agreement has no document endpoint, and without a connection there is no token.
 */

export const DOCUMENT_QUEUE = 'evidence-document';

export interface DocumentJobData {
  acceptanceId: string;
  partnerId: string;
}

export async function recordEvidence(tx: EntityManager, acceptanceIds: readonly string[]): Promise<void> {
  if (acceptanceIds.length === 0) return;
  const rows = await queryRows<{ acceptance_id: string; partner_id: string; document_status: string }>(
    tx,
    `insert into acceptance_evidence (acceptance_id, reconstructed, document_status, document_uri, document_country, document_language, attempts, created_at)
     select a.id, false,
            case when c.cloud = 'PUBLIC' and t.type = 'MICROSOFT_CUSTOMER_AGREEMENT'
                      and exists (select 1 from partner_center_connections pc where pc.partner_id = a.partner_id) then 'PENDING' else 'NOT_FETCHED' end,
            t.display_uri, c.country, t.language, 0, clock_timestamp()
       from acceptances a join customers c on c.id = a.customer_id join agreement_templates t on t.template_id = a.template_id
      where a.id = any(?::uuid[])
     on conflict (acceptance_id) do nothing
     returning acceptance_id, (select a.partner_id from acceptances a where a.id = acceptance_id) as partner_id, document_status`,
    [acceptanceIds],
  );
  const jobs = rows.filter((r) => r.document_status === 'PENDING').map((r) => ({ name: DOCUMENT_QUEUE, data: { acceptanceId: r.acceptance_id, partnerId: r.partner_id } }));
  for (let i = 0; i < jobs.length; i += 1000) await jobWriter.insert(jobs.slice(i, i + 1000), { db: transactionDb(tx) });
}
