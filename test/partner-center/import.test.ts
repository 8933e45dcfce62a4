import { request } from 'node:http';
import { aCustomer, anAgreement, aPartner, aPartnerToken, aLink } from '../factories';
import { type TestGateway } from '../support/gateway';
import { Role, PartnerType } from '../../src/partners/partner.enums';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import type { Customer } from '../../src/customers/customer.entity';
import { Customer as CustomerEntity, CustomerRelationship } from '../../src/customers/customer.entity';
import { Partner } from '../../src/partners/partner.entity';
import { FakePartnerCenter } from './fake';
import { aConnectedPartner, eventually, startPcGateway, type ConnectedPartner } from './support';

let fake: FakePartnerCenter;
let gw: TestGateway;
let template: AgreementTemplate;
let importUrl: string;

beforeAll(async () => {
  fake = await new FakePartnerCenter().start();
  gw = await startPcGateway(fake);
  template = await anAgreement(gw, { templateId: 'mca-import', effectiveFrom: '2020-01-01' });
  importUrl = gw.url.replace('/graphql', '/imports/acceptances');
});
afterAll(async () => {
  await gw?.stop();
  await fake?.stop();
});

const HEADER = 'customerTenantId,firstName,lastName,email,phoneNumber,dateAgreed,templateId';
const line = (c: Customer, over: Partial<Record<string, string>> = {}) => {
  const v = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phoneNumber: '+14255550100', dateAgreed: '2024-03-01', templateId: 'mca-import', ...over };
  return [c.tenantId, v.firstName, v.lastName, v.email, v.phoneNumber, v.dateAgreed, v.templateId].join(',');
};

async function post(body: string, token: string | undefined, headers: Record<string, string> = {}) {
  const res = await fetch(importUrl, { method: 'POST', headers: { 'content-type': 'text/csv', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body });
  return { status: res.status, body: (await res.json()) as any };
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
    expect(fake.confirmations(customers[0].tenantId)).toHaveLength(1);
    expect(fake.confirmations(customers[1].tenantId)).toHaveLength(1);
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
  });

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

  // One statement round trip per step of each line: slow on a loaded machine, hence the long timeout.
  test('a 10,000-line file is recorded line by line through the confirmation service', async () => {
    const LINES = 10_000;
    const big = await aConnectedPartner(gw, fake, { connect: false });
    // 10,000 customers of the partner, written in one statement batch by the ORM.
    const em = gw.orm.em.fork();
    const tenants: string[] = [];
    for (let i = 0; i < LINES; i++) {
      const tenantId = `bulk-${big.partner.id.slice(0, 8)}-${i}`;
      tenants.push(tenantId);
      const c = em.create(CustomerEntity, {
        tenantId,
        companyName: `Bulk ${i}`,
        domain: `bulk${i}.example`,
        country: 'US',
        primaryContact: { firstName: 'Jane', lastName: 'Doe', email: 'jane@example.com', phoneNumber: null },
      });
      em.create(CustomerRelationship, { customer: c, partner: em.getReference(Partner, big.partner.id) });
    }
    await em.flush();
    const csv = [HEADER, ...tenants.map((t, i) => `${t},First${i},Last${i},p${i}@example.com,,2024-03-01,mca-import`)].join('\n');
    const res = await post(csv, big.agent, { 'idempotency-key': 'bulk-10k' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: LINES, rejected: 0, errors: [] });
    expect(await countAcceptances(big.partner)).toBe(LINES);
    const states = await gw.orm.em.fork().getConnection().execute<{ status: string; n: number }[]>('select status, count(*)::int as n from acceptance_syncs where partner_id = ? group by status', [big.partner.id]);
    expect(states).toEqual([{ status: 'NOT_CONNECTED', n: LINES }]);
    // A re-sent file with the same key is answered from the first run.
    expect((await post(csv, big.agent, { 'idempotency-key': 'bulk-10k' })).body).toMatchObject({ accepted: LINES, replayed: true });
    expect(await countAcceptances(big.partner)).toBe(LINES);
  }, 600_000);
});
