import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { initOrm } from '../../src/db/orm';
import { entities } from '../../src/features';
import { migrate } from '../../src/db/migrate';
import { queryRows } from '../../src/db/query';
import { backfillAuditChain, verifyEveryPair } from '../../src/audit/audit.chain';
import { complianceStatusSql } from '../../src/acceptance/compliance';
import { freshDatabase } from '../support/database';
import { parseScale, seedScale, sizeFor, TABLES, type ScaleWorld } from '../../bench/scale-seed';

/** The bench's scale seeder (bench/scale-seed.ts) at 500 customers, twice, into two fresh databases. */
const CUSTOMERS = 500;
const SEED_DAY = '2026-12-01';

let dbs: Awaited<ReturnType<typeof freshDatabase>>[] = [];
let worlds: ScaleWorld[] = [];
let orm: MikroORM;

async function seeded(): Promise<[Awaited<ReturnType<typeof freshDatabase>>, ScaleWorld]> {
  const db = await freshDatabase();
  dbs.push(db);
  const o = await initOrm(db.url, entities);
  try {
    await migrate(o);
  } finally {
    await o.close();
  }
  return [db, await seedScale(db.url, { customers: CUSTOMERS, seed: 7, seedDay: SEED_DAY, log: () => undefined })];
}

/** A digest of every row of a table, in key order. */
async function digest(url: string, table: string, order: string): Promise<string> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ d: string }>(`select md5(string_agg(t::text, '|' order by ${order})) as d from ${table} t`);
    return rows[0].d;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  const a = await seeded();
  const b = await seeded();
  worlds = [a[1], b[1]];
  orm = await initOrm(a[0].url, entities);
}, 120_000);

afterAll(async () => {
  await orm?.close();
  for (const db of dbs) await db.drop();
});

test('BENCH_SCALE accepts counts and the 10k, 100k, 1m spellings', () => {
  expect(parseScale(undefined)).toBe(10_000);
  expect(parseScale('10k')).toBe(10_000);
  expect(parseScale('100K')).toBe(100_000);
  expect(parseScale('1m')).toBe(1_000_000);
  expect(parseScale('1_000_000')).toBe(1_000_000);
  expect(() => parseScale('lots')).toThrow(/BENCH_SCALE/);
});

test('partners grow with the documented formula: 10k as today, 1M a distributor with about 2,000 resellers', () => {
  expect(sizeFor(10_000)).toMatchObject({ direct: 10, providers: 10, resellers: 30, ordersPerCustomer: 5 });
  expect(sizeFor(1_000_000)).toMatchObject({ direct: 50, providers: 50 });
  expect(sizeFor(1_000_000).resellers).toBeGreaterThan(1_900);
  expect(sizeFor(1_000_000).resellers).toBeLessThan(2_100);
});

test('the same seed and seed day give the same world, row for row', async () => {
  const [a, b] = dbs.map((d) => d.url);
  expect(worlds[1].counts).toEqual(worlds[0].counts);
  expect(worlds[1].samples).toEqual(worlds[0].samples);
  for (const [table, order] of [
    ['customers', 't.id'],
    ['acceptances', 't.id'],
    ['subscriptions', 't.id'],
    ['orders', 't.id'],
    ['blocked_order_alerts', 't.id'],
    ['audit_chain', 't.customer_id, t.partner_id, t.seq'],
  ]) {
    expect(await digest(b, table, order)).toBe(await digest(a, table, order));
  }
});

test('the world is in proportion: five orders a customer, a fifth with two billing partners, an alert per blocked order', async () => {
  const { counts } = worlds[0];
  expect(counts.customers).toBe(CUSTOMERS);
  expect(counts.orders).toBe(5 * CUSTOMERS);
  expect(counts.customer_relationships / CUSTOMERS).toBeGreaterThan(1.12);
  expect(counts.customer_relationships / CUSTOMERS).toBeLessThan(1.28);
  const em = orm.em.fork() as unknown as EntityManager;
  const [row] = await queryRows<{ blocked: number; alerts: number; unmatched: number }>(
    em,
    `select (select count(*)::int from orders where outcome = 'BLOCKED') as blocked, (select count(*)::int from blocked_order_alerts) as alerts,
            (select count(*)::int from orders o where o.outcome = 'BLOCKED' and not exists (select 1 from blocked_order_alerts b where b.order_id = o.id)) as unmatched`,
  );
  expect(row.alerts).toBe(row.blocked);
  expect(row.unmatched).toBe(0);
  for (const table of ['acceptance_corrections', 'acceptance_submissions', 'attestations', 'acceptance_drift', 'acceptance_syncs', 'subscription_events', 'renewal_risk_alerts', 'audit_chain']) {
    expect([table, counts[table]]).toEqual([table, expect.any(Number)]);
    expect([table, counts[table] > 0]).toEqual([table, true]);
  }
});

