import { Migration } from '@mikro-orm/migrations';
import { createIndexesConcurrently, onOwnConnection } from '../src/db/migrate';

/**
 * Issue 23: the audit export (`GET /exports/acceptances`) streams one partner's trail in time
 * order (src/audit/audit.sql.ts, auditEventsByTimeSql). Each event table's branch reads the
 * partner's rows in time order from an index on (partner, the event's instant), so the first
 * row comes after a few probes however long the trail; before, every event of the partner's
 * customers was gathered by hash joins over whole tables and sorted (2 s to the first byte
 * at a million customers). Partial where only some rows are events (superseded, withdrawn,
 * synced, failed, reviewed, attested); the direct acceptance, kept on the customer, by its
 * instant as the trail shows it (a day at midnight UTC). The drift and the first attestation
 * event had theirs already; corrections have no partner column and are read by their
 * `corrected_at` index.
 *
 * Built `concurrently`, outside a transaction, on a connection of its own, as
 * Migration20261204120000; an index a failed run left invalid is dropped and built again.
 */
export const EXPORT_INDEXES: { name: string; table: string; definition: string }[] = [
  { name: 'acceptances_partner_id_recorded_at_index', table: 'acceptances', definition: '("partner_id", "recorded_at")' },
  { name: 'acceptances_partner_id_superseded_at_index', table: 'acceptances', definition: '("partner_id", "superseded_at") where "superseded_at" is not null' },
  { name: 'acceptances_partner_id_withdrawn_at_index', table: 'acceptances', definition: '("partner_id", "withdrawn_at") where "withdrawn_at" is not null' },
  { name: 'acceptance_submissions_provider_id_submitted_at_index', table: 'acceptance_submissions', definition: '("provider_id", "submitted_at")' },
  { name: 'acceptance_submissions_provider_id_reviewed_at_index', table: 'acceptance_submissions', definition: '("provider_id", "reviewed_at") where "reviewed_at" is not null' },
  { name: 'attestations_partner_id_recorded_at_index', table: 'attestations', definition: '("partner_id", "recorded_at") where "recorded_at" is not null' },
  { name: 'subscription_events_partner_id_at_index', table: 'subscription_events', definition: '("partner_id", "at")' },
  { name: 'acceptance_syncs_partner_id_synced_at_index', table: 'acceptance_syncs', definition: '("partner_id", "synced_at") where "synced_at" is not null' },
  { name: 'acceptance_syncs_partner_id_failed_at_index', table: 'acceptance_syncs', definition: `("partner_id", (coalesce("last_attempt_at", "created_at"))) where "status" = 'FAILED'` },
  {
    name: 'customers_direct_accepted_at_index',
    table: 'customers',
    definition: `((("direct_accepted_on")::timestamp at time zone 'UTC')) where "direct_acceptance_type" is not null and "direct_accepted_on" is not null`,
  },
];


export class Migration20261208100000 extends Migration {
  override isTransactional(): boolean {
    return false;
  }

  override async up(): Promise<void> {
    await onOwnConnection(this.config, (c) => createIndexesConcurrently(c, EXPORT_INDEXES.map((index) => ({ name: index.name, create: `create index concurrently "${index.name}" on "${index.table}" ${index.definition}` }))));
  }

  override async down(): Promise<void> {
    await onOwnConnection(this.config, async (c) => {
      for (const index of EXPORT_INDEXES) await c.query(`drop index concurrently if exists "${index.name}"`);
    });
  }
}
