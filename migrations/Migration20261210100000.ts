import { Migration } from '@mikro-orm/migrations';
import { createIndexesConcurrently, onOwnConnection } from '../src/db/migrate';

/**
 * Issue 23: a contact's corrections read by acceptance, field and time. The audit trail's
 * facts (src/audit/audit.chain.ts, `FACTS`) ask, per CORRECTED event, whether a later
 * correction of the same field exists, and per CONFIRMED event, each field's first
 * correction; with only an index on `acceptance_id` each question read every correction of
 * the acceptance, so a trail of n corrections cost n² rows: the start-up chain backfill of
 * bench/renewals.ts's world (about 1,700 corrections on each of one partner's acceptances)
 * did not end. On (acceptance, field, time, id) each is one index probe, and the corrections
 * of one acceptance (the `corrections` field's loader) are still its leading range, so the
 * index on `acceptance_id` alone goes.
 *
 * Built `concurrently`, outside a transaction, on a connection of its own, as
 * Migration20261204120000; an index a failed run left invalid is dropped and built again.
 */
export const CORRECTION_INDEX = {
  name: 'acceptance_corrections_acceptance_id_field_at_index',
  create: 'create index concurrently "acceptance_corrections_acceptance_id_field_at_index" on "acceptance_corrections" ("acceptance_id", "field", "corrected_at", "id")',
};
const REPLACED = { name: 'acceptance_corrections_acceptance_id_index', create: 'create index concurrently "acceptance_corrections_acceptance_id_index" on "acceptance_corrections" ("acceptance_id")' };

export class Migration20261210100000 extends Migration {
  override isTransactional(): boolean {
    return false;
  }

  override async up(): Promise<void> {
    await onOwnConnection(this.config, async (c) => {
      await createIndexesConcurrently(c, [CORRECTION_INDEX]);
      await c.query(`drop index concurrently if exists "${REPLACED.name}"`);
    });
  }

  override async down(): Promise<void> {
    await onOwnConnection(this.config, async (c) => {
      await createIndexesConcurrently(c, [REPLACED]);
      await c.query(`drop index concurrently if exists "${CORRECTION_INDEX.name}"`);
    });
  }
}