test('every compliance state, both agreement types, every subscription term, cycle and status are present', async () => {
  const em = orm.em.fork() as unknown as EntityManager;
  const status = complianceStatusSql({ kind: 'all' }, 'c.id');
  const states = await queryRows<{ s: string }>(em, `select distinct ${status.sql} as s from customers c`, status.params);
  expect(states.map((x) => x.s).sort()).toEqual(['CONFIRMED', 'MISSING', 'NOT_APPLICABLE', 'OUTDATED', 'REACCEPTANCE_REQUIRED', 'WITHDRAWN']);
  const types = await queryRows<{ type: string }>(em, `select distinct t.type from acceptances a join agreement_templates t on t.template_id = a.template_id order by 1`);
  expect(types.map((x) => x.type)).toEqual(['MICROSOFT_CLOUD_AGREEMENT', 'MICROSOFT_CUSTOMER_AGREEMENT']);
  const subs = await queryRows<{ terms: string[]; cycles: string[]; statuses: string[] }>(
    em,
    `select array_agg(distinct term_duration order by term_duration) as terms, array_agg(distinct billing_cycle order by billing_cycle) as cycles,
            array_agg(distinct status order by status) as statuses from subscriptions`,
  );
  expect(subs[0]).toEqual({ terms: ['P1M', 'P1Y', 'P3Y'], cycles: ['ANNUAL', 'MONTHLY', 'TRIENNIAL'], statuses: ['ACTIVE', 'CANCELLED', 'ENDING', 'EXPIRED'] });
  const [direct] = await queryRows<{ n: number }>(em, `select count(*)::int as n from customers where direct_acceptance_type is not null`);
  expect(direct.n).toBeGreaterThan(0);
});

test('the seeded audit chain verifies and the start-up backfill finds nothing to chain', async () => {
  const em = orm.em.fork() as unknown as EntityManager;
  let invalid = 0;
  const verified = await verifyEveryPair(em, (results) => {
    invalid += results.filter((r) => !r.valid).length;
  });
  expect(verified.events).toBe(worlds[0].counts.audit_chain);
  expect(invalid).toBe(0);
  expect(await backfillAuditChain(em)).toEqual({ pairs: 0, links: 0 });
});

test('the world names its samples: a long trail, an attestation, a drift row, a sync', async () => {
  const { samples, partners } = worlds[0];
  expect(samples.longTrail.links).toBeGreaterThanOrEqual(5);
  for (const id of [samples.attestationId, samples.driftId, samples.syncAcceptanceId]) expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect(partners.every((p) => p.adminUser.startsWith('bench-admin-'))).toBe(true);
  const em = orm.em.fork() as unknown as EntityManager;
  const [links] = await queryRows<{ n: number }>(em, `select count(*)::int as n from audit_chain where customer_id = ? and partner_id = ?`, [samples.longTrail.customerId, samples.longTrail.partnerId]);
  expect(links.n).toBe(samples.longTrail.links);
});

test('the seeded database has every key, index and foreign key of a migrated one (dropped for the load, built after)', async () => {
  const shape = async (url: string) => {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      const constraints = await c.query(`select conrelid::regclass::text as t, conname, pg_get_constraintdef(oid) as def from pg_constraint
                                           where connamespace = 'public'::regnamespace and contype in ('p', 'u', 'f') order by 1, 2`);
      const indexes = await c.query(`select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' order by 1, 2`);
      return { constraints: constraints.rows, indexes: indexes.rows };
    } finally {
      await c.end();
    }
  };
  const migrated = await freshDatabase();
  dbs.push(migrated);
  const o = await initOrm(migrated.url, entities);
  try {
    await migrate(o);
  } finally {
    await o.close();
  }
  const expected = await shape(migrated.url);
  // Not vacuous: the derived tables' keys, indexes and foreign key are among them.
  expect(expected.indexes.map((i) => i.indexname)).toEqual(expect.arrayContaining(['customer_compliance_pkey', 'renewal_facts_partner_id_renews_on_subscription_id_index', 'renewal_fact_counts_pkey']));
  expect(expected.constraints.map((c) => c.conname)).toContain('customer_compliance_customer_id_foreign');
  expect(await shape(dbs[0].url)).toEqual(expected);
});

test('the loaded rows go in frozen: no row of a loaded table waits for a later read to set its hint bits', async () => {
  // Unfrozen, the first statement to read a page after the load (a key's build, an analyze, a
  // rebuild) set its rows' hint bits, and with data checksums (PostgreSQL 18's initdb) logged
  // the whole page: 7 GB of WAL at 1M. A frozen row's infomask has both xmin bits set.
  const c = new Client({ connectionString: dbs[1].url });
  await c.connect();
  try {
    await c.query('create extension if not exists pageinspect');
    const { rows } = await c.query<{ table: string; rows: number; unfrozen: number }>(
      `select t as table, count(i.*)::int as rows, count(*) filter (where i.t_infomask & 768 <> 768)::int as unfrozen
         from unnest($1::text[]) t
         cross join lateral generate_series(0, (pg_relation_size(t::regclass) / current_setting('block_size')::int)::int - 1) b
         cross join lateral heap_page_items(get_raw_page(t, b)) i
        where i.lp_flags = 1
        group by t order by 1`,
      [Object.keys(TABLES)],
    );
    // Not vacuous: the large tables have rows.
    expect(rows.find((r) => r.table === 'orders')!.rows).toBe(CUSTOMERS * 5);
    expect(rows.find((r) => r.table === 'audit_chain')!.rows).toBeGreaterThan(CUSTOMERS);
    expect(rows.filter((r) => r.unfrozen > 0)).toEqual([]);
  } finally {
    await c.end();
  }
});
