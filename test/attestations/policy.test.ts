import { startGateway, type TestGateway } from '../support/gateway';
import { anAttestWorld, eventually, FAST, FakeUpstream, ONE, REQUEST, signatory, useUpstream } from './support';

/**
 * Under today's default policy (DESIGN.md section 10: from 2026-01-05 new partner
 * confirmations of the Customer Agreement must come from an attestation), recording a
 * confirmation by hand is refused, and an attestation is the way: it records one, and the
 * customer is compliant with the partner.
 */

let gw: TestGateway;
const upstream = new FakeUpstream();

beforeAll(async () => {
  gw = await startGateway(FAST, undefined, { foundingRules: false });
  useUpstream(gw, upstream);
});
afterAll(() => gw?.stop());

const CONFIRM = `mutation ($input: ConfirmCustomerAcceptanceInput!) { confirmCustomerAcceptance(input: $input) { acceptance { id } } }`;
const STATUS = `query ($id: ID!) { customer(id: $id) { complianceStatus acceptance { id } } }`;

it('where the policy requires an attestation, a hand-recorded confirmation is refused and an attestation records one: the customer becomes CONFIRMED', async () => {
  const w = await anAttestWorld(gw);
  const today = new Date().toISOString().slice(0, 10);
  const refused = await gw.gql(CONFIRM, { input: { customerId: w.customer.id, templateId: w.templateId, dateAgreed: today, contact: signatory } }, w.admin);
  expect(refused.errors?.[0].message).toMatch(/must come from an attestation/);
  expect((await gw.gql(STATUS, { id: w.customer.id }, w.admin)).data.customer.complianceStatus).toBe('MISSING');

  const id = (await gw.gql(REQUEST, { input: { customerId: w.customer.id, signatory, language: 'en-US' } }, w.admin)).data.requestAttestation.attestation.id;
  const issued = await eventually(
    async () => (await gw.gql(ONE, { id }, w.admin)).data.attestation,
    (a) => a.status === 'LINK_ISSUED',
  );
  upstream.accept(issued.upstreamId);
  const recorded = await eventually(
    async () => (await gw.gql(ONE, { id }, w.admin)).data.attestation,
    (a) => a.status === 'RECORDED',
  );
  const customer = (await gw.gql(STATUS, { id: w.customer.id }, w.admin)).data.customer;
  expect(customer).toEqual({ complianceStatus: 'CONFIRMED', acceptance: { id: recorded.acceptance.id } });
});
