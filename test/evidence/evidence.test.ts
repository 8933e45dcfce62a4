import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { startPartnerCenterSimulator, type PartnerCenterSimulator } from '../../simulator';
import { MCA_TEMPLATE_ID } from '../../simulator';
import { aCustomer, anAcceptance, anAgreement, aLink, aPartner, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, type TestGateway } from '../support/gateway';
import { CONNECT, eventually, startPcGateway } from '../partner-center/support';
import { PartnerType, Role } from '../../src/auth/roles';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { EvidenceSource } from '../../src/acceptance/acceptance.enums';
import { recordConfirmations } from '../../src/acceptance/acceptance.service';
import type { Partner } from '../../src/partners/partner.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { queryRows } from '../../src/db/query';
import { CONFIRM, REVIEW, SUBMIT, contact, yesterday } from '../acceptance/ops';
import { EVIDENCE } from './ops';

/** DESIGN.md section 13: evidence on every confirmation (Acceptance.evidence). */


let sim: PartnerCenterSimulator;
let gw: TestGateway;
let connected: Partner;
let mca: AgreementTemplate;
let n = 0;

async function connect(partner: Partner) {
  n++;
  const creds = { clientId: `client-${n}`, clientSecret: `SECRET-${n}-${partner.id}`, refreshToken: `REFRESH-${n}-${partner.id}` };
  sim.registerApp({ tenantId: partner.tenantId, ...creds });
  const res = await gw.gql(CONNECT, { input: creds }, await aPartnerToken(partner, Role.ADMIN));
  if (res.errors) throw new Error(JSON.stringify(res.errors));
}

