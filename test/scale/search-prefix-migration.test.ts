import { Client } from 'pg';
import type { EntityManager } from '@mikro-orm/postgresql';
import { indexValidity, previousReleaseDatabase } from '../support/migrations';
import { migrate } from '../../src/db/migrate';
import { queryRows } from '../../src/db/query';
import { complianceDirectory, directoryPageStatement, rebuildComplianceDirectory } from '../../src/acceptance/compliance.directory';
import { isDerivedValid } from '../../src/kernel/derived';
import { encodeCursor } from '../../src/common/connection';
import { CUSTOMER_INDEXES, DROPPED_INDEXES } from '../../migrations/Migration20261209100000';

/**
 * Migration20261209100000 on a database of the previous release with a live directory: the
 * directory's sort name (collation "C"), emptied and its epoch invalidated in one step, the
 * customers' sort-name and domain indexes built concurrently (one a failed run left invalid
 * built again), the contains-search's indexes dropped; then, rebuilt, the search's statement
 * answers the rule (customerSearch) page by page, read from index ranges.
 */

const PREVIOUS_RELEASE = 'Migration20261208100000';
const P = '00000000-0000-4000-8000-000000000001';
const WORDS = ['Munson', 'munson', 'MARGIE', 'Contoso', 'Lamna', '100% Lamna', 'Lamna_x'];

let db: { drop(): Promise<void> } | undefined;
afterAll(() => db?.drop());

interface Row { id: string; name: string; domain: string; served: boolean; }

