import { Client } from 'pg';
import { indexValidity, insertPartnerUserTemplate, previousReleaseDatabase } from '../support/migrations';
import { migrate } from '../../src/db/migrate';
import { EXPORT_INDEXES } from '../../migrations/Migration20261208100000';
import { copyRowColumns, EXPORT_BEGIN, exportSql } from '../../src/audit/audit.queries';
import { Role } from '../../src/auth/roles';

/**
 * Migration20261208100000 on a database filled by the previous release: the export's time
 * indexes are built concurrently, outside a transaction (an index a failed run left invalid
 * is built again), the rows stay, the entities agree, and the export's statement then reads
 * each of its branches through them.
 */

const PREVIOUS_RELEASE = 'Migration20261207100000';
const P = '00000000-0000-4000-8000-000000000001';
const T = '00000000-0000-4000-8000-0000000000aa';

let db: { drop(): Promise<void> } | undefined;
afterAll(() => db?.drop());

const indexes = (c: Client) => indexValidity(c, EXPORT_INDEXES.map((i) => i.name));

it('builds the export indexes on a database of the previous release, and the export reads through them', async () => {
  const previous = await previousReleaseDatabase(PREVIOUS_RELEASE);
  ({ db } = previous);
  const { orm, c } = previous;
  try {
    await insertPartnerUserTemplate(c, { partnerId: P, templateId: T });
    const template = (await c.query(`select template_id from agreement_templates order by template_id limit 1`)).rows[0].template_id as string;
    // 60 customers of P, every tenth with a direct acceptance; each with an acceptance (some superseded, some withdrawn) and its sync.
    await c.query(
      `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at, direct_acceptance_type, direct_accepted_on, direct_acceptance_source)
       select gen_random_uuid(), 't-' || i, 'C ' || i, 'c' || i || '.example', 'US', 'A', 'B', 'a@example.com', now(),
              case when i % 10 = 0 then 'MICROSOFT_CUSTOMER_AGREEMENT' end, case when i % 10 = 0 then date '2026-01-01' + i end, case when i % 10 = 0 then 'PLATFORM_ADMIN' end
         from generate_series(1, 60) i`,
    );
    await c.query(`insert into customer_relationships (id, customer_id, partner_id, created_at) select gen_random_uuid(), id, $1, now() from customers`, [P]);
    await c.query(
      `insert into acceptances (id, customer_id, partner_id, template_id, date_agreed, contact_first_name, contact_last_name, contact_email, channel, status, confirmed_by_id, recorded_at, superseded_at, withdrawn_at, withdrawn_by_id, withdrawal_reason, source)
       select gen_random_uuid(), c.id, $1, $2, date '2026-01-01', 'A', 'B', 'a@example.com', 'API',
              case when n % 3 = 0 then 'SUPERSEDED' when n % 5 = 0 then 'WITHDRAWN' else 'ACTIVE' end, 'u', now() - n * interval '1 hour',
              case when n % 3 = 0 then now() end, case when n % 3 <> 0 and n % 5 = 0 then now() end, case when n % 3 <> 0 and n % 5 = 0 then 'u' end,
              case when n % 3 <> 0 and n % 5 = 0 then 'left' end, 'PARTNER_RECORDED'
         from (select id, row_number() over (order by id) as n from customers) c`,
      [P, template],
    );
    await c.query(
      `insert into acceptance_syncs (acceptance_id, partner_id, status, attempts, created_at, last_attempt_at, synced_at, last_error)
       select a.id, a.partner_id, case when a.status = 'WITHDRAWN' then 'FAILED' else 'SYNCED' end, 1, now(), now(),
              case when a.status <> 'WITHDRAWN' then now() end, case when a.status = 'WITHDRAWN' then 'Partner Center answered 503' end
         from acceptances a`,
    );
    const before = (await c.query(`select (select count(*) from acceptances)::int as acceptances, (select count(*) from acceptance_syncs)::int as syncs`)).rows[0];
    // A run cut short left one index invalid (as a failed `create index concurrently` does).
    await c.query(`create index concurrently "subscription_events_partner_id_at_index" on "subscription_events" ("partner_id", "at")`);
    await c.query(`update pg_index set indisvalid = false where indexrelid = '"subscription_events_partner_id_at_index"'::regclass`);
    expect(await indexes(c)).toEqual({ subscription_events_partner_id_at_index: false });

    const applied = await migrate(orm);
    expect(applied).toContain('Migration20261208100000');
    expect(await indexes(c)).toEqual(Object.fromEntries(EXPORT_INDEXES.map((i) => [i.name, true])));
    expect((await c.query(`select (select count(*) from acceptances)::int as acceptances, (select count(*) from acceptance_syncs)::int as syncs`)).rows[0]).toEqual(before);
    expect(await orm.getMigrator().checkMigrationNeeded()).toBe(false);

    // The export of P in its own transaction: every branch read through its time index, its rows all there.
    const { sql, params } = exportSql({ userId: 'a', displayName: 'A', roles: [Role.PLATFORM_ADMIN] }, { partnerId: P, from: null, to: null, format: 'csv' }, { columns: copyRowColumns() });
    const native = orm.em.getConnection().getKnex().raw(sql, params as never[]).toSQL().toNative();
    await c.query(EXPORT_BEGIN);
    try {
      const plan = (await c.query({ text: `explain (costs off) ${native.sql}`, values: native.bindings as unknown[] })).rows.map((r) => r['QUERY PLAN']).join('\n');
      for (const index of EXPORT_INDEXES) expect(plan).toContain(`Index Scan using ${index.name} on`);
      const rows = (await c.query({ text: native.sql, values: native.bindings as unknown[], rowMode: 'array' })).rows as string[][];
      const count = (event: string) => rows.filter((r) => r[1] === event).length;
      expect(count('CONFIRMED')).toBe(60);
      expect(count('DIRECT_ACCEPTANCE')).toBe(6);
      expect(count('SUPERSEDED')).toBe(20);
      expect(count('WITHDRAWN')).toBe(8);
      expect(count('SYNC_FAILED')).toBe(8);
      expect(count('SYNCED')).toBe(52);
    } finally {
      await c.query('rollback');
    }
  } finally {
    await previous.close();
  }
});
