import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { aCustomer, aPartner, aPartnerToken } from '../factories';
import { Role } from '../../src/auth/roles';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { browserAvailable, CHROMIUM, CHROMIUM_ARGS } from '../support/browser';

const SHOTS = 'test-results/screenshots';
const describeInBrowser = browserAvailable ? describe : describe.skip;

let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  if (!browserAvailable) return;
  mkdirSync(SHOTS, { recursive: true });
  gw = await startGateway();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});

/** Opens a fresh tab and types `query` into it, as a person would paste it. */
async function setQuery(page: Page, query: string) {
  await page.click('.graphiql-tab-add');
  await page.evaluate((q) => {
    const cm = (document.querySelector('.graphiql-query-editor .CodeMirror') as unknown as { CodeMirror: { setValue(v: string): void } }).CodeMirror;
    cm.setValue(q);
  }, query);
  // GraphiQL derives the operation name from the editor after a short debounce.
  await page.waitForTimeout(400);
}

const responseText = (page: Page) =>
  page.evaluate(() => (document.querySelector('.graphiql-response .CodeMirror') as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue());

describeInBrowser('GraphiQL, served by the gateway', () => {
  it('GET /graphql from a browser serves GraphiQL with every script and style from the gateway itself', async () => {
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(`http://127.0.0.1:${gw.port}/graphql`);
    await page.waitForSelector('.graphiql-container', { timeout: 15000 });
    const origin = `http://127.0.0.1:${gw.port}`;
    expect(requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:'))).toEqual([]);
    await page.screenshot({ path: `${SHOTS}/graphiql-empty.png` });
    await page.close();
  });

  it('runs a query with the token from ?token= and shows the result', async () => {
    const partner = await aPartner(gw, { name: 'Browser Partner' });
    await aCustomer(gw, { companyName: 'Browser Customer', partners: [{ partner }] });
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${gw.port}/graphql?token=${await platformAdminToken()}`);
    await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 15000 });
    await setQuery(page, 'query BrowserCheck { viewer { userId roles } partners(first: 5) { totalCount edges { node { name } } } }');
    await page.click('.graphiql-execute-button');
    await page.waitForFunction(
      () => ((document.querySelector('.graphiql-response .CodeMirror') as any)?.CodeMirror.getValue() ?? '').includes('Browser Partner'),
      undefined,
      { timeout: 15000 },
    );
    const body = JSON.parse(await responseText(page));
    expect(body.data.viewer).toEqual({ userId: 'test-platform-admin', roles: ['PLATFORM_ADMIN'] });
    expect(body.data.partners.edges.map((e: { node: { name: string } }) => e.node.name)).toContain('Browser Partner');
    await page.screenshot({ path: `${SHOTS}/graphiql-query.png` });
    await page.close();
  });

  it('runs a subscription over graphql-ws and shows the alert of an order blocked meanwhile', async () => {
    const partner = await aPartner(gw, { name: 'Alerted Partner' });
    const customer = await aCustomer(gw, { companyName: 'Unconfirmed Customer', partners: [{ partner }] });
    const agent = await aPartnerToken(partner, Role.AGENT);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${gw.port}/graphql?token=${agent}`);
    await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 15000 });
    await setQuery(page, 'subscription WatchBlocked { blockedOrderAlerts { cursor reasons customer { companyName } } }');
    await page.click('.graphiql-execute-button');
    // Give the socket a moment to subscribe, then block an order through the API.
    await page.waitForTimeout(1000);
    const attempt = await gw.gql(
      `mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { outcome } alert { cursor } } }`,
      { input: { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'offer-1', quantity: 5, idempotencyKey: 'browser-1' } },
      agent,
    );
    expect(attempt.data.attemptTransaction.order.outcome).toBe('BLOCKED');
    await page.waitForFunction(
      () => ((document.querySelector('.graphiql-response .CodeMirror') as any)?.CodeMirror.getValue() ?? '').includes('Unconfirmed Customer'),
      undefined,
      { timeout: 15000 },
    );
    const body = JSON.parse(await responseText(page));
    expect(body.data.blockedOrderAlerts).toEqual({
      cursor: attempt.data.attemptTransaction.alert.cursor,
      reasons: ['ACCEPTANCE_NOT_CONFIRMED'],
      customer: { companyName: 'Unconfirmed Customer' },
    });
    await page.screenshot({ path: `${SHOTS}/graphiql-subscription.png` });
    await page.close();
  });
});
