import { aCustomer, anAcceptance, anAgreement, aPartner, aPartnerToken } from '../factories';
import { startLoggedGateway, type HardeningGateway } from './support';
import { ChildPostgres } from './child-postgres';
import { Role } from '../../src/auth/roles';
import type { Customer } from '../../src/customers/customer.entity';
import type { Partner } from '../../src/partners/partner.entity';

/**
 * Database outage: PostgreSQL (the test's own, in a child process) is stopped under
 * load and started again. While down, requests fail fast with SERVICE_UNAVAILABLE and
 * /readyz is red; afterwards the gateway recovers by itself, and clients retrying with
 * their idempotency keys end with every order exactly once.
 */

jest.setTimeout(60_000);

const ATTEMPT = `mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { id outcome } alert { id } } }`;

let pg: ChildPostgres;
let gw: HardeningGateway;
let agent: string;
let partner: Partner;
let confirmed: Customer;
let unconfirmed: Customer;

beforeAll(async () => {
  const started = await ChildPostgres.start();
  pg = started.pg;
  gw = await startLoggedGateway({}, {}, started.url);
  partner = await aPartner(gw);
  confirmed = await aCustomer(gw, { partners: [{ partner }] });
  unconfirmed = await aCustomer(gw, { partners: [{ partner }] });
  await anAcceptance(gw, { customer: confirmed, partner, template: await anAgreement(gw) });
  agent = await aPartnerToken(partner, Role.AGENT);
});
afterAll(async () => {
  await gw?.stop();
  await pg?.dispose();
});

/** Order `i`: even ones for the confirmed customer (COMPLETED), odd ones blocked (an alert each). */
const order = (i: number) =>
  gw.gql(ATTEMPT, { input: { customerId: (i % 2 ? unconfirmed : confirmed).id, kind: 'NEW_PURCHASE', offerId: `offer-${i}`, quantity: 1, idempotencyKey: `outage-${i}` } }, agent);

const readyz = async () => (await fetch(`http://127.0.0.1:${gw.port}/readyz`)).status;
const codes = (res: { errors?: { extensions?: { code?: string } }[] }) => (res.errors ?? []).map((e) => e.extensions?.code);

async function untilReady(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await readyz()) === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the gateway did not become ready after PostgreSQL returned');
}

describe('database outage', () => {
  it('fails fast with SERVICE_UNAVAILABLE while PostgreSQL is down, then recovers by itself with every order exactly once', async () => {
    expect(await readyz()).toBe(200);
    const told = new Map<number, string>(); // key index → order id the client was given

    // Load: orders in flight while PostgreSQL stops.
    const inFlight = Array.from({ length: 12 }, (_, i) => order(i).then((res) => ({ i, res })));
    await pg.stop();
    for (const { i, res } of await Promise.all(inFlight)) {
      if (res.errors) expect([codes(res), gw.log.lines.filter((l) => l.msg === 'unexpected error')]).toEqual([['SERVICE_UNAVAILABLE'], []]);
      else told.set(i, res.data.attemptTransaction.order.id);
    }

    // Down: every request answers SERVICE_UNAVAILABLE (within the test's time, not knex's 60 s
    // default acquire timeout), mutations and queries alike, and /readyz is red.
    expect(await readyz()).toBe(503);
    for (let i = 12; i < 20; i++) {
      const res = await order(i);
      expect(codes(res)).toEqual(['SERVICE_UNAVAILABLE']);
    }
    const query = await gw.gql('{ partners(first: 5) { totalCount } }', {}, agent);
    expect(codes(query)).toEqual(['SERVICE_UNAVAILABLE']);
    // A caller the gateway has not seen yet needs the database to resolve: 503 at the HTTP level.
    const newcomer = await aPartnerToken(partner, Role.VIEWER, 'newcomer');
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${newcomer}` },
      body: JSON.stringify({ query: '{ viewer { userId } }' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect((await fetch(`http://127.0.0.1:${gw.port}/healthz`)).status).toBe(200);
    expect((await res.json()).errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');

    // Back: the same gateway, no restart.
    await pg.restart();
    await untilReady();
    expect((await gw.gql('{ partners(first: 5) { totalCount } }', {}, agent)).errors).toBeUndefined();

    // Clients retry every order they were not sure of, with the same keys; the ones they were told about answer the same order.
    for (let i = 0; i < 20; i++) {
      const retry = await order(i);
      expect(retry.errors).toBeUndefined();
      if (told.has(i)) expect(retry.data.attemptTransaction.order.id).toBe(told.get(i));
      expect(retry.data.attemptTransaction.order.outcome).toBe(i % 2 ? 'BLOCKED' : 'COMPLETED');
    }

    const conn = gw.orm.em.getConnection();
    const orders = await conn.execute<{ n: number }[]>(`select idempotency_key as key, outcome, count(*)::int as n from orders where idempotency_key like 'outage-%' group by 1, 2`);
    expect(orders).toHaveLength(20);
    expect(orders.every((o) => o.n === 1)).toBe(true);
    const alerts = await conn.execute<{ n: number }[]>(
      `select o.idempotency_key as key, count(a.id)::int as n from orders o left join blocked_order_alerts a on a.order_id = o.id
       where o.idempotency_key like 'outage-%' and o.outcome = 'BLOCKED' group by 1`,
    );
    expect(alerts).toHaveLength(10);
    expect(alerts.every((a) => a.n === 1)).toBe(true);
    const completedWithAlert = await conn.execute(
      `select count(*)::int as n from orders o join blocked_order_alerts a on a.order_id = o.id where o.idempotency_key like 'outage-%' and o.outcome = 'COMPLETED'`,
    );
    expect(completedWithAlert[0].n).toBe(0);
  });
});
