import { mkdirSync } from 'node:fs';
import type { EntityManager } from '@mikro-orm/postgresql';
import { chromium, type Browser } from 'playwright-core';
import { browserAvailable, CHROMIUM, CHROMIUM_ARGS } from '../support/browser';
import { aCustomer, anAgreement, aPartner, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';
import { queryRows } from '../../src/db/query';
import { CONFIRM, CORRECT, contact } from '../acceptance/ops';

/** DESIGN.md section 13: the evidence bundle, GET /exports/evidence/{customerId}?partnerId=&format=json|html. */

const SHOTS = 'test-results/screenshots';
let gw: TestGateway;
let partner: Partner;
let stranger: Partner;
let customer: Customer;
let acceptanceId: string;
let browser: Browser | undefined;

beforeAll(async () => {
  gw = await startGateway();
  partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL, name: 'Contoso Partner <Ltd>' });
  stranger = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  const template = await anAgreement(gw, { versionRank: 1, effectiveFrom: '2019-01-01' });
  customer = await aCustomer(gw, { partners: [{ partner }], companyName: 'Fabrikam & Sons' });
  const agent = await aPartnerToken(partner, Role.AGENT, 'evidence-agent');
  const res = await gw.gql(CONFIRM, { input: { customerId: customer.id, templateId: template.templateId, dateAgreed: '2024-05-02', contact } }, agent);
  acceptanceId = res.data.confirmCustomerAcceptance.acceptance.id;
  await gw.gql(CORRECT, { input: { acceptanceId, contact: { ...contact, email: 'ada.king@example.com' } } }, agent);
  if (browserAvailable) {
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }
});
afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});

