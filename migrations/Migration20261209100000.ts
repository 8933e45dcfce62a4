import { Migration } from '@mikro-orm/migrations';
import type { Client } from 'pg';
import { createIndexesConcurrently, onOwnConnection } from '../src/db/migrate';

/**
 * Issue 23: the Customers search starts with the text, as Partner Center's customer search
 * (src/customers/customer.rules.ts, customerSearch), and the Customers list sorts by the
 * company name ignoring case, byte by byte (sortNameSql), so that a search's page is one
 * index range in the list's order. The contains-search read every match through trigram
 * indexes and sorted them: its matches, and its time, grew with the table (4.7 ms at 10,000
 * customers, 92-130 ms at a million).
 *
 * - The compliance directory's `company_name` becomes `sort_name`, `text collate "C"`. Its
 *   rows are emptied and its epoch invalidated in the same transaction: reads answer live
 *   until the gateway, whose generated functions now differ, rebuilds it at start-up. The
 *   refresh function gets the placeholder body meanwhile (the installed one writes the old
 *   column).
 * - customers: the list's order and the search's domains, for the live reads (built
 *   concurrently, as Migration20261204120000); the name index and the trigram indexes
 *   (Migration20261205110000) are dropped. pg_trgm itself stays: other objects may use it.
 *
 * Outside a transaction, on a connection of its own; each step may run again after a failure.
 */
export const CUSTOMER_INDEXES: { name: string; definition: string }[] = [
  { name: 'customers_sort_name_id_index', definition: '((lower("company_name") collate "C"), "id")' },
  { name: 'customers_domain_lower_index', definition: '((lower("domain") collate "C"))' },
];
export const DROPPED_INDEXES = ['customers_company_name_id_index', 'customers_company_name_trgm_index', 'customers_domain_trgm_index'];

const PLACEHOLDER = `create or replace function customer_compliance_refresh(p_customers uuid[]) returns void language sql as $$
  update derived_epochs set valid_until = '-infinity' where name = 'customer_compliance'
$$`;

/** Empties the directory and invalidates its epoch, with `change` to its columns, in one transaction. */
async function emptyDirectory(c: Client, change: string[]): Promise<void> {
  await c.query('begin');
  try {
    await c.query('lock table customer_compliance, customer_compliance_counts in access exclusive mode');
    await c.query(`update derived_epochs set body_hash = null, valid_until = '-infinity' where name = 'customer_compliance'`);
    await c.query(PLACEHOLDER);
    await c.query('truncate customer_compliance, customer_compliance_counts');
    for (const statement of change) await c.query(statement);
    await c.query('commit');
  } catch (err) {
    await c.query('rollback');
    throw err;
  }
}

async function hasColumn(c: Client, column: string): Promise<boolean> {
  const { rowCount } = await c.query(`select 1 from information_schema.columns where table_schema = current_schema() and table_name = 'customer_compliance' and column_name = $1`, [column]);
  return rowCount === 1;
}

export class Migration20261209100000 extends Migration {
  override isTransactional(): boolean {
    return false;
  }

  override async up(): Promise<void> {
    await onOwnConnection(this.config, async (c) => {
      if (await hasColumn(c, 'company_name')) {
        await emptyDirectory(c, [
          'alter table customer_compliance rename column company_name to sort_name',
          'alter table customer_compliance alter column sort_name type text collate "C"',
          'alter index customer_compliance_scope_company_name_customer_id_index rename to customer_compliance_scope_sort_name_customer_id_index',
          'alter index customer_compliance_scope_status_company_name_customer_id_index rename to customer_compliance_scope_status_sort_name_customer_id_index',
        ]);
      }
      await createIndexesConcurrently(c, CUSTOMER_INDEXES.map((i) => ({ name: i.name, create: `create index concurrently "${i.name}" on "customers" ${i.definition}` })));
      for (const name of DROPPED_INDEXES) await c.query(`drop index concurrently if exists "${name}"`);
    });
  }

  override async down(): Promise<void> {
    await onOwnConnection(this.config, async (c) => {
      const indexes = [{ name: 'customers_company_name_id_index', create: 'create index concurrently "customers_company_name_id_index" on "customers" ("company_name", "id")' }];
      const trgm = await c.query(`select 1 from pg_extension where extname = 'pg_trgm'`);
      if (trgm.rowCount) {
        for (const column of ['company_name', 'domain']) {
          indexes.push({ name: `customers_${column}_trgm_index`, create: `create index concurrently "customers_${column}_trgm_index" on "customers" using gin ("${column}" gin_trgm_ops)` });
        }
      }
      await createIndexesConcurrently(c, indexes);
      for (const i of CUSTOMER_INDEXES) await c.query(`drop index concurrently if exists "${i.name}"`);
      if (await hasColumn(c, 'sort_name')) {
        await emptyDirectory(c, [
          'alter table customer_compliance rename column sort_name to company_name',
          'alter table customer_compliance alter column company_name type varchar(255) collate "default"',
          'alter index customer_compliance_scope_sort_name_customer_id_index rename to customer_compliance_scope_company_name_customer_id_index',
          'alter index customer_compliance_scope_status_sort_name_customer_id_index rename to customer_compliance_scope_status_company_name_customer_id_index',
        ]);
      }
    });
  }
}
