import { Client } from 'pg';
import { startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import { copyRowColumns, EXPORT_BEGIN, exportSql, type ExportRequest } from '../../src/audit/audit.queries';
import { auditEventsSql } from '../../src/audit/audit.sql';
import { visibleCustomerCondition } from '../../src/auth/tenancy';
import type { Viewer } from '../../src/auth/viewer';
import { EXPORT_INDEXES } from '../../migrations/Migration20261208100000';
import { buildStory, type AuditWorld } from './fixture';

/**
 * The export's statement (src/audit/audit.queries.ts) reads one partner's events in time
 * order from indexes, each row's customer probed. It must give the rows of the trail as its
 * other readers derive it (`auditEventsSql` over the viewer's pairs, sorted at once: the
 * reference below), in the same order, ties within one instant included, for every kind of
 * viewer and period; and no branch may be sorted (the first byte would wait for it).
 */

let gw: TestGateway;
let w: AuditWorld;
let db: Client;
let providerAcceptances = 0;

const TIE = '2033-03-03T03:03:03.000001Z';

beforeAll(async () => {
  gw = await startGateway();
  w = await buildStory(gw);
  db = new Client({ connectionString: gw.databaseUrl });
  await db.connect();
  const acceptances = async (partnerId: string) =>
    (await db.query('select id from acceptances where partner_id = $1 order by id', [partnerId])).rows.map((r) => r.id as string);
  const insert = (acceptanceId: string, at: string, field: string, k: number) =>
    db.query(
      `insert into acceptance_corrections (id, acceptance_id, corrected_by_id, corrected_at, field, old_value, new_value)
       values (gen_random_uuid(), $1, $2, $3::timestamptz, $4, $5, $6)`,
      [acceptanceId, w.users.providerAgent, at, field, `old-${k}`, `new-${k}@example.com`],
    );
  // The provider's acceptances (both customers): corrections spread over time, and many at one instant
  // (every field, several of each), so the order within an instant rests on customer, rank and key.
  let k = 0;
  const ids = await acceptances(w.provider.id);
  providerAcceptances = ids.length;
  for (const id of ids) {
    // Contact fields only: `key` orders corrections by the contact's field order (a field outside it has no key).
    for (const field of ['phoneNumber', 'email', 'lastName', 'firstName', 'email', 'phoneNumber']) {
      await insert(id, TIE, field, ++k);
      await insert(id, new Date(Date.UTC(2033, 0, 1, 0, 0, k)).toISOString(), field, ++k);
    }
  }
  // The other partner's correction at the same instant is never the provider's.
  await insert((await acceptances(w.other.id))[0], TIE, 'email', ++k);
  await db.query('analyze');
});
afterAll(async () => {
  await db?.end();
  await gw?.stop();
});

const platformAdmin: Viewer = { userId: 'test-admin', displayName: 'Admin', roles: [Role.PLATFORM_ADMIN] };
const resellerViewer = (): Viewer => ({ userId: 'test-reseller', displayName: 'Reseller', roles: [Role.AGENT], partnerId: w.reseller.id, partnerType: PartnerType.INDIRECT_RESELLER });
const providerViewer = (): Viewer => ({ userId: 'test-provider', displayName: 'Provider', roles: [Role.AGENT], partnerId: w.provider.id, partnerType: PartnerType.INDIRECT_PROVIDER });

/** The trail as its other readers derive it: the viewer's pairs listed, every event of them sorted at once. */
function reference(viewer: Viewer, req: ExportRequest): { sql: string; params: unknown[] } {
  const visible = visibleCustomerCondition(viewer, 'c.id');
  const period = [req.from && 'e.at >= ?::timestamptz', req.to && 'e.at < ?::timestamptz'].filter(Boolean);
  return {
    sql: `with pairs as materialized (select c.id as customer_id, ?::uuid as partner_id from customers c where ${visible.sql})
      select ${copyRowColumns()} from (
        select e.at, e.event, e.customer_id, e.partner_id, e.acceptance_id, e.actor_id, e.field, e.old_value, e.new_value, e.note,
               c.tenant_id as customer_tenant_id, c.company_name as customer_name, pt.name as partner_name, u.display_name as actor_name
          from (${auditEventsSql()}) e
          join customers c on c.id = e.customer_id
          join partners pt on pt.id = e.partner_id
          left join users u on u.id = e.actor_id
         where ${period.length ? period.join(' and ') : 'true'}
         order by e.at, e.customer_id, e.rank, e.key) r`,
    params: [req.partnerId, ...visible.params, ...[req.from, req.to].filter((d): d is Date => d !== null).map((d) => d.toISOString())],
  };
}

/** Runs a statement with `?` placeholders in the export's transaction (its settings), rows as arrays. */
async function run(statement: { sql: string; params: unknown[] }, explain = false): Promise<string[][]> {
  // `?` placeholders as pg's own ($1, ...), by knex.
  const native = gw.orm.em.getConnection().getKnex().raw(statement.sql, statement.params as never[]).toSQL().toNative();
  await db.query(EXPORT_BEGIN);
  try {
    return (await db.query({ text: `${explain ? 'explain (costs off) ' : ''}${native.sql}`, values: native.bindings as unknown[], rowMode: 'array' })).rows;
  } finally {
    await db.query('rollback');
  }
}

const exported = (viewer: Viewer, req: ExportRequest) => run(exportSql(viewer, req, { columns: copyRowColumns() }));

describe('export statement', () => {
  it('gives the rows of the trail and their order as the sorted reference does (viewers, periods, ties)', async () => {
    const whole = { partnerId: w.provider.id, from: null, to: null, format: 'csv' } as const;
    const cases: [Viewer, ExportRequest][] = [
      [platformAdmin, whole],
      [providerViewer(), whole],
      [resellerViewer(), whole],
      [platformAdmin, { ...whole, from: new Date('2033-01-01T00:00:05Z'), to: new Date(TIE) }],
      [platformAdmin, { ...whole, from: new Date(TIE), to: null }],
      [platformAdmin, { ...whole, partnerId: w.other.id }],
      [providerViewer(), { ...whole, from: new Date('2033-01-01T00:00:05Z'), to: null }],
    ];
    for (const [viewer, req] of cases) {
      const sorted = await run(reference(viewer, req));
      expect(await exported(viewer, req)).toEqual(sorted);
      expect(sorted.length).toBeGreaterThan(0);
    }
    const all = await exported(platformAdmin, whole);
    const atTie = all.filter((r) => r[0] === '2033-03-03 03:03:03.000001+00');
    // Both customers, every field, and no correction of the other partner.
    expect(new Set(atTie.map((r) => r[2])).size).toBe(2);
    expect(atTie.length).toBe(6 * providerAcceptances);
    expect(providerAcceptances).toBeGreaterThan(2);
    expect(all.length).toBeGreaterThan(40);
  });

  it('reads every branch in time order from an index: no sort but the one of rows of one instant, nothing hashed', async () => {
    for (const viewer of [platformAdmin, providerViewer(), resellerViewer()]) {
      const plan = (await run(exportSql(viewer, { partnerId: w.provider.id, from: null, to: null, format: 'csv' }, { columns: copyRowColumns() }), true)).map((r) => r[0]).join('\n');
      expect(plan).toMatch(/Merge Append/);
      expect(plan).toMatch(/Incremental Sort/);
      expect(plan.match(/(?<!Incremental )Sort\b(?! Key| Method)/g)).toBeNull();
      expect(plan).not.toMatch(/Hash|hashed/);
      // The branches' rows come from their time indexes (with no sort allowed, no other way gives the order).
      for (const index of [...EXPORT_INDEXES.map((i) => i.name), 'acceptance_corrections_corrected_at_index']) {
        expect(plan).toContain(`Index Scan using ${index} on`);
      }
    }
  });
});
