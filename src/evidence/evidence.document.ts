import { createHash } from 'node:crypto';
import PgBoss from 'pg-boss';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Services } from '../kernel/context';
import { queryRows } from '../db/query';
import { withStartupLock } from '../db/migrate';
import { sessionUrl } from '../db/topology';
import { BOSS_SCHEMA } from '../partner-center/outbox';
import { partnerCenterUpstream } from '../partner-center/sync.engine';
import { UpstreamError } from '../partner-center/upstream';
import { DOCUMENT_QUEUE, type DocumentJobData } from './evidence.outbox';

/**
 * Fetches and hashes the agreement document of a new confirmation (DESIGN.md section 13):
 * `GET /v1/agreementtemplates/{templateId}/document?language=&country=` through the one
 * upstream call (logged in partner_center_exchanges with the acceptance's id), then
 * downloads its `displayUri` (a link valid 5 minutes) and keeps its SHA-256. Any failure
 * is recorded on the evidence (FAILED, the reason, no hash); the confirmation itself
 * never waits on it nor depends on it.
 */

/** Documents larger than this are not hashed (FAILED): an agreement is a few hundred kB. */
const MAX_DOCUMENT_BYTES = 20 * 1024 * 1024;

interface PendingRow {
  template_id: string;
  customer_id: string;
  document_country: string;
  document_language: string;
}

/** What the fetch found: the address, the bytes' SHA-256, the country and language answered. */
export interface FetchedDocument {
  uri: string;
  sha256: string;
  country: string;
  language: string;
}

async function download(uri: string, timeoutMs: number): Promise<string> {
  const url = new URL(uri);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`the document address is not http(s): ${url.protocol}`);
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  if (!res.ok) throw new Error(`downloading the document answered HTTP ${res.status}`);
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > MAX_DOCUMENT_BYTES) throw new Error(`the document is larger than ${MAX_DOCUMENT_BYTES} bytes`);
    hash.update(chunk);
  }
  return hash.digest('hex');
}

/** One job: the evidence row still PENDING is fetched, else nothing (a replayed job). */
export async function fetchDocument(services: Services, job: DocumentJobData): Promise<void> {
  const em = services.orm.em.fork() as EntityManager;
  const [row] = await queryRows<PendingRow>(
    em,
    `update acceptance_evidence e set attempts = e.attempts + 1
       from acceptances a where a.id = e.acceptance_id and e.acceptance_id = ? and e.document_status = 'PENDING'
     returning a.template_id, a.customer_id, e.document_country, e.document_language`,
    [job.acceptanceId],
  );
  if (!row) return;
  if (!services.config.evidence.fetchDocuments) {
    await queryRows(em, `update acceptance_evidence set document_status = 'NOT_FETCHED', document_error = ? where acceptance_id = ? and document_status = 'PENDING'`, [
      'Document fetching is off (EVIDENCE_FETCH_DOCUMENTS=false)',
      job.acceptanceId,
    ]);
    return;
  }
  let outcome: { ok: true; doc: FetchedDocument } | { ok: false; error: string };
  try {
    const query = new URLSearchParams({ language: row.document_language, country: row.document_country });
    const answer = await partnerCenterUpstream(services).request({
      partnerId: job.partnerId,
      operation: 'document',
      method: 'GET',
      path: `/v1/agreementtemplates/${encodeURIComponent(row.template_id)}/document?${query}`,
      customerId: row.customer_id,
      acceptanceId: job.acceptanceId,
      tokenKind: 'delegated',
    });
    if (!answer.ok) throw new Error(answer.message);
    const body = answer.body as { displayUri?: unknown; language?: unknown; country?: unknown };
    if (typeof body?.displayUri !== 'string') throw new Error('the document answer has no displayUri');
    const sha256 = await download(body.displayUri, services.config.partnerCenter.timeoutMs);
    outcome = {
      ok: true,
      doc: {
        uri: body.displayUri,
        sha256,
        country: typeof body.country === 'string' ? body.country : row.document_country,
        language: typeof body.language === 'string' ? body.language : row.document_language,
      },
    };
  } catch (err) {
    outcome = { ok: false, error: err instanceof UpstreamError ? `${err.kind}: ${err.message}` : (err as Error).message };
  }
  if (outcome.ok) {
    await queryRows(
      em,
      `update acceptance_evidence set document_status = 'FETCHED', document_uri = ?, document_sha256 = ?, document_country = ?, document_language = ?,
              document_fetched_at = clock_timestamp(), document_error = null
        where acceptance_id = ? and document_status = 'PENDING'`,
      [outcome.doc.uri, outcome.doc.sha256, outcome.doc.country, outcome.doc.language, job.acceptanceId],
    );
  } else {
    await queryRows(em, `update acceptance_evidence set document_status = 'FAILED', document_error = ? where acceptance_id = ? and document_status = 'PENDING'`, [
      outcome.error.slice(0, 500),
      job.acceptanceId,
    ]);
  }
}

/** The document worker of one gateway (started by the evidence feature). */
export class DocumentRuntime {
  private boss?: PgBoss;

  constructor(private readonly services: Services) {}

  async start(): Promise<void> {
    const pc = this.services.config.partnerCenter;
    const boss = new PgBoss({
      connectionString: this.services.orm.config.get('clientUrl'),
      schema: BOSS_SCHEMA,
      max: 2,
      application_name: 'consent-gateway evidence',
      schedule: false,
      supervise: false,
    });
    boss.on('error', (err) => this.services.log.warn({ err }, 'pg-boss error (evidence)'));
    const queue = { name: DOCUMENT_QUEUE, policy: 'standard' as const, retryLimit: 3, retryDelay: 5, retryBackoff: true, expireInSeconds: Math.max(60, pc.jobExpireSeconds) };
    await withStartupLock(sessionUrl(this.services.orm), async () => {
      await boss.start();
      if (!(await boss.getQueue(DOCUMENT_QUEUE))) await boss.createQueue(DOCUMENT_QUEUE, queue);
    });
    this.boss = boss;
    await boss.work<DocumentJobData>(DOCUMENT_QUEUE, { batchSize: 4, pollingIntervalSeconds: pc.pollingIntervalSeconds }, async (jobs) => {
      await Promise.all(jobs.map((j) => fetchDocument(this.services, j.data)));
    });
  }

  async stop(): Promise<void> {
    await this.boss?.stop({ graceful: true, timeout: 1000, wait: true });
  }
}
