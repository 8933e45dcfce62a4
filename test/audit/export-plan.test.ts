import { Client } from 'pg';
import { startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import { byTimeFor, copyRowColumns, exportSql, type ExportRequest } from '../../src/audit/audit.queries';
import type { Viewer } from '../../src/auth/viewer';
import { buildStory, type AuditWorld } from './fixture';

/**
 * The export's two statements (src/audit/audit.queries.ts): events read in time order
 * (`byTime`, for a partner with many corrections) and all events sorted at once. They
 * must give the same rows in the same order, ties within one instant included, for
 * every kind of viewer and period.
 */

let gw: TestGateway;
let w: AuditWorld;
let db: Client;
let providerAcceptances = 0;

const TIE = '2033-03-03T03:03:03.000001Z';
let beforeAnalyze: { provider: boolean; other: boolean };

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
  // The table was never analyzed yet (reltuples is -1): the choice must not take every partner for a large one.
  beforeAnalyze = { provider: await byTimeFor(db, w.provider.id), other: await byTimeFor(db, w.other.id) };
  await db.query('analyze acceptance_corrections');
});
afterAll(async () => {
  await db?.end();
  await gw?.stop();
});

const platformAdmin: Viewer = { userId: 'test-admin', displayName: 'Admin', roles: [Role.PLATFORM_ADMIN] };
const resellerViewer = (): Viewer => ({ userId: 'test-reseller', displayName: 'Reseller', roles: [Role.AGENT], partnerId: w.reseller.id, partnerType: PartnerType.INDIRECT_RESELLER });
const providerViewer = (): Viewer => ({ userId: 'test-provider', displayName: 'Provider', roles: [Role.AGENT], partnerId: w.provider.id, partnerType: PartnerType.INDIRECT_PROVIDER });

async function rows(viewer: Viewer, req: ExportRequest, byTime: boolean): Promise<string[][]> {
  const { sql, params } = exportSql(viewer, req, { columns: copyRowColumns(), byTime });
  // `?` placeholders as pg's own ($1, ...), by knex.
  const native = gw.orm.em.getConnection().getKnex().raw(sql, params as never[]).toSQL().toNative();
  await db.query("set time zone 'UTC'");
  return (await db.query({ text: native.sql, values: native.bindings as unknown[], rowMode: 'array' })).rows;
}

describe('export statements', () => {
  it('time order is chosen for a partner with at least an eighth of all corrections, not for one with fewer', async () => {
    expect(await byTimeFor(db, w.provider.id)).toBe(true);
    expect(await byTimeFor(db, w.other.id)).toBe(false);
    expect(await byTimeFor(db, w.reseller.id)).toBe(false);
  });

  it('before the corrections table is first analyzed, the choice is the same (its size is counted then)', () => {
    expect(beforeAnalyze).toEqual({ provider: true, other: false });
  });

  it('read in time order, the rows and their order are those of the sorted statement (viewers, periods, ties)', async () => {
    const whole = { partnerId: w.provider.id, from: null, to: null, format: 'csv' } as const;
    const cases: [Viewer, ExportRequest][] = [
      [platformAdmin, whole],
      [providerViewer(), whole],
      [resellerViewer(), whole],
      [platformAdmin, { ...whole, from: new Date('2033-01-01T00:00:05Z'), to: new Date(TIE) }],
      [platformAdmin, { ...whole, from: new Date(TIE), to: null }],
      [platformAdmin, { ...whole, partnerId: w.other.id }],
    ];
    for (const [viewer, req] of cases) {
      const sorted = await rows(viewer, req, false);
      expect(await rows(viewer, req, true)).toEqual(sorted);
      expect(sorted.length).toBeGreaterThan(0);
    }
    const all = await rows(platformAdmin, whole, true);
    const atTie = all.filter((r) => r[0] === '2033-03-03 03:03:03.000001+00');
    // Both customers, every field, and no correction of the other partner.
    expect(new Set(atTie.map((r) => r[2])).size).toBe(2);
    expect(atTie.length).toBe(6 * providerAcceptances);
    expect(providerAcceptances).toBeGreaterThan(2);
    expect(all.length).toBeGreaterThan(40);
  });
});
