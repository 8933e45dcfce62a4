import { defineLoader } from '../kernel/loaders';
import { AcceptanceSync } from './partner-center.entity';
import { SyncStatus } from './partner-center.enums';
import { queryRows } from '../db/query';
import { ACCEPTANCE_CLOUDS } from '../acceptance/acceptance.queries';
import { syncStateOf, type SyncStateRow } from './partner-center.queries';

/** The shape of `Acceptance.sync`: a stored row, or what an acceptance without one stands at. */
export type SyncState = Pick<AcceptanceSync, 'status' | 'attempts' | 'requestId' | 'lastAttemptAt' | 'nextAttemptAt' | 'syncedAt' | 'lastError'>;

const unrecorded = (status: SyncStatus): SyncState => ({ status, attempts: 0, requestId: null, lastAttemptAt: null, nextAttemptAt: null, syncedAt: null, lastError: null });

/**
 * The sync of each acceptance, one statement per batch. Every acceptance recorded
 * through the services has a row; one written straight into the table (fixtures,
 * scripts) has none and reads as NOT_CONNECTED, or NOT_APPLICABLE on a national cloud.
 */
export const syncOf = defineLoader<string, SyncState>(async (ctx, ids) => {
  const rows = await queryRows<{ id: string; cloud: string } & (SyncStateRow | { [K in keyof SyncStateRow]: null })>(
    ctx.em,
    `select a.id, a.cloud, s.status, s.attempts, s.request_id, s.last_attempt_at, s.next_attempt_at, s.synced_at, s.last_error
       from (${ACCEPTANCE_CLOUDS}) a left join acceptance_syncs s on s.acceptance_id = a.id`,
    [[...ids]],
  );
  const byId = new Map(
    rows.map((r) => [r.id, r.status ? syncStateOf(r as SyncStateRow) : unrecorded(r.cloud === 'PUBLIC' ? SyncStatus.NOT_CONNECTED : SyncStatus.NOT_APPLICABLE)]),
  );
  return ids.map((id) => byId.get(id) ?? unrecorded(SyncStatus.NOT_CONNECTED));
});
