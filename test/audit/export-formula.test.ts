import { Client } from 'pg';
import { parse } from 'csv-parse/sync';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { EXPORT_COLUMNS } from '../../src/audit/audit.format';
import { buildStory, type AuditWorld } from './fixture';

/**
 * CSV injection (OWASP): in the export's CSV, a text value that a spreadsheet would read
 * as a formula (starting with =, +, -, @, tab or carriage return) is written with a leading
 * apostrophe inside a quoted field, in every text column, whether PostgreSQL writes the
 * records (platform admin) or the gateway does (analyst, contact values masked).
 */

let gw: TestGateway;
let w: AuditWorld;
let db: Client;

/** A value per column that can carry text from outside, each starting with another trigger. */
const HOSTILE: Partial<Record<(typeof EXPORT_COLUMNS)[number], string>> = {
  customerTenantId: '=HYPERLINK("http://evil.example","x")',
  customerName: '+SUM(1,2)',
  partnerName: '-2+3',
  actorId: '@actor',
  actorName: '\tTabbed actor',
  oldValue: '\rcarriage',
  newValue: '=cmd|"/C calc"!A0',
};
/** Notes: onBehalfOf (CONFIRMED), the withdrawal reason (WITHDRAWN), the review note (REJECTED). */
const NOTES: Record<string, string> = { CONFIRMED: '=onBehalfOf()', WITHDRAWN: '+withdrawal reason', REJECTED: '@review note' };

beforeAll(async () => {
  gw = await startGateway();
  w = await buildStory(gw);
  db = new Client({ connectionString: gw.databaseUrl });
  await db.connect();
  const c = w.customer.id;
  const p = w.provider.id;
  await db.query('update customers set tenant_id = $1, company_name = $2 where id = $3', [HOSTILE.customerTenantId, HOSTILE.customerName, c]);
  await db.query('update partners set name = $1 where id = $2', [HOSTILE.partnerName, p]);
  // An actor whose id (a token's subject) and name are hostile: the provider's withdrawal is theirs.
  await db.query("insert into users (id, display_name, partner_id, roles, first_seen_at, last_seen_at) values ($1, $2, $3, '{ADMIN}', now(), now())", [HOSTILE.actorId, HOSTILE.actorName, p]);
  await db.query('update acceptances set withdrawn_by_id = $1, withdrawal_reason = $2 where customer_id = $3 and partner_id = $4 and withdrawn_at is not null', [HOSTILE.actorId, NOTES.WITHDRAWN, c, p]);
  await db.query('update acceptances set on_behalf_of = $1 where customer_id = $2 and partner_id = $3 and on_behalf_of is not null', [NOTES.CONFIRMED, c, p]);
  await db.query("update acceptance_submissions set review_note = $1 where customer_id = $2 and provider_id = $3 and status = 'REJECTED'", [NOTES.REJECTED, c, p]);
  // A correction of a field outside the contact (not masked for analysts), with hostile old and new values.
  await db.query(
    `insert into acceptance_corrections (id, acceptance_id, corrected_by_id, corrected_at, field, old_value, new_value)
     select gen_random_uuid(), a.id, $3, now(), 'companyName', $4, $5 from acceptances a where a.customer_id = $1 and a.partner_id = $2 limit 1`,
    [c, p, w.users.providerAgent, HOSTILE.oldValue, HOSTILE.newValue],
  );
});
afterAll(async () => {
  await db?.end();
  await gw?.stop();
});

const csv = async (token: string) => {
  const res = await fetch(`${gw.url.replace(/\/graphql$/, '')}/exports/acceptances?partnerId=${w.provider.id}&format=csv`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return res.text();
};
const quoted = (v: string) => `"'${v.replace(/"/g, '""')}"`;

describe.each([
  ['platform admin (records written by PostgreSQL)', platformAdminToken],
  ['analyst (records written by the gateway)', analystToken],
] as const)('CSV export, %s', (_who, token) => {
  let text: string;
  let records: Record<string, string>[];
  beforeAll(async () => {
    text = await csv(await token());
    records = parse(text, { columns: true });
  });

  it.each(Object.entries(HOSTILE))('%s: a leading apostrophe inside the quoted field', (column, value) => {
    const values = records.map((r) => r[column]);
    expect(values).toContain(`'${value}`);
    expect(values).not.toContain(value);
    expect(text).toContain(quoted(value));
  });

  it.each(Object.entries(NOTES))('note of %s: a leading apostrophe inside the quoted field', (event, value) => {
    const notes = records.filter((r) => r.event === event).map((r) => r.note);
    expect(notes).toContain(`'${value}`);
    expect(text).toContain(quoted(value));
  });

  it('no field but the instant starts with a formula character', () => {
    for (const r of records) for (const c of EXPORT_COLUMNS.filter((c) => c !== 'at')) expect(r[c]).not.toMatch(/^[=+\-@\t\r]/);
  });
});

it('JSON Lines are not a spreadsheet format: values are written as they are', async () => {
  const res = await fetch(`${gw.url.replace(/\/graphql$/, '')}/exports/acceptances?partnerId=${w.provider.id}&format=jsonl`, { headers: { authorization: `Bearer ${await platformAdminToken()}` } });
  const lines = (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  expect(lines.map((l) => l.customerName)).toContain(HOSTILE.customerName);
});
