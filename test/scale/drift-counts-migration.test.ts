import type { Client } from 'pg';
import type { EntityManager } from '@mikro-orm/postgresql';
import { insertPartnerUserTemplate, previousReleaseDatabase } from '../support/migrations';
import { migrate } from '../../src/db/migrate';
import { refillDriftCounts, resolveDrift, upsertDrift } from '../../src/reconciliation/reconciliation.queries';
import { DriftKind } from '../../src/reconciliation/reconciliation.enums';

/**
 * Migration20261211100000 on a database of the previous release: drift rows counted per
 * (billing partner, open) from the rows already there, then kept right by the statement
 * triggers through every kind of write a reconciliation, a customer's deletion or an operator makes.
 */

const PREVIOUS_RELEASE = 'Migration20261210100000';
const THIS = 'Migration20261211100000';
const P = '00000000-0000-4000-8000-000000000001';
const Q = '00000000-0000-4000-8000-000000000002';

let db: { drop(): Promise<void> } | undefined;
afterAll(() => db?.drop());

/** The counts (zeros left out) against the rows, grouped as the counts are. */
async function agrees(c: Client): Promise<void> {
  const counts = await c.query(`select partner_id, open, n::int from acceptance_drift_counts where n <> 0 order by 1, 2`);
  const live = await c.query(`select partner_id, resolved_at is null as open, count(*)::int as n from acceptance_drift group by 1, 2 order by 1, 2`);
  expect(counts.rows).toEqual(live.rows);
}

it('counts the drift rows of a previous release per partner and open, and the triggers keep the counts right through upserts, resolutions, cascades, deletes and truncation', async () => {
  const previous = await previousReleaseDatabase(PREVIOUS_RELEASE);
  ({ db } = previous);
  const { orm, c } = previous;
  try {
    await insertPartnerUserTemplate(c, { partnerId: P, templateId: 'tpl-drift-counts' });
    await c.query(`insert into partners (id, name, tenant_id, type, created_at) values ($1, 'Q', 't-q', 'DIRECT_BILL', now())`, [Q]);
    await c.query(
      `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
       select ('00000000-0000-4000-9000-' || lpad(i::text, 12, '0'))::uuid, 't-' || i, 'Company ' || i, 'c' || i || '.example', 'US', 'A', 'B', 'a@example.com', now()
         from generate_series(1, 12) i`,
    );
    // The previous release's drift: P's on every customer (a third resolved), Q's on the first four.
    await c.query(
      `insert into acceptance_drift (id, customer_id, partner_id, kind, detail, first_detail, first_detected_at, detected_at, resolved_at)
       select gen_random_uuid(), c.id, $1, 'MISSING_UPSTREAM', 'd', 'd', now(), now(), case when substr(c.tenant_id, 3)::int % 3 = 0 then now() end from customers c`,
      [P],
    );
    await c.query(
      `insert into acceptance_drift (id, customer_id, partner_id, kind, detail, first_detail, first_detected_at, detected_at, resolved_at)
       select gen_random_uuid(), c.id, $1, 'CONTACT_DIFFERS', 'd', 'd', now(), now(), null from customers c where c.tenant_id in ('t-1', 't-2', 't-3', 't-4')`,
      [Q],
    );

    expect(await migrate(orm, { to: THIS })).toEqual([THIS]);
    await agrees(c);
    expect((await c.query(`select partner_id, open, n::int from acceptance_drift_counts order by 1, 2`)).rows).toEqual([
      { partner_id: P, open: false, n: 4 },
      { partner_id: P, open: true, n: 8 },
      { partner_id: Q, open: true, n: 4 },
    ]);

    const em = () => orm.em.fork() as unknown as EntityManager;
    const customers = (await c.query<{ id: string }>(`select id from customers order by id`)).rows.map((r) => r.id);
    const at = new Date();
    // A reconciliation's chunk: two open rows found again (updated), two new (inserted), in one statement.
    await upsertDrift(em(), Q, [customers[0], customers[1], customers[4], customers[5]].map((customerId) => ({ customerId, kind: DriftKind.CONTACT_DIFFERS, detail: 'again', acceptanceId: null })), at);
    await agrees(c);
    // Its resolutions: Q's checked customers not found again.
    expect(await resolveDrift(em(), Q, customers.slice(0, 6), [{ customerId: customers[0], kind: DriftKind.CONTACT_DIFFERS, detail: 'again', acceptanceId: null }], at)).toBe(5);
    await agrees(c);
    // A customer deleted: its drift goes by cascade.
    await c.query(`delete from customers where id = $1`, [customers[0]]);
    await agrees(c);
    // Both kinds of rows of one partner moved at once, and deleted outright.
    await c.query(`update acceptance_drift set resolved_at = case when resolved_at is null then now() end where partner_id = $1`, [P]);
    await agrees(c);
    await c.query(`delete from acceptance_drift where partner_id = $1 and resolved_at is null`, [P]);
    await agrees(c);
    await c.query(`truncate acceptance_drift`);
    expect((await c.query(`select count(*)::int as n from acceptance_drift_counts`)).rows[0].n).toBe(0);

    // A load with the triggers off (the benchmark seeder's COPY) is counted again by the refill.
    await c.query(`set session_replication_role = replica`);
    await c.query(
      `insert into acceptance_drift (id, customer_id, partner_id, kind, detail, first_detail, first_detected_at, detected_at, resolved_at)
       select gen_random_uuid(), c.id, $1, 'MISSING_UPSTREAM', 'd', 'd', now(), now(), null from customers c`,
      [P],
    );
    await c.query(`set session_replication_role = origin`);
    expect((await c.query(`select count(*)::int as n from acceptance_drift_counts`)).rows[0].n).toBe(0);
    await refillDriftCounts(em());
    await agrees(c);
  } finally {
    await previous.close();
  }
});
