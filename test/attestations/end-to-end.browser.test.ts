import { chromium, type Browser } from 'playwright-core';
import type { PartnerCenterSimulator } from '../../simulator';
import { browserAvailable, CHROMIUM, CHROMIUM_ARGS } from '../support/browser';
import type { TestGateway } from '../support/gateway';
import { connect, disposeAll, subscribe } from '../alerts/ws';
import { anAttestWorld, ON_UPDATE, REQUEST, signatory } from './support';
import { connectOnSim, MCA_TEMPLATE_ID, startSim, startSimGateway } from './sim-support';

/**
 * End to end, as a partner and its customer live it: the partner requests an attestation,
 * the customer opens the link in a real browser (headless Chromium), ticks "I accept the
 * Microsoft Customer Agreement" and presses Accept on the simulator's page, and the
 * partner's live subscription sees the attestation arrive at RECORDED.
 */

const describeInBrowser = browserAvailable ? describe : describe.skip;
let sim: PartnerCenterSimulator;
let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  if (!browserAvailable) return;
  sim = await startSim();
  gw = await startSimGateway(sim);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await disposeAll();
  await gw?.stop();
  await sim?.close();
});

describeInBrowser('enhanced attestation end to end', () => {
  it('request → the customer accepts on the page in Chromium → RECORDED arrives on attestationUpdates', async () => {
    expect.assertions(6);
    const w = await anAttestWorld(gw, { templateId: MCA_TEMPLATE_ID, connect: false });
    await connectOnSim(gw, sim, w.partner);
    const updates = subscribe(connect(gw, w.agent).client, ON_UPDATE, { partnerId: w.partner.id }, (d) => d.attestationUpdates);
    await new Promise((r) => setTimeout(r, 300));
    const res = await gw.gql(REQUEST, { input: { customerId: w.customer.id, signatory, language: 'en-US', linkLifetimeMinutes: 60 } }, w.admin);
    const id = res.data.requestAttestation.attestation.id;
    // The link reaches the partner with the LINK_ISSUED change; its ADMIN reads it.
    await updates.until((u) => u.some((x: any) => x.id === id && x.status === 'LINK_ISSUED'));
    const read = await gw.gql(`query ($id: ID!) { attestation(id: $id) { acceptanceUrl } }`, { id }, w.admin);
    const url: string = read.data.attestation.acceptanceUrl;
    expect(url.startsWith(sim.url)).toBe(true);

    const page = await browser.newPage();
    await page.goto(url);
    expect(await page.textContent('label[for="agree"]')).toBe('I accept the Microsoft Customer Agreement');
    await page.check('#agree');
    await Promise.all([page.waitForNavigation(), page.click('#accept')]);
    expect(await page.textContent('h1')).toBe('Thank you');
    await page.close();

    const seen = await updates.until((u) => u.some((x: any) => x.id === id && x.status === 'RECORDED'));
    expect(seen.filter((x: any) => x.id === id).map((x: any) => x.status)).toEqual(['REQUESTED', 'LINK_ISSUED', 'CUSTOMER_ACCEPTED', 'RECORDED']);
    expect(seen.find((x: any) => x.status === 'RECORDED')).toEqual({ id, status: 'RECORDED', customer: { id: w.customer.id }, lastError: null });
    const customer = await gw.gql(`query ($id: ID!) { customer(id: $id) { complianceStatus acceptance { dateAgreed agreement { templateId } } } }`, { id: w.customer.id }, w.admin);
    expect(customer.data.customer.acceptance.agreement.templateId).toBe(MCA_TEMPLATE_ID);
  });
});
