import { Client } from 'pg';
import { stringify } from 'csv-stringify/sync';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { aPartnerToken } from '../factories';
import { Role } from '../../src/auth/roles';
import { EXPORT_COLUMNS } from '../../src/audit/audit.format';
import { auditEventsSql, maskedValue } from '../../src/audit/audit.sql';
import { contactValue } from '../../src/auth/mask';
import type { Viewer } from '../../src/auth/viewer';
import { buildStory, type AuditWorld } from './fixture';

/**
 * The export's bytes, for every kind of viewer and both formats, against a reference
 * written independently of the gateway's formatting: the trail read with pg's default
 * type parsers (instants as Date), contact values through the masking helper, then
 * csv-stringify (defaults) or JSON.stringify of one object per row, as the export was
 * first written. The fixture's values hold what CSV, COPY and JSON treat specially.
 */

let gw: TestGateway;
let w: AuditWorld;
let db: Client;

const TRICKY = [
  'Smith, "Jr."\nsecond line\r\nthird',
  'only\rcarriage return',
  '',
  '"',
  ',',
  '\\.',
  'back\\slash and \\N',
  'tab\there',
  'ctrl\u0001\u001f',
  '  leading and trailing spaces  ',
  'Zoë Ångström 名前 😀 e\u0301',
  '\u2028line separator',
  'NULL',
  "O'Brien",
  'null',
];

beforeAll(async () => {
  gw = await startGateway();
  w = await buildStory(gw);
  db = new Client({ connectionString: gw.databaseUrl });
  await db.connect();
  const { rows } = await db.query("select id from acceptances where customer_id = $1 and partner_id = $2 and status = 'ACTIVE'", [w.second.id, w.provider.id]);
  const acceptance = rows[0].id as string;
  // Corrections of every contact field and a non-contact one, with tricky old and new values (and NULLs).
  const fields = ['firstName', 'lastName', 'email', 'phoneNumber', 'companyName'];
  let k = 0;
  for (const value of [...TRICKY, null]) {
    for (const field of fields) {
      k++;
      await db.query(
        `insert into acceptance_corrections (id, acceptance_id, corrected_by_id, corrected_at, field, old_value, new_value)
         values (gen_random_uuid(), $1, $2, '2031-01-01T00:00:00Z'::timestamptz + make_interval(secs => $3::int), $4, $5, $6)`,
        [acceptance, w.users.providerAgent, k, field, value, value === null ? 'x@example.com' : `${value}@example.com`],
      );
    }
  }
  // Instants: microseconds (truncated to milliseconds), whole seconds, years 10000 and 1 BC.
  for (const at of ['2032-02-03T04:05:06.123987Z', '2032-02-03T04:05:07Z', '2032-02-03T04:05:07.999999Z', '10000-01-01T00:00:00Z', '0001-06-01T12:00:00.5Z BC']) {
    await db.query(
      `insert into acceptance_corrections (id, acceptance_id, corrected_by_id, corrected_at, field, old_value, new_value)
       values (gen_random_uuid(), $1, $2, $3::timestamptz, 'email', 'a@b.example', 'c@d.example')`,
      [acceptance, w.users.providerAgent, at],
    );
  }
  // Names that need quoting, in the joined columns too.
  await db.query('update customers set company_name = $1 where id = $2', ['Contoso, "Ltd"\nBranch 😀', w.second.id]);
  await db.query('update partners set name = $1 where id = $2', ['Fabrikam "EU", GmbH', w.provider.id]);
  await db.query('update users set display_name = $1 where id = $2', ['', w.users.providerAgent]);
});
afterAll(async () => {
  await db?.end();
  await gw?.stop();
});

