import { parse } from 'csv-parse/sync';
import { aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { Role } from '../../src/auth/roles';
import { EXPORT_COLUMNS } from '../../src/audit/audit.format';
import { ACCEPTANCE_AUDIT, buildStory, type AuditWorld } from './fixture';

/** DESIGN.md section 9: the trail exported as a stream (CSV or JSON Lines), with the API's tenancy and masking. */

let gw: TestGateway;
let w: AuditWorld;
beforeAll(async () => {
  gw = await startGateway();
  w = await buildStory(gw);
});
afterAll(() => gw?.stop());

const exportUrl = (params: Record<string, string>) => `${gw.url.replace(/\/graphql$/, '')}/exports/acceptances?${new URLSearchParams(params)}`;
const get = (params: Record<string, string>, token?: string) => fetch(exportUrl(params), { headers: token ? { authorization: `Bearer ${token}` } : {} });
const jsonl = async (res: Response) => (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));

/** The GraphQL trail of each customer, flattened to the export's shape. */
async function graphqlTrail(token: string, customerIds: string[]) {
  const rows: Record<string, string | null>[] = [];
  for (const customerId of customerIds) {
    const res = await gw.gql(ACCEPTANCE_AUDIT, { customerId, partnerId: w.provider.id }, token);
    expect(res.errors).toBeUndefined();
    for (const e of res.data.customer.auditTrail) {
      rows.push({ at: e.at, event: e.event, customerId, acceptanceId: e.acceptance?.id ?? null, actorId: e.actor?.id ?? null, field: e.field, oldValue: e.oldValue, newValue: e.newValue, note: e.note });
    }
  }
  return rows.sort((a, b) => Date.parse(a.at!) - Date.parse(b.at!));
}
const comparable = (r: Record<string, string | null>) => ({
  at: r.at,
  event: r.event,
  customerId: r.customerId,
  acceptanceId: r.acceptanceId || null,
  actorId: r.actorId || null,
  field: r.field || null,
  oldValue: r.oldValue || null,
  newValue: r.newValue || null,
  note: r.note || null,
});

