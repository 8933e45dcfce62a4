import PgBoss from 'pg-boss';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ACCEPTANCE_CLOUDS } from '../acceptance/acceptance.queries';
import { queryRows } from '../db/query';
import { currentRequestId } from '../kernel/request-scope';
import { SyncStatus } from './partner-center.enums';

/**
 * The transactional outbox. A confirmation (direct, approved, imported) and a
 * contact correction call `enqueueAcceptanceSync` inside the transaction that
 * records them: it writes the acceptance's sync row and, when the partner is
 * connected, the pg-boss job, through that same transaction. Both commit with the
 * record or not at all; there is no relay and no polling loop of our own.
 */

export const SYNC_QUEUE = 'partner-center-sync';
/** pg-boss keeps its tables in this schema of the gateway's database (shared with other features' queues). */
export const BOSS_SCHEMA = 'pgboss';

export interface SyncJobData {
  acceptanceId: string;
  partnerId: string;
}

/**
 * pg-boss used only to write job rows through a caller's transaction (`db` option
 * of send/insert, with `transactionDb`): it never opens a connection of its own. Every
 * transactional outbox of the gateway writes its jobs with it (sync, attestations, evidence).
 */
export const jobWriter = new PgBoss({
  schema: BOSS_SCHEMA,
  db: {
    executeSql: async () => {
      throw new Error('the job writer runs SQL only through a transaction adapter (transactionDb)');
    },
  },
});

/**
 * pg-boss's SQL run inside the transaction `em` belongs to, by the one runner. Its
 * statements come with `$1, $2, ...` and hold no `?`, so they pass through the runner's
 * placeholder rewrite unchanged; pg serializes its values (objects as JSON) itself.
 */
export function transactionDb(em: EntityManager): PgBoss.Db {
  return {
    executeSql: async (text: string, values: unknown[] = []) => ({ rows: await queryRows<unknown>(em, text, values) }),
  };
}

/** A due-now (or `startAfter`) delivery job with a known id, written through `em`'s transaction. */
export async function sendSyncJob(em: EntityManager, jobId: string, data: SyncJobData, startAfter?: Date): Promise<void> {
  await jobWriter.send(SYNC_QUEUE, data as unknown as object, { id: jobId, db: transactionDb(em), ...(startAfter ? { startAfter } : {}) });
}

/** Many due-now jobs in one statement (a connected partner's backlog). */
export async function sendSyncJobs(em: EntityManager, jobs: { id: string; data: SyncJobData }[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += 1000) {
    await jobWriter.insert(
      jobs.slice(i, i + 1000).map((j) => ({ id: j.id, name: SYNC_QUEUE, data: j.data as unknown as object })),
      { db: transactionDb(em) },
    );
  }
}

/** Per-partner lock: connecting takes it exclusively, recording a confirmation shares it (see below). */
export const partnerLockSql = (mode: 'shared' | 'exclusive') =>
  `select ${mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock'}(20547, hashtext(?))`;

/** Partners whose shared lock a transaction (its knex transaction object) already holds. */
const sharedLocks = new WeakMap<object, Set<string>>();

/**
 * Queues the acceptance for Partner Center in the caller's transaction: a new
 * confirmation, or a contact correction (a new MS-RequestId: upstream gets a new
 * request with the corrected contact; attempts start again). National clouds are
 * NOT_APPLICABLE; a partner without a connection leaves it NOT_CONNECTED until it
 * connects. The shared per-partner lock, taken first in its own statement, makes a
 * concurrent `connectPartnerCenter` either see this row in its backlog or be seen
 * here as connected.
 */
export async function enqueueAcceptanceSync(em: EntityManager, acceptance: { id: string; partner: { id: string } }): Promise<SyncStatus> {
  const [status] = await enqueueAcceptanceSyncs(em, acceptance.partner.id, [acceptance.id]);
  return status;
}

/**
 * The same for many acceptances of one partner (the bulk import) in three statements
 * whatever their number: the lock, the sync rows, the jobs. Statuses in the order of `acceptanceIds`.
 */
export async function enqueueAcceptanceSyncs(em: EntityManager, partnerId: string, acceptanceIds: string[]): Promise<SyncStatus[]> {
  if (!em.isInTransaction()) throw new Error('enqueueAcceptanceSync must run inside the transaction that records the acceptance');
  if (acceptanceIds.length === 0) return [];
  const ctx = em.getTransactionContext();
  // Once per transaction and partner is enough (a bulk import records thousands in one transaction).
  const held = sharedLocks.get(ctx) ?? new Set<string>();
  if (!held.has(partnerId)) {
    await queryRows(em, partnerLockSql('shared'), [partnerId]);
    held.add(partnerId);
    sharedLocks.set(ctx, held);
  }
  // One MS-RequestId per acceptance; without a request scope each gets its own correlation id too.
  const rows = await queryRows<{ acceptance_id: string; partner_id: string; status: SyncStatus; job_id: string | null }>(
    em,
    `insert into acceptance_syncs (acceptance_id, partner_id, status, attempts, request_id, correlation_id, job_id, created_at, synced_at)
     select x.id, x.partner_id, x.status, 0, gen_random_uuid(), coalesce(?, gen_random_uuid()::text),
            case when x.status = 'PENDING' then gen_random_uuid() end, date_trunc('milliseconds', clock_timestamp()),
            case when x.status = 'SYNCED' then date_trunc('milliseconds', clock_timestamp()) end
       from (select a.id, a.partner_id,
                    case when a.cloud <> 'PUBLIC' then 'NOT_APPLICABLE'
                         -- an attestation's or Partner Center's own record is upstream already
                         when a.source in ('ATTESTATION', 'PARTNER_CENTER') then 'SYNCED'
                         when exists (select 1 from partner_center_connections pc where pc.partner_id = a.partner_id and pc.reauthorization_required_at is null) then 'PENDING'
                         -- a dead grant: kept until the partner connects again
                         when exists (select 1 from partner_center_connections pc where pc.partner_id = a.partner_id) then 'PAUSED'
                         else 'NOT_CONNECTED' end as status
               from (${ACCEPTANCE_CLOUDS}) a) x
     on conflict (acceptance_id) do update set
       status = excluded.status, attempts = 0, request_id = excluded.request_id, correlation_id = excluded.correlation_id,
       job_id = excluded.job_id, last_error = null, next_attempt_at = null, synced_at = excluded.synced_at
     returning acceptance_id, partner_id, status, job_id`,
    [currentRequestId() ?? null, acceptanceIds],
  );
  const byId = new Map(rows.map((r) => [r.acceptance_id, r]));
  // Looked up by id alone (the planner's partner statistics lag behind a bulk import); checked here.
  const missing = acceptanceIds.find((id) => byId.get(id)?.partner_id !== partnerId);
  if (missing) throw new Error(`acceptance ${missing} of partner ${partnerId} is not recorded in this transaction`);
  const jobs = rows.filter((r) => r.status === SyncStatus.PENDING).map((r) => ({ id: r.job_id!, data: { acceptanceId: r.acceptance_id, partnerId } }));
  if (jobs.length) await sendSyncJobs(em, jobs);
  return acceptanceIds.map((id) => byId.get(id)!.status);
}
