import { Client } from 'pg';
import { indexValidity, previousReleaseDatabase } from '../support/migrations';
import { migrate } from '../../src/db/migrate';
import { SEARCH_INDEXES } from '../../migrations/Migration20261205110000';

/**
 * Migration20261205110000 on a database of the previous release: pg_trgm and the search's
 * GIN trigram indexes, built concurrently (an index a failed run left invalid is built
 * again). Migration20261209100000 drops them (the search starts with the text since:
 * test/scale/search-prefix-migration.test.ts).
 */

const PREVIOUS_RELEASE = 'Migration20261205100000';

let db: { drop(): Promise<void> } | undefined;
afterAll(() => db?.drop());

const indexes = (c: Client) => indexValidity(c, SEARCH_INDEXES.map((i) => i.name));

it('builds the trigram indexes on a database of the previous release, one a failed run left invalid again', async () => {
  const previous = await previousReleaseDatabase(PREVIOUS_RELEASE);
  ({ db } = previous);
  const { orm, c } = previous;
  try {
    await c.query(
      `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
       select gen_random_uuid(), 't-' || i, 'Munson Labs ' || i, 'munson' || i || '.example', 'US', 'A', 'B', 'a@example.com', now()
         from generate_series(1, 50) i`,
    );
    // A run cut short left one index invalid (as a failed `create index concurrently` does).
    await c.query('create extension if not exists pg_trgm');
    await c.query(`create index concurrently "customers_domain_trgm_index" on "customers" using gin ("domain" gin_trgm_ops)`);
    await c.query(`update pg_index set indisvalid = false where indexrelid = '"customers_domain_trgm_index"'::regclass`);
    expect(await indexes(c)).toEqual({ customers_domain_trgm_index: false });

    const applied = await migrate(orm, { to: 'Migration20261205110000' });
    expect(applied).toEqual(['Migration20261205110000']);
    expect(await indexes(c)).toEqual(Object.fromEntries(SEARCH_INDEXES.map((i) => [i.name, true])));
    expect((await c.query(`select 1 from pg_extension where extname = 'pg_trgm'`)).rowCount).toBe(1);
    expect((await c.query('select count(*)::int as n from customers')).rows[0].n).toBe(50);
  } finally {
    await previous.close();
  }
});
