import { Client } from 'pg';
import type { EntityManager } from '@mikro-orm/postgresql';
import { indexValidity, previousReleaseDatabase } from '../support/migrations';
import { migrate } from '../../src/db/migrate';
import { queryRows } from '../../src/db/query';
import { directoryPageStatement, rebuildComplianceDirectory, searchShape } from '../../src/acceptance/compliance.directory';
import { likePattern } from '../../src/customers/customer.rules';
import { encodeCursor } from '../../src/common/connection';
import { SEARCH_INDEXES } from '../../migrations/Migration20261205110000';

/**
 * Migration20261205110000 on a database of the previous release: pg_trgm and the search's
 * GIN trigram indexes, built concurrently (an index a failed run left invalid is built
 * again); and the search's trigram statement answers the same rows, order and count as the
 * directory-order scan it replaces, for patterns with and without trigrams.
 */

const PREVIOUS_RELEASE = 'Migration20261205100000';
const WORDS = ['Munson', 'Margie', 'Contoso', 'Lamna'];
const P = '00000000-0000-4000-8000-000000000001';

let db: { drop(): Promise<void> } | undefined;
afterAll(() => db?.drop());

const indexes = (c: Client) => indexValidity(c, SEARCH_INDEXES.map((i) => i.name));

it('builds the trigram indexes on a database of the previous release, and the search answers as the directory-order scan did', async () => {
  const previous = await previousReleaseDatabase(PREVIOUS_RELEASE);
  ({ db } = previous);
  const { orm, c } = previous;
  try {
    await c.query(`insert into partners (id, name, tenant_id, type, created_at) values ($1, 'P', 't-p', 'DIRECT_BILL', now())`, [P]);
    // 120 customers; names share words (and sort together), some with wildcards; a third served by P.
    await c.query(
      `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
       select gen_random_uuid(), 't-' || i, w.words[1 + i % 4] || case when i % 7 = 0 then ' 100% Sa' else ' Labs' end || ' ' || lpad(i::text, 4, '0'),
              lower(w.words[1 + (i + 1) % 4]) || i || '.example', 'US', 'A', 'B', 'a@example.com', now()
         from generate_series(1, 120) i, (select $1::text[] as words) w`,
      [WORDS],
    );
    await c.query(`insert into customer_relationships (id, customer_id, partner_id, created_at) select gen_random_uuid(), id, $1, now() from customers where tenant_id ~ '[05]$|[0369]$'`, [P]);
    // A run cut short left one index invalid (as a failed `create index concurrently` does).
    await c.query('create extension if not exists pg_trgm');
    await c.query(`create index concurrently "customers_domain_trgm_index" on "customers" using gin ("domain" gin_trgm_ops)`);
    await c.query(`update pg_index set indisvalid = false where indexrelid = '"customers_domain_trgm_index"'::regclass`);
    expect(await indexes(c)).toEqual({ customers_domain_trgm_index: false });

    const applied = await migrate(orm);
    expect(applied).toContain('Migration20261205110000');
    expect(await indexes(c)).toEqual(Object.fromEntries(SEARCH_INDEXES.map((i) => [i.name, true])));
    expect((await c.query(`select 1 from pg_extension where extname = 'pg_trgm'`)).rowCount).toBe(1);
    expect(await orm.getMigrator().checkMigrationNeeded()).toBe(false);

    const em = orm.em.fork() as unknown as EntityManager;
    await rebuildComplianceDirectory(em);
    // Small tables are read sequentially; the point here is the answer, not the plan.
    await c.query('analyze customers; analyze customer_compliance');
    const patterns = ['munson', 'SON LABS', '100%', 'sa', '%', 'ab', 'contoso1', 'nothing'];
    expect(patterns.map(searchShape)).toEqual(['trigrams', 'trigrams', 'trigrams', 'scan', 'scan', 'scan', 'trigrams', 'trigrams']);
    for (const text of patterns) {
      for (const scope of ['all', `p:${P}`]) {
        for (const status of [null, 'MISSING']) {
          const pattern = likePattern(text);
          let after: string | null = null;
          for (let page = 0; page < 3; page++) {
            const args = { first: 7, after };
            // The statement as it was: the search one more condition of the directory-order scan.
            const before = directoryPageStatement({ scope, status, where: [{ sql: 'c.company_name ilike ? or c.domain ilike ?', params: [pattern, pattern] }] }, args);
            const now = directoryPageStatement({ scope, status, where: [], search: pattern }, args);
            const was = await queryRows<Record<string, unknown>>(em, before.sql, before.params);
            const is = await queryRows<Record<string, unknown>>(em, now.sql, now.params);
            const ids = (rows: Record<string, unknown>[]) => rows.map((r) => [r.id, String(r.__n), String(r.__total)]);
            expect({ text, scope, status, page, rows: ids(is) }).toEqual({ text, scope, status, page, rows: ids(was) });
            const last = was[6];
            if (!last) break;
            after = encodeCursor([last.company_name, last.id]);
          }
        }
      }
    }
    // The patterns matched something, in both shapes (the comparison above is not vacuous).
    const [munson] = await queryRows<{ n: string }>(em, `select count(*) as n from customers where company_name ilike '%munson%' or domain ilike '%munson%'`);
    expect(Number(munson!.n)).toBeGreaterThan(20);
  } finally {
    await previous.close();
  }
});
