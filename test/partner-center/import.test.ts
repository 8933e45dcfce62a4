import { request } from 'node:http';
import { aCustomer, anAgreement, aPartner, aPartnerToken, aLink } from '../factories';
import { type TestGateway } from '../support/gateway';
import { Role, PartnerType } from '../../src/auth/roles';
import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../../src/db/query';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import type { Customer } from '../../src/customers/customer.entity';
import type { Partner } from '../../src/partners/partner.entity';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { MCA_TEMPLATE_ID, startPartnerCenterSimulator, type PartnerCenterSimulator } from '../../simulator';
import { CloudInstance } from '../../src/customers/customer.enums';
import { aConnectedPartner, confirmationsOf, eventually, startPcGateway, type ConnectedPartner } from './support';

let fake: PartnerCenterSimulator;
let gw: TestGateway;
let template: AgreementTemplate;
let importUrl: string;

beforeAll(async () => {
  fake = await startPartnerCenterSimulator();
  gw = await startPcGateway(fake);
  template = await anAgreement(gw, { templateId: MCA_TEMPLATE_ID, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-10-01' });
  importUrl = gw.url.replace('/graphql', '/imports/acceptances');
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

const HEADER = 'customerTenantId,firstName,lastName,email,phoneNumber,dateAgreed,templateId';
const line = (c: Customer, over: Partial<Record<string, string>> = {}) => {
  const v = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phoneNumber: '+14255550100', dateAgreed: '2024-03-01', templateId: MCA_TEMPLATE_ID, ...over };
  return [c.tenantId, v.firstName, v.lastName, v.email, v.phoneNumber, v.dateAgreed, v.templateId].join(',');
};

async function post(body: string, token: string | undefined, headers: Record<string, string> = {}) {
  const res = await fetch(importUrl, { method: 'POST', headers: { 'content-type': 'text/csv', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body });
  return { status: res.status, body: (await res.json()) as any };
}

/**
 * `n` customers of `partner`, written set-based (tenant ids returned in order). A fixture, not a
 * request: without the sessions' statement timeout, since the compliance directory's triggers
 * refresh each of the 10,000 customers in the insert's own statement (seconds alone, more under
 * a full parallel run).
 */
async function bulkCustomers(partner: Partner, n: number): Promise<string[]> {
  const prefix = `bulk-${partner.id.slice(0, 8)}`;
  await gw.orm.em.fork().transactional(async (tx) => {
    await queryRows(tx as EntityManager, 'set local statement_timeout = 0');
    await queryRows(
      tx as EntityManager,
      `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
       select gen_random_uuid(), ? || '-' || i, 'Bulk ' || i, 'bulk' || i || '.example', 'US', 'Jane', 'Doe', 'jane@example.com', now() from generate_series(0, ? - 1) i`,
      [prefix, n],
    );
    await queryRows(
      tx as EntityManager,
      `insert into customer_relationships (id, customer_id, partner_id, created_at) select gen_random_uuid(), c.id, ?, now() from customers c where c.tenant_id like ? || '-%'`,
      [partner.id, prefix],
    );
  });
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}

const countAcceptances = async (partner: Partner) =>
  Number((await gw.orm.em.fork().getConnection().execute('select count(*)::int as n from acceptances where partner_id = ?', [partner.id]))[0].n);

describe('bulk import: POST /imports/acceptances', () => {
  let p: ConnectedPartner;
  let customers: Customer[];
  beforeAll(async () => {
    p = await aConnectedPartner(gw, fake);
    customers = await Promise.all([1, 2, 3, 4].map(() => aCustomer(gw, { partners: [{ partner: p.partner }] })));
  });

  test('valid lines are recorded and synced; invalid ones are reported {line, field, code, message}', async () => {
    const stranger = await aCustomer(gw);
    const csv = [
      HEADER,
      line(customers[0]),
      line(customers[1], { email: 'not-an-email' }),
      line(customers[2], { dateAgreed: '2999-01-01' }),
      line(stranger),
      line(customers[3], { templateId: 'no-such-template' }),
      line(customers[3], { firstName: '' }),
      line(customers[3], { dateAgreed: '01/02/2024' }),
      line(customers[1]),
    ].join('\n');
    const res = await post(csv, p.agent);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 2, rejected: 6, replayed: false, errorsTruncated: false });
    expect(res.body.errors).toEqual([
      { line: 3, field: 'email', code: 'BAD_USER_INPUT', message: 'email is not a valid email address' },
      { line: 4, field: 'dateAgreed', code: 'BAD_USER_INPUT', message: 'dateAgreed may not lie in the future' },
      { line: 5, field: 'customerTenantId', code: 'NOT_FOUND', message: `Customer ${stranger.tenantId} not found` },
      { line: 6, field: 'templateId', code: 'BAD_USER_INPUT', message: 'Agreement template no-such-template does not exist' },
      { line: 7, field: 'firstName', code: 'BAD_USER_INPUT', message: 'firstName is required' },
      { line: 8, field: 'dateAgreed', code: 'BAD_USER_INPUT', message: 'dateAgreed must be a date YYYY-MM-DD' },
    ]);
    expect(await countAcceptances(p.partner)).toBe(2);
    const synced = await eventually(
      async () => (await gw.orm.em.fork().getConnection().execute<{ status: string }[]>('select status from acceptance_syncs where partner_id = ?', [p.partner.id])).map((r) => r.status),
      (s) => s.length === 2 && s.every((x) => x === 'SYNCED'),
    );
    expect(synced).toEqual(['SYNCED', 'SYNCED']);
    const posts = [...confirmationsOf(fake, customers[0].tenantId), ...confirmationsOf(fake, customers[1].tenantId)];
    expect(posts).toHaveLength(2);
    // One file, yet each call its own MS-RequestId and MS-CorrelationId.
    expect(posts[0].headers['ms-correlationid']).not.toBe(posts[1].headers['ms-correlationid']);
    expect(posts[0].headers['ms-requestid']).not.toBe(posts[1].headers['ms-requestid']);
  });

  test('an Idempotency-Key makes a re-sent file a no-op; the same key with another file is CONFLICT', async () => {
    const csv = [HEADER, line(customers[2]), line(customers[3], { email: 'bad' })].join('\n');
    const before = await countAcceptances(p.partner);
    const first = await post(csv, p.agent, { 'idempotency-key': 'file-42' });
    expect(first.body).toMatchObject({ accepted: 1, rejected: 1, replayed: false });
    const again = await post(csv, p.agent, { 'idempotency-key': 'file-42' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...first.body, replayed: true });
    expect(await countAcceptances(p.partner)).toBe(before + 1);
    const other = await post(`${csv}\n${line(customers[0])}`, p.agent, { 'idempotency-key': 'file-42' });
    expect(other.status).toBe(409);
    expect(other.body.errors[0].extensions.code).toBe('CONFLICT');
    expect(await countAcceptances(p.partner)).toBe(before + 1);
  });

  test('malformed CSV, a wrong header, a wrong content type: clear 4xx, nothing recorded', async () => {
    const before = await countAcceptances(p.partner);
    const malformed = await post([HEADER, line(customers[0]), `${customers[1].tenantId},"Ada,Lovelace`].join('\n'), p.agent);
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors[0].message).toMatch(/^Malformed CSV/);
    const ragged = await post([HEADER, line(customers[0]), `${customers[1].tenantId},Ada`].join('\n'), p.agent);
    expect(ragged.status).toBe(400);
    const header = await post(['tenant,first,last', 'a,b,c'].join('\n'), p.agent);
    expect(header.status).toBe(400);
    expect(header.body.errors[0].message).toContain('customerTenantId,firstName,lastName,email,phoneNumber,dateAgreed,templateId');
    const json = await post(JSON.stringify({ lines: [] }), p.agent, { 'content-type': 'application/json' });
    expect(json.status).toBe(415);
    const empty = await post('', p.agent);
    expect(empty.status).toBe(400);
    expect(await countAcceptances(p.partner)).toBe(before);
  });

  // The streamed file is parsed up to the limit (one 50 MB field): well over jest's 30 s on a loaded machine.
  test('over 50 MB: 413 (declared or streamed), nothing recorded', async () => {
    const before = await countAcceptances(p.partner);
    const declared = await new Promise<number>((resolve, reject) => {
      const req = request(importUrl, { method: 'POST', headers: { 'content-type': 'text/csv', 'content-length': String(51 * 1024 * 1024), authorization: `Bearer ${p.agent}` } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
        req.destroy();
      });
      req.on('error', reject);
      req.write(HEADER + '\n');
    });
    expect(declared).toBe(413);

    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(importUrl, { method: 'POST', headers: { 'content-type': 'text/csv', 'transfer-encoding': 'chunked', authorization: `Bearer ${p.agent}` } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(`${HEADER}\n${line(customers[0])}\n`);
      const block = Buffer.alloc(1024 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (sent < 52) {
          sent++;
          if (!req.write(block)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(streamed).toBe(413);
    expect(await countAcceptances(p.partner)).toBe(before);
  }, 180_000);

  test("only the billing partner's AGENT or ADMIN imports", async () => {
    const csv = [HEADER, line(customers[0])].join('\n');
    expect((await post(csv, undefined)).status).toBe(401);
    expect((await post(csv, 'not-a-token')).status).toBe(401);
    expect((await post(csv, await aPartnerToken(p.partner, Role.VIEWER))).status).toBe(403);
    const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    expect((await post(csv, await aPartnerToken(reseller, Role.ADMIN))).status).toBe(403);
    // Another partner sees none of these customers: each line is NOT_FOUND, as for any other tenant's record.
    const other = await aConnectedPartner(gw, fake, { connect: false });
    const res = await post(csv, other.agent);
    expect(res.body).toMatchObject({ accepted: 0, rejected: 1 });
    expect(res.body.errors[0]).toMatchObject({ field: 'customerTenantId', code: 'NOT_FOUND' });
  });

  test('two lines for the same customer in one file: each supersedes the one before, the last is the one ACTIVE', async () => {
    const c = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    expect((await post([HEADER, line(c, { firstName: 'Before' })].join('\n'), p.agent)).body).toMatchObject({ accepted: 1 });
    const res = await post([HEADER, line(c, { firstName: 'One' }), line(customers[0]), line(c, { firstName: 'Two' }), line(c, { firstName: 'Three' })].join('\n'), p.agent);
    expect(res.body).toMatchObject({ accepted: 4, rejected: 0 });
    const rows = await gw.orm.em
      .fork()
      .getConnection()
      .execute<{ name: string; status: string; recorded_at: Date; superseded_at: Date | null }[]>(
        'select contact_first_name as name, status, recorded_at, superseded_at from acceptances where customer_id = ? and partner_id = ? order by recorded_at',
        [c.id, p.partner.id],
      );
    expect(rows.map((r) => [r.name, r.status])).toEqual([
      ['Before', 'SUPERSEDED'],
      ['One', 'SUPERSEDED'],
      ['Two', 'SUPERSEDED'],
      ['Three', 'ACTIVE'],
    ]);
    // Each was superseded at the instant the next one was recorded (the audit trail pairs them so).
    for (let i = 0; i + 1 < rows.length; i++) expect(rows[i].superseded_at).toEqual(rows[i + 1].recorded_at);
    // Every recorded line is queued for Partner Center, superseded ones too (as four separate confirmations would be).
    const syncs = await gw.orm.em
      .fork()
      .getConnection()
      .execute('select 1 from acceptance_syncs s join acceptances a on a.id = s.acceptance_id where a.customer_id = ? and a.partner_id = ?', [c.id, p.partner.id]);
    expect(syncs).toHaveLength(4);
  });

  test('a national-cloud customer is NOT_APPLICABLE and a NUL character BAD_USER_INPUT, on their line only', async () => {
    const national = await aCustomer(gw, { cloud: CloudInstance.US_GOVERNMENT, partners: [{ partner: p.partner }] });
    const before = await countAcceptances(p.partner);
    const res = await post([HEADER, line(national), line(customers[0], { email: 'ada\u0000@example.com' }), line(customers[1])].join('\n'), p.agent);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 1, rejected: 2 });
    expect(res.body.errors).toEqual([
      { line: 2, field: 'line', code: 'NOT_APPLICABLE', message: 'Acceptance confirmation is not supported on the US_GOVERNMENT cloud' },
      { line: 3, field: 'email', code: 'BAD_USER_INPUT', message: 'email must not contain the NUL character' },
    ]);
    expect(await countAcceptances(p.partner)).toBe(before + 1);
  });

  test('invalid lines on either side of a chunk boundary are reported by their own line; the valid ones around them are recorded', async () => {
    const LINES = 2_500;
    const many = await aConnectedPartner(gw, fake, { connect: false });
    const tenants = await bulkCustomers(many.partner, LINES);
    const bad = new Map<number, string>([
      [1_001, 'not-an-email'],
      [1_002, 'also@bad'],
      [2_001, 'x'],
      [2_501, 'y'],
    ]);
    // File line n (the header is line 1) names tenant n - 2; tenant 0 comes back on the last line, in another chunk.
    const csv = [HEADER, ...tenants.map((t, i) => `${t},First${i},Last${i},${bad.get(i + 2) ?? `p${i}@example.com`},,2024-03-01,${MCA_TEMPLATE_ID}`), `${tenants[0]},Again,Last,again@example.com,,2024-03-02,${MCA_TEMPLATE_ID}`].join('\n');
    const res = await post(csv, many.agent);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: LINES + 1 - bad.size, rejected: bad.size });
    expect(res.body.errors).toEqual([...bad.keys()].map((n) => ({ line: n, field: 'email', code: 'BAD_USER_INPUT', message: 'email is not a valid email address' })));
    expect(await countAcceptances(many.partner)).toBe(LINES + 1 - bad.size);
    const [again] = await gw.orm.em
      .fork()
      .getConnection()
      .execute<{ name: string; status: string }[]>(
        `select a.contact_first_name as name, a.status from acceptances a join customers c on c.id = a.customer_id where c.tenant_id = ? and a.partner_id = ? order by a.recorded_at desc`,
        [tenants[0], many.partner.id],
      );
    expect(again).toEqual({ name: 'Again', status: 'ACTIVE' });
  });

  test('a 10,000-line file is recorded through the confirmation checks and writer, a chunk at a time', async () => {
    const LINES = 10_000;
    const big = await aConnectedPartner(gw, fake, { connect: false });
    const tenants = await bulkCustomers(big.partner, LINES);
    const csv = [HEADER, ...tenants.map((t, i) => `${t},First${i},Last${i},p${i}@example.com,,2024-03-01,${MCA_TEMPLATE_ID}`)].join('\n');
    const res = await post(csv, big.agent, { 'idempotency-key': 'bulk-10k' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: LINES, rejected: 0, errors: [] });
    expect(await countAcceptances(big.partner)).toBe(LINES);
    const states = await gw.orm.em.fork().getConnection().execute<{ status: string; n: number }[]>('select status, count(*)::int as n from acceptance_syncs where partner_id = ? group by status', [big.partner.id]);
    expect(states).toEqual([{ status: 'NOT_CONNECTED', n: LINES }]);
    // A re-sent file with the same key is answered from the first run.
    expect((await post(csv, big.agent, { 'idempotency-key': 'bulk-10k' })).body).toMatchObject({ accepted: LINES, replayed: true });
    expect(await countAcceptances(big.partner)).toBe(LINES);
  }, 120_000);
});
