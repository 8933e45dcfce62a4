import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { aCustomer, aPartner, aPartnerToken } from '../factories';
import { Role } from '../../src/auth/roles';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { browserAvailable, CHROMIUM, CHROMIUM_ARGS } from '../support/browser';
import { subscribersRegistered } from '../alerts/ws';

const SHOTS = 'test-results/screenshots';
const describeInBrowser = browserAvailable ? describe : describe.skip;

let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  if (!browserAvailable) return;
  mkdirSync(SHOTS, { recursive: true });
  // With the demo data, as a newcomer opens it (the demo login is offered).
  gw = await startGateway({ seedDemo: true, production: false });
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
    await setQuery(page, 'query BrowserCheck { viewer { userId roles } partners(first: 50) { totalCount edges { node { name } } } }');
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

  it('runs a subscription over graphql-ws and lists every alert of the orders blocked meanwhile, not only the latest', async () => {
    const partner = await aPartner(gw, { name: 'Alerted Partner' });
    const customer = await aCustomer(gw, { companyName: 'Unconfirmed Customer', partners: [{ partner }] });
    const agent = await aPartnerToken(partner, Role.AGENT);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${gw.port}/graphql?token=${agent}`);
    await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 15000 });
    await setQuery(page, 'subscription WatchBlocked { blockedOrderAlerts { cursor reasons customer { companyName } } }');
    await page.click('.graphiql-execute-button');
    await subscribersRegistered(gw, 1); // the page's socket has subscribed
    const cursors: string[] = [];
    for (const key of ['browser-1', 'browser-2']) {
      const attempt = await gw.gql(
        `mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { outcome } alert { cursor } } }`,
        { input: { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'offer-1', quantity: 5, idempotencyKey: key } },
        agent,
      );
      expect(attempt.data.attemptTransaction.order.outcome).toBe('BLOCKED');
      cursors.push(attempt.data.attemptTransaction.alert.cursor);
    }
    await page.waitForFunction(
      () => (JSON.parse((document.querySelector('.graphiql-response .CodeMirror') as any)?.CodeMirror.getValue() || '{}').events ?? []).length === 2,
      undefined,
      { timeout: 15000 },
    );
    const body = JSON.parse(await responseText(page));
    expect(body.events.map((e: { data: unknown }) => e.data)).toEqual(
      cursors.map((cursor) => ({ blockedOrderAlerts: { cursor, reasons: ['ACCEPTANCE_NOT_CONFIRMED'], customer: { companyName: 'Unconfirmed Customer' } } })),
    );
    await page.screenshot({ path: `${SHOTS}/graphiql-subscription.png` });
    await page.close();
  });

  it('shows who you are acting as above every tab, also in a new tab whose Headers are empty', async () => {
    const partner = await aPartner(gw, { name: 'Shown Partner' });
    const agent = await aPartnerToken(partner, Role.AGENT, 'shown-agent');
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${gw.port}/graphql?token=${agent}`);
    const actingAs = page.locator('#acting-as');
    await actingAs.filter({ hasText: 'Acting as shown-agent' }).waitFor({ timeout: 15000 });
    expect(await actingAs.textContent()).toBe('Acting as shown-agent · AGENT @ Shown Partner');

    await setQuery(page, 'query InNewTab { viewer { userId } }');
    expect(await page.evaluate(() => (document.querySelector('.graphiql-editor-tool .graphiql-editor .CodeMirror') as any)?.CodeMirror.getValue() ?? '')).not.toContain('shown-agent');
    await page.click('.graphiql-execute-button');
    await page.waitForFunction(() => ((document.querySelector('.graphiql-response .CodeMirror') as any)?.CodeMirror.getValue() ?? '').includes('shown-agent'), undefined, { timeout: 15000 });
    expect(await page.locator('.graphiql-tab').count()).toBeGreaterThan(1);
    expect(await actingAs.textContent()).toBe('Acting as shown-agent · AGENT @ Shown Partner');
    await page.screenshot({ path: `${SHOTS}/graphiql-acting-as.png` });
    await page.close();
  });

  it('without a token, a query and a subscription point to the demo login instead of an error dump', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${gw.port}/graphql`);
    await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 15000 });
    const hint = 'Not signed in: choose a user under "Demo login" at the top of the page, or open /graphql?token=<token>.';
    expect(await page.locator('#acting-as').textContent()).toBe(hint);
    expect(await page.locator('#demo-login option').count()).toBeGreaterThan(1);

    for (const query of ['query NoToken { viewer { userId } }', 'subscription NoTokenAlerts { blockedOrderAlerts { cursor } }']) {
      await setQuery(page, query);
      await page.click('.graphiql-execute-button');
      await page.waitForFunction((text) => ((document.querySelector('.graphiql-response .CodeMirror') as any)?.CodeMirror.getValue() ?? '').includes(text), 'Demo login', { timeout: 15000 });
      const body = JSON.parse(await responseText(page));
      expect([query, body.errors]).toEqual([query, [expect.objectContaining({ message: hint })]]);
      expect(await responseText(page)).not.toMatch(/stacktrace|\n\s+at /);
    }
    await page.close();
  });

  it('serves /favicon.ico, so a browser asks nothing that answers 404', async () => {
    const res = await fetch(`http://127.0.0.1:${gw.port}/favicon.ico`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/x-icon');
    const icon = Buffer.from(await res.arrayBuffer());
    expect([...icon.subarray(0, 4)]).toEqual([0, 0, 1, 0]); // an ICO directory
    expect(icon.subarray(22, 26).toString('latin1')).toBe('\x89PNG');

    const page = await browser.newPage();
    const failed: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`http://127.0.0.1:${gw.port}/graphql`);
    await page.waitForSelector('.graphiql-container', { timeout: 15000 });
    await page.goto(`http://127.0.0.1:${gw.port}/favicon.ico`);
    expect(failed).toEqual([]);
    await page.close();
  });
});