describe('GET /exports/acceptances', () => {
  it('JSON Lines: matches the GraphQL trail event for event, naming customer, tenant id, partner, acceptance, actor', async () => {
    const token = await aPartnerToken(w.provider, Role.VIEWER);
    const res = await get({ partnerId: w.provider.id, format: 'jsonl' }, token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="acceptance-audit-${w.provider.id}-all-all.jsonl"`);
    const rows = await jsonl(res);
    expect(rows.map(comparable)).toEqual((await graphqlTrail(token, [w.customer.id, w.second.id])).map(comparable));
    expect(rows.length).toBe(11);
    expect(rows[0]).toMatchObject({ customerId: w.customer.id, customerTenantId: w.customer.tenantId, partnerId: w.provider.id, partnerName: w.provider.name, actorName: `${w.reseller.name} AGENT` });
  });

  it('CSV: a header of the columns, then the same rows', async () => {
    const token = await platformAdminToken();
    const [csv, lines] = await Promise.all([get({ partnerId: w.provider.id, format: 'csv' }, token), get({ partnerId: w.provider.id, format: 'jsonl' }, token)]);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const text = await csv.text();
    expect(text.split('\n')[0]).toBe(EXPORT_COLUMNS.join(','));
    const records = parse(text, { columns: true }) as Record<string, string>[];
    expect(records.map(comparable)).toEqual((await jsonl(lines)).map(comparable));
  });

  it('from and to restrict the period (a date-only `to` includes that day); the file name says so', async () => {
    const token = await aPartnerToken(w.provider);
    const all = await jsonl(await get({ partnerId: w.provider.id, format: 'jsonl' }, token));
    const cut = all[4].at;
    const after = await get({ partnerId: w.provider.id, format: 'jsonl', from: cut }, token);
    expect((await jsonl(after)).map((r) => r.at)).toEqual(all.filter((r) => r.at >= cut).map((r) => r.at));
    const today = new Date().toISOString().slice(0, 10);
    const byDay = await get({ partnerId: w.provider.id, from: today, to: today }, token);
    expect(byDay.headers.get('content-disposition')).toContain(`-${today}-`);
    expect(parse(await byDay.text(), { columns: true }).length).toBe(all.length);
    expect((await jsonl(await get({ partnerId: w.provider.id, format: 'jsonl', to: '2020-01-01' }, token))).length).toBe(0);
  });

  it('analysts get contact values masked, as in GraphQL', async () => {
    const rows = await jsonl(await get({ partnerId: w.provider.id, format: 'jsonl' }, await analystToken()));
    expect(rows.filter((r) => r.event === 'CORRECTED').map((r) => [r.field, r.oldValue, r.newValue])).toEqual([
      ['lastName', 'L***', 'K***'],
      ['email', 'a***@example.com', 'a***@example.com'],
    ]);
  });

  it('tenancy: a reseller exports only the customers it serves with a linked provider', async () => {
    const rows = await jsonl(await get({ partnerId: w.provider.id, format: 'jsonl' }, await aPartnerToken(w.reseller)));
    expect([...new Set(rows.map((r) => r.customerId))]).toEqual([w.customer.id]);
  });

  it('streams more rows than one cursor batch, in order, none lost or doubled', async () => {
    const [acceptance] = await gw.orm.em.fork().getConnection().execute<{ id: string }[]>(
      "select id from acceptances where customer_id = ? and partner_id = ? and status = 'ACTIVE'",
      [w.second.id, w.provider.id],
    );
    await gw.orm.em.fork().getConnection().execute(
      `insert into acceptance_corrections (id, acceptance_id, corrected_by_id, corrected_at, field, old_value, new_value)
       select gen_random_uuid(), ?, ?, now() + make_interval(secs => g), 'firstName', 'A' || g, 'B' || g from generate_series(1, 2500) g`,
      [acceptance.id, w.users.providerAgent],
    );
    const rows = await jsonl(await get({ partnerId: w.provider.id, format: 'jsonl' }, await platformAdminToken()));
    const corrections = rows.filter((r) => r.customerId === w.second.id && r.event === 'CORRECTED');
    expect(corrections.map((r) => r.newValue)).toEqual(Array.from({ length: 2500 }, (_, i) => `B${i + 1}`));
    expect(rows.length).toBe(11 + 2500);
  });

  it.each([
    ['no token', 401, {}, null, 'UNAUTHENTICATED', undefined],
    ['a missing partnerId', 400, {}, 'provider', 'BAD_USER_INPUT', 'partnerId'],
    ['an unknown format', 400, { format: 'xml' }, 'provider', 'BAD_USER_INPUT', 'format'],
    ['a bad date', 400, { from: '2026-13-01' }, 'provider', 'BAD_USER_INPUT', 'from'],
    ['a date that is not one', 400, { to: 'yesterday' }, 'provider', 'BAD_USER_INPUT', 'to'],
    ['from after to', 400, { from: '2026-02-01', to: '2026-01-01' }, 'provider', 'BAD_USER_INPUT', 'to'],
    ["another tenant's partner", 404, { partner: 'other' }, 'provider', 'NOT_FOUND', 'partnerId'],
    ['a malformed partner id', 404, { partnerId: 'nope' }, 'provider', 'NOT_FOUND', 'partnerId'],
  ] as const)('%s is a clear %i', async (_name, status, params, who, code, field) => {
    const { partner, ...rest } = params as Record<string, string>;
    const query: Record<string, string> = { ...rest };
    if (_name !== 'a missing partnerId' && !query.partnerId) query.partnerId = partner === 'other' ? w.other.id : w.provider.id;
    const res = await get(query, who ? await aPartnerToken(w.provider) : undefined);
    expect(res.status).toBe(status);
    const body = await res.json();
    expect(body.errors[0].extensions).toEqual(field ? { code, field } : { code });
  });

  it('a value holding a comma, a quote or a line break is quoted in CSV (RFC 4180) and unchanged in JSON Lines; instants are UTC with milliseconds as in the API', async () => {
    const [acceptance] = await gw.orm.em.fork().getConnection().execute<{ id: string }[]>(
      "select id from acceptances where customer_id = ? and partner_id = ? and status = 'ACTIVE'",
      [w.second.id, w.provider.id],
    );
    const tricky = 'Smith, "Jr."\nsecond line\r\nthird';
    await gw.orm.em.fork().getConnection().execute(
      `insert into acceptance_corrections (id, acceptance_id, corrected_by_id, corrected_at, field, old_value, new_value)
       values (gen_random_uuid(), ?, ?, '2030-01-02T03:04:05.1Z', 'lastName', ?, 'Plain')`,
      [acceptance.id, w.users.providerAgent, tricky],
    );
    const token = await platformAdminToken();
    const lines = (await jsonl(await get({ partnerId: w.provider.id, format: 'jsonl', from: '2030-01-01' }, token))) as Record<string, string>[];
    expect(lines.map((r) => [r.at, r.oldValue, r.newValue])).toEqual([['2030-01-02T03:04:05.100Z', tricky, 'Plain']]);
    const text = await (await get({ partnerId: w.provider.id, format: 'csv', from: '2030-01-01' }, token)).text();
    expect(text).toContain(`,"Smith, ""Jr.""\nsecond line\r\nthird",Plain,`);
    expect(parse(text, { columns: true })).toEqual(lines.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v ?? '']))));
  });
});
