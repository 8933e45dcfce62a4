import type { EntityManager } from '@mikro-orm/postgresql';
import { jobWriter, transactionDb } from '../partner-center/outbox';

/** The pg-boss queue that follows attestations (in the BOSS_SCHEMA beside the sync queue). */
export const ATTESTATION_QUEUE = 'attestation-follow';

export interface FollowJobData {
  attestationId: string;
  partnerId: string;
}

/**
 * The attestation's next follow job, written through `em`'s transaction with the id
 * the row names as its `job_id`: every other job for the attestation is stale.
 */
export async function sendFollowJob(em: EntityManager, jobId: string, data: FollowJobData, startAfter?: Date): Promise<void> {
  if (!em.isInTransaction()) throw new Error('a follow job is written in the transaction that changes its attestation');
  await jobWriter.send(ATTESTATION_QUEUE, data as unknown as object, { id: jobId, db: transactionDb(em), ...(startAfter ? { startAfter } : {}) });
}
