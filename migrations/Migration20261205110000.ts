import { Migration } from '@mikro-orm/migrations';
import { Client } from 'pg';
import { createIndexesConcurrently, onOwnConnection } from '../src/db/migrate';

/**
 * Issue 23: the Customers search (`company_name ilike '%word%' or domain ilike '%word%'`)
 * read its directory scope in name order until the page and the capped count were full:
 * at a million customers, seconds. GIN trigram indexes (pg_trgm) on both columns let a
 * pattern of three characters or more find its matches as a bitmap over customers
 * (directoryPageStatement's search shape in src/acceptance/compliance.directory.ts).
 * None on customer_compliance.company_name: its rows repeat per scope, and the domain is
 * only on customers, so the search starts from customers either way (not measured).
 *
 * pg_trgm ships with PostgreSQL (contrib) and is a trusted extension (PG 13+), so a
 * database owner may create it. Where it is not installed or not permitted, the indexes
 * are skipped with a notice and the search keeps its directory-order plan (correct, slower).
 *
 * Built `concurrently`, outside a transaction, on a connection of its own, as
 * Migration20261204120000; an index a failed run left invalid is dropped and built again.
 */
export const SEARCH_INDEXES: { name: string; table: string; column: string }[] = [
  { name: 'customers_company_name_trgm_index', table: 'customers', column: 'company_name' },
  { name: 'customers_domain_trgm_index', table: 'customers', column: 'domain' },
];

export class Migration20261205110000 extends Migration {
  override isTransactional(): boolean {
    return false;
  }

  override async up(): Promise<void> {
    await onOwnConnection(this.config, async (c) => {
      if (!(await trigramsAvailable(c))) return;
      await createIndexesConcurrently(
        c,
        SEARCH_INDEXES.map((index) => ({ name: index.name, create: `create index concurrently "${index.name}" on "${index.table}" using gin ("${index.column}" gin_trgm_ops)` })),
      );
    });
  }

  override async down(): Promise<void> {
    // The extension stays: other objects may have come to use it.
    await onOwnConnection(this.config, async (c) => {
      for (const index of SEARCH_INDEXES) await c.query(`drop index concurrently if exists "${index.name}"`);
    });
  }
}

/**
 * Creates pg_trgm if it is missing and may be created; false (with a notice) when it is not
 * shipped with this server or the migrating role may not create it: the search then keeps
 * its directory-order plan, and a later run of this migration cannot add the indexes (it is
 * recorded as applied), so create the extension and the indexes by hand (SEARCH_INDEXES).
 */
async function trigramsAvailable(c: Client): Promise<boolean> {
  const { rows } = await c.query<{ installed: boolean; available: boolean }>(
    `select exists (select 1 from pg_extension where extname = 'pg_trgm') as installed,
            exists (select 1 from pg_available_extensions where name = 'pg_trgm') as available`,
  );
  if (rows[0]!.installed) return true;
  if (!rows[0]!.available) {
    console.warn('Migration20261205110000: pg_trgm is not available on this server: the Customers search trigram indexes are skipped (search stays correct, slower at scale)');
    return false;
  }
  try {
    await c.query('create extension if not exists pg_trgm');
    return true;
  } catch (err) {
    // 42501 insufficient_privilege: the role may not create extensions in this database.
    if ((err as { code?: string }).code !== '42501') throw err;
    console.warn(`Migration20261205110000: pg_trgm may not be created by this role (${(err as Error).message}): the Customers search trigram indexes are skipped (search stays correct, slower at scale)`);
    return false;
  }
}
