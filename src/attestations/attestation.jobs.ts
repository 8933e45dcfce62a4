import PgBoss from 'pg-boss';
import type { EntityManager } from '@mikro-orm/postgresql';
import { BOSS_SCHEMA, transactionDb } from '../partner-center/outbox';

/** The pg-boss queue that follows attestations (in the BOSS_SCHEMA beside the sync queue). */
export const ATTESTATION_QUEUE = 'attestation-follow';

export interface FollowJobData {
  attestationId: string;
  partnerId: string;
}

/** pg-boss used only to write job rows through a caller's transaction, as the sync outbox does. */
const writer = new PgBoss({
  schema: BOSS_SCHEMA,
  db: {
    executeSql: async () => {
      throw new Error('the attestation job writer runs SQL only through a transaction adapter');
    },
  },
});

/**
 * The attestation's next follow job, written through `em`'s transaction with the id
 * the row names as its `job_id`: every other job for the attestation is stale.
 */
export async function sendFollowJob(em: EntityManager, jobId: string, data: FollowJobData, startAfter?: Date): Promise<void> {
  if (!em.isInTransaction()) throw new Error('a follow job is written in the transaction that changes its attestation');
  await writer.send(ATTESTATION_QUEUE, data as unknown as object, { id: jobId, db: transactionDb(em), ...(startAfter ? { startAfter } : {}) });
}
