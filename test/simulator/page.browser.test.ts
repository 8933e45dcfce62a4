import { mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { browserAvailable, CHROMIUM, CHROMIUM_ARGS } from '../support/browser';
import { anApp, anAttestationRequest, appOnlyToken, call, useSimulator } from './support';

/** The customer's acceptance page (PROVISIONAL, pc-spec.md) in headless Chromium, as a customer uses it. */
const SHOTS = 'test-results/screenshots';
const describeInBrowser = browserAvailable ? describe : describe.skip;
const sim = useSimulator();
let browser: Browser;
let appOnly: string;

beforeAll(async () => {
  if (!browserAvailable) return;
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  appOnly = await appOnlyToken(sim(), anApp(sim()));
});
afterAll(async () => {
  await browser?.close();
});

const anAttestation = async (extra: Record<string, unknown> = {}) => (await call(sim(), 'POST', '/v1/attestations/enhanced', appOnly, anAttestationRequest(extra))).body;

describeInBrowser('the acceptance page in headless Chromium', () => {
  it('ticking "I accept the Microsoft Customer Agreement" and pressing Accept marks the attestation CustomerAccepted and shows Thank you; nothing is loaded from elsewhere', async () => {
    const a = await anAttestation({ companyName: 'Fabrikam Browser BV' });
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(a.acceptanceLink);
    expect(await page.textContent('label[for="agree"]')).toBe('I accept the Microsoft Customer Agreement');
    expect(await page.textContent('#accept')).toBe('Accept');
    expect(await page.textContent('body')).toContain('Fabrikam Browser BV');
    await page.screenshot({ path: `${SHOTS}/simulator-acceptance.png` });
    await page.check('#agree');
    await Promise.all([page.waitForNavigation(), page.click('#accept')]);
    expect(await page.textContent('h1')).toBe('Thank you');
    expect(sim().attestation(a.id)).toMatchObject({ status: 'CustomerAccepted', acceptedAt: expect.any(String) });
    expect((await call(sim(), 'GET', `/v1/attestations/enhanced/${a.id}`, appOnly)).body.status).toBe('CustomerAccepted');
    expect(requested.filter((u) => !u.startsWith(sim().url))).toEqual([]);
    await page.close();
  });

  it('Accept without the box ticked does not accept', async () => {
    const a = await anAttestation();
    const page = await browser.newPage();
    await page.goto(a.acceptanceLink);
    await page.click('#accept');
    // The checkbox is required: the browser keeps the form from being sent.
    expect(await page.isVisible('#agree')).toBe(true);
    expect(sim().attestation(a.id)!.status).toBe('LinkGenerated');
    await page.close();
  });

  it('an expired link shows "This link has expired" (410)', async () => {
    const a = await anAttestation();
    sim().expireAttestationLink(a.id);
    const page = await browser.newPage();
    const res = await page.goto(a.acceptanceLink);
    expect(res!.status()).toBe(410);
    expect(await page.textContent('h1')).toBe('This link has expired');
    await page.close();
  });
});