/** The rule, in JavaScript: the name starts with the text, or the domain is it or starts with it and a dot (ASCII here). */
function reference(rows: Row[], text: string, scope: string): string[] {
  const t = text.toLowerCase();
  const key = (r: Row) => Buffer.from(r.name.toLowerCase());
  return rows
    .filter((r) => scope === 'all' || r.served)
    .filter((r) => r.name.toLowerCase().startsWith(t) || r.domain.toLowerCase() === t || r.domain.toLowerCase().startsWith(`${t}.`))
    .sort((a, b) => Buffer.compare(key(a), key(b)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((r) => r.id);
}

it('moves the directory to sort names and the customers to the search indexes on a database of the previous release; the search answers the rule from index ranges', async () => {
  const previous = await previousReleaseDatabase(PREVIOUS_RELEASE);
  ({ db } = previous);
  const { orm, c } = previous;
  try {
    await c.query(`insert into partners (id, name, tenant_id, type, created_at) values ($1, 'P', 't-p', 'DIRECT_BILL', now())`, [P]);
    // 140 customers: names sharing words in several cases, wildcards in names; some domains named after another word.
    await c.query(
      `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
       select gen_random_uuid(), 't-' || i, w.words[1 + i % 7] || ' Labs ' || lpad(i::text, 4, '0'),
              case when i % 10 = 0 then lower(split_part(w.words[1 + (i + 2) % 7], ' ', 1)) || '.example' else 'c' || i || '.example' end,
              'US', 'A', 'B', 'a@example.com', now()
         from generate_series(1, 140) i, (select $1::text[] as words) w`,
      [WORDS],
    );
    await c.query(`insert into customer_relationships (id, customer_id, partner_id, created_at) select gen_random_uuid(), id, $1, now() from customers where tenant_id ~ '[0369]$'`, [P]);
    // The previous release's directory, as a running gateway had left it (rows and a valid epoch).
    await c.query(`insert into customer_compliance (customer_id, scope, status, company_name) select id, 'all', 'MISSING', company_name from customers`);
    await c.query(`update derived_epochs set body_hash = 'previous', valid_until = 'infinity' where name = 'customer_compliance'`);
    // A run cut short left one of the new indexes invalid (as a failed `create index concurrently` does).
    await c.query(`create index concurrently "customers_domain_lower_index" on "customers" ((lower("domain") collate "C"))`);
    await c.query(`update pg_index set indisvalid = false where indexrelid = '"customers_domain_lower_index"'::regclass`);
    const names = [...CUSTOMER_INDEXES.map((i) => i.name), ...DROPPED_INDEXES];
    expect(await indexValidity(c, names)).toEqual({ customers_domain_lower_index: false, customers_company_name_id_index: true, customers_company_name_trgm_index: true, customers_domain_trgm_index: true });

    const applied = await migrate(orm);
    expect(applied).toContain('Migration20261209100000');
    expect(await indexValidity(c, names)).toEqual(Object.fromEntries(CUSTOMER_INDEXES.map((i) => [i.name, true])));
    const column = await c.query(`select collation_name from information_schema.columns where table_name = 'customer_compliance' and column_name = 'sort_name'`);
    expect(column.rows).toEqual([{ collation_name: 'C' }]);
    expect((await c.query('select count(*)::int as n from customer_compliance')).rows[0].n).toBe(0);
    expect((await c.query('select count(*)::int as n from customers')).rows[0].n).toBe(140);
    const em = orm.em.fork() as unknown as EntityManager;
    expect(await isDerivedValid(em, complianceDirectory)).toBe(false);
    expect(await orm.getMigrator().checkMigrationNeeded()).toBe(false);
    // A customer written now: the placeholder refresh only invalidates (the installed body wrote the old column).
    await c.query(`update customers set country = 'DE' where tenant_id = 't-1'`);

    await rebuildComplianceDirectory(em);
    await c.query('analyze customers; analyze customer_compliance');
    const rows: Row[] = (
      await c.query(`select c.id, c.company_name as name, c.domain, exists (select 1 from customer_relationships r where r.customer_id = c.id and r.partner_id = $1) as served from customers c`, [P])
    ).rows;
    const texts = ['munson', 'MUNSON LABS 000', 'margie', 'lamna', 'lamna_', '100%', '100% lamna', 'contoso', 'contoso.example', 'contoso.ex', '%', 'nothing'];
    let matched = 0;
    for (const text of texts) {
      for (const scope of ['all', `p:${P}`]) {
        const ids: string[] = [];
        let after: string | null = null;
        let total = -1;
        for (let page = 0; page < 30; page++) {
          const statement = directoryPageStatement({ scope, status: null, where: [], search: text }, { first: 7, after });
          const got = await queryRows<Record<string, unknown>>(em, statement.sql, statement.params);
          const listed = got.filter((r) => r.__n !== null);
          total = Number(got[0]!.__total);
          ids.push(...listed.slice(0, 7).map((r) => String(r.id)));
          if (listed.length <= 7) break;
          after = encodeCursor([listed[6]!.__sort, listed[6]!.id]);
        }
        const want = reference(rows, text, scope);
        expect({ text, scope, ids, total }).toEqual({ text, scope, ids: want, total: want.length });
        matched += want.length;
      }
    }
    expect(matched).toBeGreaterThan(150);

    // The name side is a range of the directory's (scope, sort_name) index; the domain side reads the domain index.
    // The gateway's statements are prepared once and may run with a generic plan (values unknown
    // when planned): the ranges must be index conditions there too. (Small tables are read
    // sequentially unless told otherwise.)
    const statement = directoryPageStatement({ scope: 'all', status: null, where: [], search: 'munson' }, { first: 7 });
    let n = 0;
    const text = statement.sql.replace(/\?/g, () => `$${++n}`);
    expect(n).toBe(statement.params.length);
    await c.query('set enable_seqscan = off');
    const plan = JSON.stringify((await c.query(`explain (generic_plan, format json) ${text}`)).rows);
    expect(plan).toMatch(/"Index Name":"customer_compliance_scope_sort_name_customer_id_index"[^}]*"Index Cond":"[^"]*sort_name >= lower\(\(?\$\d+/);
    expect(plan).toMatch(/"Index Name":"customers_domain_lower_index"[^}]*"Index Cond":"[^"]*= lower\(\(?\$\d+/);
    expect(plan).not.toMatch(/trgm|~~/);
  } finally {
    await previous.close();
  }
});
