import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartnerCenterSimulator } from '../../simulator';
import { queryRows } from '../../src/db/query';
import type { TestGateway } from '../support/gateway';
import { anAttestWorld, CANCEL, eventually, ONE, REQUEST, signatory, type AttestWorld } from './support';
import { connectOnSim, MCA_TEMPLATE_ID, startSim, startSimGateway } from './sim-support';

/**
 * The attestation flow against the bundled Partner Center simulator, over HTTP through the
 * client's one call primitive: AppOnly tokens, the documented (and PROVISIONAL) shapes,
 * the exchange log. The browser and the crash are their own files.
 */

let sim: PartnerCenterSimulator;
let gw: TestGateway;

beforeAll(async () => {
  sim = await startSim();
  gw = await startSimGateway(sim);
});
afterAll(async () => {
  await gw?.stop();
  await sim?.close();
});

const em = () => gw.orm.em.fork() as EntityManager;

async function world(): Promise<AttestWorld> {
  const w = await anAttestWorld(gw, { templateId: MCA_TEMPLATE_ID, connect: false });
  await connectOnSim(gw, sim, w.partner);
  return w;
}

async function requested(w: AttestWorld, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await gw.gql(REQUEST, { input: { customerId: w.customer.id, signatory, language: 'en-US', ...extra } }, w.admin);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.requestAttestation.attestation.id;
}

const until = (w: AttestWorld, id: string, status: string) =>
  eventually(
    async () => (await gw.gql(ONE, { id }, w.admin)).data.attestation,
    (a) => a.status === status,
  );

describe('against the Partner Center simulator', () => {
  it('creates the attestation upstream with an AppOnly token, follows it to RECORDED, and the upstream agreement carries the attestation id', async () => {
    const w = await world();
    const id = await requested(w, { linkLifetimeMinutes: 120 });
    const issued = await until(w, id, 'LINK_ISSUED');
    const up = sim.attestation(issued.upstreamId)!;
    expect(up).toMatchObject({ status: 'LinkGenerated', customerTenantId: w.customer.tenantId, companyName: w.customer.companyName, signatoryEmail: signatory.email, expirationTimeInMinutes: 120 });
    expect(issued.acceptanceUrl).toBe(up.acceptanceLink);
    expect(new Date(issued.linkExpiresAt).toISOString()).toBe(up.expirationTime);
    const create = sim.requests.find((r) => r.method === 'POST' && r.path === '/v1/attestations/enhanced' && r.body?.customerTenantId === w.customer.tenantId)!;
    const tokenRequests = sim.requests.filter((r) => r.path === `/${w.partner.tenantId}/oauth2/token`);
    expect(tokenRequests.some((r) => r.body?.grant_type === 'client_credentials')).toBe(true);
    expect(create.headers['ms-requestid']).toBe((await queryRows<{ create_request_id: string }>(em(), 'select create_request_id from attestations where id = ?', [id]))[0].create_request_id);
    sim.acceptAttestation(issued.upstreamId);
    const recorded = await until(w, id, 'RECORDED');
    const records = sim.agreementsOf(w.customer.tenantId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ attestationId: issued.upstreamId, templateId: MCA_TEMPLATE_ID, type: 'MicrosoftCustomerAgreement', primaryContact: { firstName: 'Sam', lastName: 'Signer', email: signatory.email } });
    expect(recorded.acceptance.dateAgreed).toBe(sim.attestation(issued.upstreamId)!.acceptedAt!.slice(0, 10));
    const exchanges = await queryRows<{ operation: string; outcome: string }>(
      em(),
      'select operation, outcome from partner_center_exchanges where attestation_id = ? order by id',
      [id],
    );
    expect(exchanges[0]).toEqual({ operation: 'attestation_create', outcome: 'ok' });
    expect(exchanges.some((e) => e.operation === 'attestation_status')).toBe(true);
    expect(exchanges[exchanges.length - 1]).toEqual({ operation: 'confirm', outcome: 'ok' });
  });

  it("upstream's 600061 (the customer's latest record has the same contact) → FAILED with the code; nothing recorded locally", async () => {
    const w = await world();
    sim.seedAgreement(w.customer.tenantId, {
      primaryContact: { firstName: signatory.firstName, lastName: signatory.lastName, email: signatory.email, phoneNumber: signatory.phoneNumber },
      templateId: MCA_TEMPLATE_ID,
      dateAgreed: '2025-01-02T00:00:00Z',
    } as never);
    const id = await requested(w);
    sim.acceptAttestation((await until(w, id, 'LINK_ISSUED')).upstreamId);
    const failed = await until(w, id, 'FAILED');
    expect(failed.lastError).toMatch(/^600061: /);
    expect(await queryRows(em(), 'select 1 from acceptances where customer_id = ?', [w.customer.id])).toEqual([]);
  });

  it('cancelling an issued attestation cancels it upstream (DELETE), so its link can no longer be accepted', async () => {
    const w = await world();
    const id = await requested(w);
    const issued = await until(w, id, 'LINK_ISSUED');
    expect((await gw.gql(CANCEL, { id }, w.admin)).data.cancelAttestation.attestation.status).toBe('CANCELLED');
    const up = await eventually(
      async () => sim.attestation(issued.upstreamId)!.status,
      (s) => s === 'Cancelled',
    );
    expect(up).toBe('Cancelled');
    expect(() => sim.acceptAttestation(issued.upstreamId)).toThrow();
  });

  it('a link expired upstream → EXPIRED', async () => {
    const w = await world();
    const id = await requested(w);
    sim.expireAttestationLink((await until(w, id, 'LINK_ISSUED')).upstreamId);
    await until(w, id, 'EXPIRED');
  });
});