const exportUrl = (params: Record<string, string>) => `${gw.url.replace(/\/graphql$/, '')}/exports/acceptances?${new URLSearchParams(params)}`;
const bytes = async (params: Record<string, string>, token: string) => {
  const res = await fetch(exportUrl(params), { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
};

/** The reference: the trail as row objects (every customer visible to a platform role), formatted by libraries. */
async function reference(viewer: Viewer | null, format: 'csv' | 'jsonl'): Promise<Buffer> {
  const { rows } = await db.query(
    `with pairs as materialized (select c.id as customer_id, $1::uuid as partner_id from customers c)
     select e.at, e.event, e.customer_id, c.tenant_id, c.company_name, e.partner_id, pt.name as partner_name, e.acceptance_id, e.actor_id,
            u.display_name, e.field, e.old_value, e.new_value, e.note
       from (${auditEventsSql()}) e
       join customers c on c.id = e.customer_id join partners pt on pt.id = e.partner_id left join users u on u.id = e.actor_id
      order by e.at, e.customer_id, e.rank, e.key`,
    [w.provider.id],
  );
  const objects = rows.map((r) => ({
    at: (r.at as Date).toISOString(),
    event: r.event,
    customerId: r.customer_id,
    customerTenantId: r.tenant_id,
    customerName: r.company_name,
    partnerId: r.partner_id,
    partnerName: r.partner_name,
    acceptanceId: r.acceptance_id,
    actorId: r.actor_id,
    actorName: r.display_name,
    field: r.field,
    oldValue: maskedValue(viewer, r.field, r.old_value),
    newValue: maskedValue(viewer, r.field, r.new_value),
    note: r.note,
  }));
  expect(Object.keys(objects[0])).toEqual([...EXPORT_COLUMNS]);
  // CSV injection (OWASP): a text value a spreadsheet reads as a formula gets a leading apostrophe, quoted.
  const neutralised = (value: string, ctx: { column?: number | string; header: boolean }) =>
    !ctx.header && ctx.column !== 'at' && /^[=+\-@\t\r]/.test(value) ? { value: `'${value}`, quoted: true } : value;
  if (format === 'csv') return Buffer.from(stringify(objects, { header: true, columns: [...EXPORT_COLUMNS], cast: { string: neutralised } }));
  return Buffer.from(objects.map((o) => `${JSON.stringify(o)}\n`).join(''));
}

const analyst: Viewer = { userId: 'test-analyst', displayName: 'Analyst', roles: [Role.ANALYST] };

describe('GET /exports/acceptances: bytes', () => {
  it('the reference masks contact values for analysts only (the fixture exercises both kinds of viewer)', () => {
    expect(contactValue(analyst, 'email', 'ada@example.com')).not.toBe('ada@example.com');
    expect(contactValue(null, 'email', 'ada@example.com')).toBe('ada@example.com');
  });

  it.each([
    ['platform admin', 'csv'],
    ['platform admin', 'jsonl'],
    ['analyst', 'csv'],
    ['analyst', 'jsonl'],
  ] as const)('%s, %s: byte for byte the reference', async (who, format) => {
    const token = who === 'analyst' ? await analystToken() : await platformAdminToken();
    const got = await bytes({ partnerId: w.provider.id, format }, token);
    const expected = await reference(who === 'analyst' ? analyst : null, format);
    expect(got.toString('utf8')).toEqual(expected.toString('utf8'));
    expect(got.equals(expected)).toBe(true);
    expect(got.toString('utf8').split('\n').length).toBeGreaterThan(80);
  });

  it('a partner viewer gets the same bytes as the platform admin for its own partner (tenancy unchanged)', async () => {
    const own = await bytes({ partnerId: w.provider.id, format: 'csv' }, await aPartnerToken(w.provider));
    const admin = await bytes({ partnerId: w.provider.id, format: 'csv' }, await platformAdminToken());
    expect(own.equals(admin)).toBe(true);
    const reseller = (await bytes({ partnerId: w.provider.id, format: 'csv' }, await aPartnerToken(w.reseller))).toString('utf8');
    expect(reseller).not.toContain(w.second.id);
    expect(reseller).toContain(w.customer.id);
  });

  it('an empty period is the CSV header alone (written by PostgreSQL or formatted here) and an empty JSON Lines file', async () => {
    for (const token of [await platformAdminToken(), await analystToken()]) {
      const period = { partnerId: w.provider.id, from: '2020-01-01', to: '2020-01-02' };
      expect((await bytes({ ...period, format: 'csv' }, token)).toString('utf8')).toBe(`${EXPORT_COLUMNS.join(',')}\n`);
      expect((await bytes({ ...period, format: 'jsonl' }, token)).length).toBe(0);
    }
  });

  it('from and to are written into the statement as literals: the period is the same as with bind parameters', async () => {
    const token = await platformAdminToken();
    const period = await bytes({ partnerId: w.provider.id, format: 'jsonl', from: '2031-01-01T00:00:10Z', to: '2031-01-01' }, token);
    const lines = period.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.map((l) => l.at)).toEqual(Array.from({ length: (TRICKY.length + 1) * 5 - 9 }, (_, i) => new Date(Date.UTC(2031, 0, 1, 0, 0, 10 + i)).toISOString()));
  });
});