const bundle = (customerId: string, token: string | null, query = '') =>
  fetch(`${gw.url.replace(/\/graphql$/, '')}/exports/evidence/${customerId}${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('GET /exports/evidence/{customerId}', () => {
  it('JSON: the customer, every confirmation with its evidence, the trail, the verification and when it was produced', async () => {
    const res = await bundle(customer.id, await aPartnerToken(partner), '?format=json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="evidence-/);
    const b = await res.json();
    expect(Date.parse(b.producedAt)).toBeLessThanOrEqual(Date.now());
    expect(b.customer).toMatchObject({ id: customer.id, companyName: 'Fabrikam & Sons' });
    expect(b.partners).toHaveLength(1);
    const [p] = b.partners;
    expect(p.partner.id).toBe(partner.id);
    expect(p.confirmations).toHaveLength(1);
    expect(p.confirmations[0]).toMatchObject({
      id: acceptanceId,
      status: 'ACTIVE',
      dateAgreed: '2024-05-02',
      evidence: { source: 'PARTNER_RECORDED', reconstructed: false, recordedBy: { id: 'evidence-agent' }, signatory: { ...contact, email: 'ada.king@example.com' }, document: { status: 'NOT_FETCHED', sha256: null } },
    });
    expect(p.trail.map((e: any) => e.event)).toEqual(['CONFIRMED', 'CORRECTED']);
    expect(p.trail[1]).toMatchObject({ field: 'email', oldValue: 'ada@example.com', newValue: 'ada.king@example.com', actor: { id: 'evidence-agent' } });
    expect(p.verification).toEqual({ valid: true, events: 2, headHash: expect.stringMatching(/^[0-9a-f]{64}$/), firstBroken: null });
  });

  it('json is the default format; analysts get contact values masked, as in the API', async () => {
    const b = await (await bundle(customer.id, await analystToken(), `?partnerId=${partner.id}`)).json();
    const [p] = b.partners;
    expect(p.confirmations[0].evidence.signatory).toEqual({ firstName: 'A***', lastName: 'L***', email: 'a***@example.com', phoneNumber: '**********00' });
    expect(p.trail[1]).toMatchObject({ oldValue: 'a***@example.com', newValue: 'a***@example.com' });
    expect(JSON.stringify(b)).not.toContain('ada.king@example.com');
  });

  it('bad input and tenancy: no token 401, another format 400, an unknown, malformed or foreign customer 404, a foreign partner 404', async () => {
    const own = await aPartnerToken(partner);
    expect((await bundle(customer.id, null)).status).toBe(401);
    const csv = await bundle(customer.id, own, '?format=csv');
    expect(csv.status).toBe(400);
    expect((await csv.json()).errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'format' });
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const r = await bundle(id, own);
      expect(r.status).toBe(404);
      expect((await r.json()).errors[0].extensions.code).toBe('NOT_FOUND');
    }
    // Another tenant's customer reads exactly as a missing one.
    const foreign = await bundle(customer.id, await aPartnerToken(stranger, Role.ADMIN));
    expect(foreign.status).toBe(404);
    expect((await foreign.json()).errors[0]).toEqual({ message: 'Customer not found', extensions: { code: 'NOT_FOUND', field: 'customerId' } });
    expect((await bundle(customer.id, own, `?partnerId=${stranger.id}`)).status).toBe(404);
    expect((await bundle(customer.id, await platformAdminToken(), `?partnerId=${partner.id}`)).status).toBe(200);
  });

  it('a row altered directly in PostgreSQL shows as a broken chain in the bundle, never repaired', async () => {
    const c = await aCustomer(gw, { partners: [{ partner }] });
    const template = await anAgreement(gw, { versionRank: 1, effectiveFrom: '2019-01-01' });
    await gw.gql(CONFIRM, { input: { customerId: c.id, templateId: template.templateId, dateAgreed: '2024-05-02', contact } }, await aPartnerToken(partner));
    await queryRows(gw.orm.em.fork() as EntityManager, "update acceptances set contact_email = 'mallory@example.com' where customer_id = ?", [c.id]);
    const b = await (await bundle(c.id, await aPartnerToken(partner))).json();
    expect(b.partners[0].verification).toMatchObject({ valid: false, events: 1, firstBroken: { event: 'CONFIRMED', reason: 'CHANGED', seq: 1 } });
    const again = await (await bundle(c.id, await aPartnerToken(partner))).json();
    expect(again.partners[0].verification.valid).toBe(false);
  });

  (browserAvailable ? it : it.skip)('HTML: printable, self-contained, opened in headless Chromium (screenshot in test-results/screenshots)', async () => {
    const res = await bundle(customer.id, await aPartnerToken(partner), '?format=html');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).not.toMatch(/<script|<link|src="http|href="http|@import|url\(/i);
    const page = await browser!.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.setContent(html);
    await page.screenshot({ path: `${SHOTS}/evidence-bundle.png`, fullPage: true });
    expect(await page.textContent('h1')).toBe('Evidence of agreement acceptance');
    const text = (await page.textContent('body'))!;
    expect(text).toContain('Fabrikam & Sons');
    expect(text).toContain('Contoso Partner <Ltd>');
    expect(text).toContain('Audit trail verified: the chain of 2 events is intact.');
    expect(text).toContain('PARTNER_RECORDED');
    expect(text).toContain('ada.king@example.com');
    expect(text).toContain(acceptanceId);
    const events = await page.$$eval('table tbody tr td:nth-child(2)', (cells) => cells.map((c) => c.textContent));
    expect(events).toEqual(expect.arrayContaining(['CONFIRMED', 'CORRECTED']));
    // Printable: it lays out for print media and produces a PDF.
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 4).toString()).toBe('%PDF');
    expect(requested.filter((u) => !u.startsWith('about:') && !u.startsWith('data:'))).toEqual([]);
    await page.close();

    // Analysts' page: masked.
    const masked = await (await bundle(customer.id, await analystToken(), `?partnerId=${partner.id}&format=html`)).text();
    expect(masked).not.toContain('ada.king@example.com');
    expect(masked).toContain('a***@example.com');
  });
});
