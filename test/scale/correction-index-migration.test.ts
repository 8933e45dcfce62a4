import { Client } from 'pg';
import { indexValidity, insertPartnerUserTemplate, previousReleaseDatabase } from '../support/migrations';
import { migrate } from '../../src/db/migrate';
import { positional } from '../../src/db/query';
import { DERIVED_ALL } from '../../src/audit/audit.chain';
import { CORRECTION_INDEX } from '../../migrations/Migration20261210100000';

/**
 * Migration20261210100000 on a database filled by the previous release: the corrections'
 * index on (acceptance, field, time, id) is built concurrently (one a failed run left invalid
 * is built again), the one on the acceptance alone goes, the rows stay, the entities agree,
 * and the audit trail's facts then probe the new index per event instead of reading every
 * correction of the acceptance per event (n² rows for a trail of n corrections).
 */

const PREVIOUS_RELEASE = 'Migration20261209100000';
const P = '00000000-0000-4000-8000-000000000001';
const T = '00000000-0000-4000-8000-0000000000aa';

let db: { drop(): Promise<void> } | undefined;
afterAll(() => db?.drop());

const trail = async (c: Client, customerId: string) => {
  const { rows } = await c.query({ text: positional(DERIVED_ALL), values: [[customerId], [P]] });
  return rows;
};

it('builds the corrections index on a database of the previous release, and the trail facts probe it', async () => {
  const previous = await previousReleaseDatabase(PREVIOUS_RELEASE);
  ({ db } = previous);
  const { orm, c } = previous;
  try {
    await insertPartnerUserTemplate(c, { partnerId: P, templateId: T });
    // 40 customers of P, each with an acceptance whose contact was corrected 60 times, 15 per field.
    await c.query(
      `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
       select gen_random_uuid(), 't-' || i, 'C ' || i, 'c' || i || '.example', 'US', 'A', 'B', 'a@example.com', now() from generate_series(1, 40) i`,
    );
    await c.query(`insert into customer_relationships (id, customer_id, partner_id, created_at) select gen_random_uuid(), id, $1, now() from customers`, [P]);
    await c.query(
      `insert into acceptances (id, customer_id, partner_id, template_id, date_agreed, contact_first_name, contact_last_name, contact_email, channel, status, confirmed_by_id, recorded_at, source)
       select gen_random_uuid(), id, $1, $2, date '2026-01-01', 'A', 'B', 'a@example.com', 'API', 'ACTIVE', 'u', timestamptz '2026-01-01 12:00Z', 'PARTNER_RECORDED' from customers`,
      [P, T],
    );
    await c.query(
      `insert into acceptance_corrections (id, acceptance_id, corrected_by_id, corrected_at, field, old_value, new_value)
       select gen_random_uuid(), a.id, 'u', timestamptz '2026-01-02 12:00Z' + g * interval '1 minute', (array['firstName','lastName','email','phoneNumber'])[1 + g % 4], 'old-' || g, 'new-' || g
         from acceptances a cross join generate_series(0, 59) g`,
    );
    await c.query('analyze');
    const customerId = (await c.query(`select id from customers order by id limit 1`)).rows[0].id as string;
    const before = await trail(c, customerId);
    // A run cut short left the index invalid (as a failed `create index concurrently` does).
    await c.query(`create index concurrently "${CORRECTION_INDEX.name}" on "acceptance_corrections" ("acceptance_id")`);
    await c.query(`update pg_index set indisvalid = false where indexrelid = '"${CORRECTION_INDEX.name}"'::regclass`);
    expect(await indexValidity(c, [CORRECTION_INDEX.name, 'acceptance_corrections_acceptance_id_index'])).toEqual({ [CORRECTION_INDEX.name]: false, acceptance_corrections_acceptance_id_index: true });

    const applied = await migrate(orm);
    expect(applied).toContain('Migration20261210100000');
    expect(await indexValidity(c, [CORRECTION_INDEX.name, 'acceptance_corrections_acceptance_id_index'])).toEqual({ [CORRECTION_INDEX.name]: true });
    const def = (await c.query(`select indexdef from pg_indexes where indexname = $1`, [CORRECTION_INDEX.name])).rows[0].indexdef as string;
    expect(def).toContain('(acceptance_id, field, corrected_at, id)');
    expect((await c.query('select count(*)::int as n from acceptance_corrections')).rows[0].n).toBe(40 * 60);
    expect(await orm.getMigrator().checkMigrationNeeded()).toBe(false);

    // The trail is the same, every correction in it, and its facts are read through the new index.
    const after = await trail(c, customerId);
    expect(after).toEqual(before);
    expect(after.filter((e) => e.event === 'CORRECTED')).toHaveLength(60);
    const plan = (await c.query({ text: `explain (costs off) ${positional(DERIVED_ALL)}`, values: [[customerId], [P]] })).rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toContain(`using ${CORRECTION_INDEX.name} on acceptance_corrections`);
    expect(plan).not.toMatch(/Seq Scan on acceptance_corrections/);
  } finally {
    await previous.close();
  }
});
