import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartnerCenterSimulator } from '../../simulator';
import type { TestGateway } from '../support/gateway';
import { anAttestWorld, eventually, FAST, REQUEST, signatory } from '../attestations/support';
import { connectOnSim, MCA_TEMPLATE_ID, startSim } from '../attestations/sim-support';
import { startPcGateway } from '../partner-center/support';
import { verifyPairs } from '../../src/audit/audit.chain';
import { EVIDENCE } from './ops';

/** DESIGN.md section 13: a confirmation recorded by an enhanced attestation carries it, with every exchange about it. */

let sim: PartnerCenterSimulator;
let gw: TestGateway;

beforeAll(async () => {
  sim = await startSim();
  // As the attestation tests' gateway, with the evidence's document fetch on.
  gw = await startPcGateway(sim, { pc: { timeoutMs: 5_000 }, config: { ...FAST, evidence: { fetchDocuments: true } } });
});
afterAll(async () => {
  await gw?.stop();
  await sim?.close();
});

it('an attested confirmation: source ATTESTATION, the attestation, its exchanges (create, status, the agreement) and the document; its chain holds requested, attested, confirmed', async () => {
  const w = await anAttestWorld(gw, { templateId: MCA_TEMPLATE_ID, connect: false });
  await connectOnSim(gw, sim, w.partner);
  const res = await gw.gql(REQUEST, { input: { customerId: w.customer.id, signatory, language: 'en-US', linkLifetimeMinutes: 60 } }, w.admin);
  expect(res.errors).toBeUndefined();
  const id = res.data.requestAttestation.attestation.id;
  const read = () => gw.gql(`query ($id: ID!) { attestation(id: $id) { status upstreamId } }`, { id }, w.admin).then((r) => r.data.attestation);
  const issued = await eventually(read, (a) => a.status === 'LINK_ISSUED');
  sim.acceptAttestation(issued.upstreamId);
  await eventually(read, (a) => a.status === 'RECORDED');

  const e = await eventually(
    () => gw.gql(EVIDENCE, { customerId: w.customer.id }, w.agent).then((r) => r.data.customer.acceptance.evidence),
    (v) => v.document.status !== 'PENDING',
  );
  expect(e).toMatchObject({ source: 'ATTESTATION', reconstructed: false, attestation: { id, upstreamId: issued.upstreamId }, signatory: { firstName: signatory.firstName, email: signatory.email } });
  expect(e.document).toMatchObject({ templateId: MCA_TEMPLATE_ID, status: 'FETCHED', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  expect(e.upstream.map((x: any) => x.operation)).toEqual(expect.arrayContaining(['attestation_create', 'attestation_status', 'confirm', 'document']));
  for (const x of e.upstream) expect(x.requestId).toEqual(expect.any(String));

  const [v] = await verifyPairs(gw.orm.em.fork() as EntityManager, [{ customerId: w.customer.id, partnerId: w.partner.id }]);
  expect(v).toMatchObject({ valid: true, firstBroken: null });
  const links = await gw.orm.em.fork().getConnection().execute('select event from audit_chain where customer_id = ? order by seq', [w.customer.id]);
  expect(links.map((l: any) => l.event)).toEqual(expect.arrayContaining(['ATTESTATION_REQUESTED', 'ATTESTED', 'CONFIRMED']));
});
