import { Migration } from '@mikro-orm/migrations';
import { createIndexesConcurrently, onOwnConnection } from '../src/db/migrate';

/**
 * Issue 23 (a distributor's scale): indexes for the list reads' first pages in keyset
 * order, so that a page reads its rows from an index instead of sorting the table:
 * every order, attestation and drift row (platform roles), the sync backlog (all, per
 * partner, per status) and one customer's blocked-order alerts (list and replay); and
 * one customer's submissions, which its audit trail (and evidence verification) reads.
 *
 * Built `concurrently`, so that writers keep writing while millions of rows are indexed:
 * that cannot run inside a transaction, so this migration is not transactional
 * (`migrate` in src/db/migrate.ts runs it after the migrations before it have committed)
 * and runs its statements on a connection of its own, free of the sessions' statement
 * timeout. An index a failed run left invalid is dropped and built again.
 */
export const LIST_INDEXES: { name: string; table: string; columns: string[] }[] = [
  { name: 'orders_created_at_id_index', table: 'orders', columns: ['created_at', 'id'] },
  { name: 'acceptance_syncs_created_at_acceptance_id_index', table: 'acceptance_syncs', columns: ['created_at', 'acceptance_id'] },
  { name: 'acceptance_syncs_partner_id_created_at_acceptance_id_index', table: 'acceptance_syncs', columns: ['partner_id', 'created_at', 'acceptance_id'] },
  { name: 'acceptance_syncs_status_created_at_acceptance_id_index', table: 'acceptance_syncs', columns: ['status', 'created_at', 'acceptance_id'] },
  { name: 'attestations_created_at_id_index', table: 'attestations', columns: ['created_at', 'id'] },
  { name: 'acceptance_drift_first_detected_at_id_index', table: 'acceptance_drift', columns: ['first_detected_at', 'id'] },
  { name: 'blocked_order_alerts_customer_id_id_index', table: 'blocked_order_alerts', columns: ['customer_id', 'id'] },
  { name: 'acceptance_submissions_customer_id_provider_id_index', table: 'acceptance_submissions', columns: ['customer_id', 'provider_id'] },
];

export class Migration20261204120000 extends Migration {
  override isTransactional(): boolean {
    return false;
  }

  override async up(): Promise<void> {
    await onOwnConnection(this.config, (c) =>
      createIndexesConcurrently(
        c,
        LIST_INDEXES.map((index) => ({ name: index.name, create: `create index concurrently "${index.name}" on "${index.table}" (${index.columns.map((col) => `"${col}"`).join(', ')})` })),
      ),
    );
  }

  override async down(): Promise<void> {
    await onOwnConnection(this.config, async (c) => {
      for (const index of LIST_INDEXES) await c.query(`drop index concurrently if exists "${index.name}"`);
    });
  }
}