beforeAll(async () => {
  sim = await startPartnerCenterSimulator({ port: 0 });
  gw = await startPcGateway(sim, { config: { evidence: { fetchDocuments: true } } });
  connected = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  await connect(connected);
  mca = await anAgreement(gw, { templateId: MCA_TEMPLATE_ID, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-01-01', country: 'GLOBAL' });
});
afterAll(async () => {
  await gw?.stop();
  await sim?.close();
});

const evidenceOf = async (customerId: string, token: string, partnerId?: string) => {
  const res = await gw.gql(EVIDENCE, { customerId, partnerId }, token);
  expect(res.errors).toBeUndefined();
  return res.data.customer.acceptance.evidence;
};
const confirm = async (partner: Partner, template = mca) => {
  const customer = await aCustomer(gw, { partners: [{ partner }], country: 'US' });
  const res = await gw.gql(CONFIRM, { input: { customerId: customer.id, templateId: template.templateId, dateAgreed: yesterday(), contact } }, await aPartnerToken(partner, Role.AGENT, 'recorder'));
  expect(res.errors).toBeUndefined();
  return customer;
};

describe('Acceptance.evidence', () => {
  it("records source, who and when, the signatory, the document fetched and hashed at the time, and every upstream exchange (ids, status, outcome; no secret)", async () => {
    const customer = await confirm(connected);
    const token = await aPartnerToken(connected);
    const e = await eventually(
      () => evidenceOf(customer.id, token),
      (v) => v.document.status !== 'PENDING' && v.upstream.some((x: any) => x.operation === 'confirm'),
    );
    expect(e).toMatchObject({ source: 'PARTNER_RECORDED', reconstructed: false, recordedBy: { id: 'recorder' }, signatory: contact, attestation: null });
    expect(Date.parse(e.recordedAt)).toBeLessThanOrEqual(Date.now());
    expect(e.document).toMatchObject({ templateId: MCA_TEMPLATE_ID, type: 'MICROSOFT_CUSTOMER_AGREEMENT', version: 'v1', country: 'US', language: 'en-US', status: 'FETCHED', error: null });
    expect(e.document.uri).toMatch(/\/documents\//);
    // The hash is of the bytes the document's address served (the simulator serves a fixed document per template, country and language).
    const served = await fetch(`${sim.url}/v1/agreementtemplates/${MCA_TEMPLATE_ID}/document?language=en-US&country=US`, {
      headers: { authorization: `Bearer ${await simToken()}` },
    }).then((r) => r.json() as Promise<{ displayUri: string }>);
    const bytes = Buffer.from(await (await fetch(served.displayUri)).arrayBuffer());
    expect(e.document.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(Date.parse(e.document.fetchedAt)).toBeGreaterThanOrEqual(Date.parse(e.recordedAt));

    const ops = e.upstream.map((x: any) => x.operation);
    expect(ops).toEqual(expect.arrayContaining(['document', 'confirm']));
    for (const x of e.upstream) {
      expect(x).toEqual({ at: expect.any(String), operation: expect.any(String), requestId: expect.any(String), correlationId: expect.any(String), httpStatus: expect.any(Number), code: null, outcome: 'ok' });
    }
    expect(JSON.stringify(e.upstream)).not.toMatch(/SECRET|REFRESH|Bearer/);
  });

  it('analysts read the evidence with the signatory masked', async () => {
    const customer = await confirm(connected);
    const e = await evidenceOf(customer.id, await analystToken(), connected.id);
    expect(e.signatory).toEqual({ firstName: 'A***', lastName: 'L***', email: 'a***@example.com', phoneNumber: '**********00' });
    expect(e.source).toBe('PARTNER_RECORDED');
  });

  it('a document that cannot be fetched is recorded as FAILED with the reason and no hash, and never blocks the confirmation', async () => {
    const unknown = await anAgreement(gw, { type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-01-01' });
    const customer = await confirm(connected, unknown);
    const admin = await platformAdminToken();
    const e = await eventually(() => evidenceOf(customer.id, admin, connected.id), (v) => v.document.status !== 'PENDING');
    expect(e.document).toMatchObject({ status: 'FAILED', sha256: null, fetchedAt: null, uri: 'https://example.com/mca.pdf' });
    expect(e.document.error).toMatch(/600040|404/);
    expect(e.upstream.find((x: any) => x.operation === 'document')).toMatchObject({ httpStatus: 404, code: '600040', outcome: 'failed' });
    const res = await gw.gql(`query($id: ID!) { customer(id: $id) { complianceStatus(partnerId: "${connected.id}") acceptance(partnerId: "${connected.id}") { status } } }`, { id: customer.id }, await platformAdminToken());
    expect(res.data.customer.acceptance.status).toBe('ACTIVE');
  });

  it('without a Partner Center connection, or for a Cloud Agreement, the document is NOT_FETCHED and the template address is kept', async () => {
    const unconnected = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const customer = await confirm(unconnected);
    const e = await evidenceOf(customer.id, await aPartnerToken(unconnected));
    expect(e.document).toMatchObject({ status: 'NOT_FETCHED', sha256: null, uri: 'https://example.com/mca.pdf', country: 'GLOBAL' });
    expect(e.upstream).toEqual([]);
    const cloud = await anAgreement(gw, { type: AgreementType.MICROSOFT_CLOUD_AGREEMENT, effectiveFrom: '2018-01-01' });
    const other = await confirm(connected, cloud);
    expect((await evidenceOf(other.id, await aPartnerToken(connected))).document).toMatchObject({ status: 'NOT_FETCHED', type: 'MICROSOFT_CLOUD_AGREEMENT' });
  });

  it("every source: a reseller's approved submission, and confirmations recorded by attestation, import and reconciliation carry theirs", async () => {
    const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    await aLink(gw, reseller, connected);
    const customer = await aCustomer(gw, { partners: [{ partner: connected, resellers: [reseller] }] });
    const s = await gw.gql(SUBMIT, { input: { customerId: customer.id, providerId: connected.id, templateId: mca.templateId, dateAgreed: yesterday(), contact } }, await aPartnerToken(reseller));
    await gw.gql(REVIEW, { input: { submissionId: s.data.submitAcceptanceToProvider.submission.id, decision: 'APPROVE' } }, await aPartnerToken(connected));
    expect((await evidenceOf(customer.id, await aPartnerToken(connected))).source).toBe('RESELLER_SUBMITTED');

    for (const source of [EvidenceSource.BULK_IMPORT, EvidenceSource.ATTESTATION, EvidenceSource.PARTNER_CENTER]) {
      const c = await aCustomer(gw, { partners: [{ partner: connected }] });
      const recorder = await aPartnerToken(connected, Role.AGENT, `recorder-${source}`);
      await gw.gql('{ viewer { id } }', {}, recorder); // the user exists once it has signed in
      await gw.orm.em.fork().transactional((tx) =>
        recordConfirmations(tx as EntityManager, connected.id, `recorder-${source}`, [{ customerId: c.id, templateId: mca.templateId, dateAgreed: yesterday(), contact, onBehalfOf: null, channel: 'API' as never, source }]),
      );
      const e = await evidenceOf(c.id, await platformAdminToken(), connected.id);
      expect([e.source, e.recordedBy.id, e.reconstructed]).toEqual([source, `recorder-${source}`, false]);
    }
  });

  it('a confirmation recorded before evidence was kept reads as reconstructed: the template as known, no hash', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: connected }] });
    const acceptance = await anAcceptance(gw, { customer, partner: connected, template: mca });
    await queryRows(gw.orm.em.fork() as EntityManager, 'delete from acceptance_evidence where acceptance_id = ?', [acceptance.id]);
    const e = await evidenceOf(customer.id, await aPartnerToken(connected));
    expect(e).toMatchObject({ source: 'PARTNER_RECORDED', reconstructed: true, upstream: [] });
    expect(e.document).toMatchObject({ status: 'NOT_FETCHED', sha256: null, fetchedAt: null, uri: 'https://example.com/mca.pdf', country: 'GLOBAL', language: 'en-US' });
  });
});

/** A delegated token of a partner registered with the simulator (to read the document as the gateway did). */
async function simToken(): Promise<string> {
  const p = await aPartner(gw);
  sim.registerApp({ tenantId: p.tenantId, clientId: 'reader', clientSecret: 'reader-secret', refreshToken: 'reader-refresh' });
  const res = await fetch(sim.tokenUrl.replace('{tenantId}', p.tenantId), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'reader-refresh', client_id: 'reader', client_secret: 'reader-secret', resource: 'https://api.partnercenter.microsoft.com' }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}
