import pino from 'pino';
import { aBlockedOrder, aCustomer, aPartner, aPartnerToken, blockedOrders } from '../factories';
import { analystToken, startGateway, type TestGateway } from '../support/gateway';
import { freshDatabase } from '../support/database';
import { PartnerType, Role } from '../../src/auth/roles';
import { initOrm } from '../../src/db/orm';
import { entities } from '../../src/features';
import { AlertHub } from '../../src/alerts/alert.hub';
import { metricsOf } from '../../src/kernel/metrics';
import type { Viewer } from '../../src/auth/viewer';
import type { Partner } from '../../src/partners/partner.entity';
import type { BlockedOrderAlert } from '../../src/alerts/alert.entity';
import { connect, disposeAll, hubOf, ON_BLOCKED_ORDER, reached, subscribe, subscribersRegistered } from './ws';

/**
 * Delivery guarantees of DESIGN.md section 6: replay then live with no gap or
 * duplicate, across gateway instances, across restarts, under overflow.
 */

let gw: TestGateway;
const stops: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await disposeAll();
  while (stops.length) await stops.pop()!();
  await gw?.stop();
});

async function aTenant(target: TestGateway = gw) {
  const partner = await aPartner(target, { type: PartnerType.DIRECT_BILL });
  const customer = await aCustomer(target, { partners: [{ partner }] });
  return { partner, customer, order: { customer, partner } };
}

const agentOf = (partner: Partner): Viewer => ({ userId: `agent-${partner.id}`, displayName: 'Agent', roles: [Role.AGENT], partnerId: partner.id, partnerType: partner.type });
const cursorsOf = (alerts: { cursor: string }[]) => alerts.map((a) => a.cursor);

async function take(stream: AsyncIterator<{ id: string }>, n: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < n) out.push(String((await stream.next()).value.id));
  return out;
}

describe('replay and live delivery', () => {
  it('with `after`, every later alert arrives first, then live ones, with none lost or doubled at the seam (alerts raised during the replay)', async () => {
    expect.assertions(2);
    const hub = hubOf(gw);
    const saved = hub.options.pageSize;
    hub.options.pageSize = 7; // many table pages, so the replay takes a while
    try {
      const t = await aTenant();
      const [first, ...history] = await blockedOrders(gw, Array.from({ length: 101 }, () => t.order));
      const { client } = connect(gw, await aPartnerToken(t.partner, Role.AGENT));
      const sub = subscribe(client, ON_BLOCKED_ORDER, { after: first });

      // Raise more, one commit each, as soon as the replay has started.
      await sub.until((r) => r.length > 0);
      const during: string[] = [];
      for (let i = 0; i < 40; i++) during.push(await aBlockedOrder(gw, t.order));
      const expected = [...history, ...during];
      const received = await sub.until(reached(during[during.length - 1]));
      expect(cursorsOf(received)).toEqual(expected);
      // Strictly increasing: ordered, and no duplicate anywhere.
      expect(cursorsOf(received).every((c, i, all) => i === 0 || BigInt(c) > BigInt(all[i - 1]))).toBe(true);
    } finally {
      hub.options.pageSize = saved;
    }
  });

  it('each delivered batch reads through a fresh EntityManager and fresh DataLoaders, not the state from when the subscription started', async () => {
    expect.assertions(2);
    const t = await aTenant();
    const { client } = connect(gw, await aPartnerToken(t.partner, Role.AGENT));
    const before = hubOf(gw).subscriberCount();
    const sub = subscribe(client, ON_BLOCKED_ORDER);
    await subscribersRegistered(gw, before + 1);
    const a1 = await aBlockedOrder(gw, t.order);
    const [one] = await sub.until(reached(a1));
    await gw.orm.em.fork().getConnection().execute('update partners set name = ? where id = ?', ['Renamed Ltd', t.partner.id]);
    const a2 = await aBlockedOrder(gw, t.order);
    const [, two] = await sub.until(reached(a2));
    expect(one.partner.name).toBe(t.partner.name);
    expect(two.partner.name).toBe('Renamed Ltd');
  });
});

describe('metrics', () => {
  it('counts delivered alerts and active subscriptions', async () => {
    expect.assertions(3);
    const metrics = metricsOf(gw.services)!;
    const value = async (m: { get(): Promise<{ values: { value: number }[] }> }) => (await m.get()).values[0]?.value ?? 0;
    const t = await aTenant();
    const deliveredBefore = await value(metrics.alertsDelivered);
    const activeBefore = await value(metrics.activeSubscriptions);
    const { client } = connect(gw, await aPartnerToken(t.partner, Role.AGENT));
    const before = hubOf(gw).subscriberCount();
    const sub = subscribe(client, ON_BLOCKED_ORDER);
    await subscribersRegistered(gw, before + 1);
    expect(await value(metrics.activeSubscriptions)).toBe(activeBefore + 1);
    const cursors = await blockedOrders(gw, [t.order, t.order]);
    await sub.until(reached(cursors[1]));
    expect(await value(metrics.alertsDelivered)).toBeGreaterThanOrEqual(deliveredBefore + 2);
    sub.unsubscribe();
    while (hubOf(gw).subscriberCount() > before) await new Promise((r) => setTimeout(r, 10));
    expect(await value(metrics.activeSubscriptions)).toBe(activeBefore);
  });
});

describe('back-pressure', () => {
  it('on queue overflow a subscriber falls back to reading the table from its last delivered cursor: nothing lost, memory bounded', async () => {
    expect.assertions(3);
    const hub = hubOf(gw);
    const saved = hub.options.maxQueue;
    hub.options.maxQueue = 5;
    try {
      const t = await aTenant();
      const { client } = connect(gw, await aPartnerToken(t.partner, Role.AGENT));
      const before = hub.subscriberCount();
      const sub = subscribe(client, ON_BLOCKED_ORDER);
      await subscribersRegistered(gw, before + 1);
      const stream = hub.streams().find((s) => s.scope.viewer.partnerId === t.partner.id)!;
      // One commit of 30: the hub reads and offers them in one synchronous fan-out, overflowing the queue of 5.
      const cursors = await blockedOrders(gw, Array.from({ length: 30 }, () => t.order));
      expect(cursorsOf(await sub.until(reached(cursors[29])))).toEqual(cursors);
      expect(stream.overflows).toBeGreaterThan(0);
      expect(stream.maxQueued).toBeLessThanOrEqual(5);
    } finally {
      hub.options.maxQueue = saved;
    }
  });

  it('a subscriber that does not read stalls nobody else and keeps at most its queue bound in memory', async () => {
    expect.assertions(5);
    const hub = hubOf(gw);
    const saved = hub.options.maxQueue;
    hub.options.maxQueue = 5;
    try {
      const t = await aTenant();
      const slow = hub.subscribe({ viewer: agentOf(t.partner) }, null);
      const { client } = connect(gw, await aPartnerToken(t.partner, Role.AGENT));
      const before = hub.subscriberCount();
      const fast = subscribe(client, ON_BLOCKED_ORDER);
      await subscribersRegistered(gw, before + 1);
      const cursors: string[] = [];
      for (let i = 0; i < 12; i++) cursors.push(await aBlockedOrder(gw, t.order));
      // The fast one got everything while the slow one read nothing.
      expect(cursorsOf(await fast.until(reached(cursors[11])))).toEqual(cursors);
      await hub.caughtUp(BigInt(cursors[11]));
      expect(slow.queued()).toBeLessThanOrEqual(5);
      expect(slow.overflows).toBeGreaterThan(0);
      // When it finally reads, it gets all of them, in order, from the table and then the queue.
      expect(await take(slow, 12)).toEqual(cursors);
      expect(slow.queued()).toBe(0);
      await slow.return();
    } finally {
      hub.options.maxQueue = saved;
    }
  });
});

describe('across gateway instances and restarts', () => {
  it('an alert raised through instance A reaches a subscriber connected to instance B on the same database', async () => {
    expect.assertions(1);
    const b = await startGateway({}, gw.databaseUrl);
    stops.push(() => b.stop());
    const t = await aTenant();
    const { client } = connect(b, await aPartnerToken(t.partner, Role.VIEWER));
    const before = hubOf(b).subscriberCount();
    const sub = subscribe(client, ON_BLOCKED_ORDER);
    await subscribersRegistered(b, before + 1);
    const raised = await blockedOrders(gw, [t.order, t.order]);
    expect(cursorsOf(await sub.until(reached(raised[1])))).toEqual(raised);
  });

  it('an order blocked by attemptTransaction on instance A reaches a subscriber on instance B, once, with the cursor the mutation answered', async () => {
    expect.assertions(3);
    const b = await startGateway({}, gw.databaseUrl);
    stops.push(() => b.stop());
    const t = await aTenant();
    const { client } = connect(b, await aPartnerToken(t.partner, Role.AGENT));
    const before = hubOf(b).subscriberCount();
    const sub = subscribe(client, ON_BLOCKED_ORDER);
    await subscribersRegistered(b, before + 1);
    const attempt = await gw.gql(
      `mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { id outcome } alert { id cursor } } }`,
      { input: { customerId: t.customer.id, kind: 'NEW_PURCHASE', offerId: 'offer-1', quantity: 1, idempotencyKey: 'alerts-e2e-1' } },
      await aPartnerToken(t.partner, Role.AGENT),
    );
    expect(attempt.errors ?? attempt.data.attemptTransaction.order.outcome).toBe('BLOCKED');
    const cursor = attempt.data.attemptTransaction.alert.cursor;
    // A sentinel after it proves nothing else (no duplicate) arrives in between.
    const sentinel = await aBlockedOrder(gw, t.order);
    const received = await sub.until(reached(sentinel));
    expect(cursorsOf(received)).toEqual([cursor, sentinel]);
    expect(received[0]).toMatchObject({ reasons: ['ACCEPTANCE_NOT_CONFIRMED'], order: { id: attempt.data.attemptTransaction.order.id, kind: 'NEW_PURCHASE' } });
  });

  it('a client resuming with its last cursor after a gateway restart loses nothing (alerts raised while no gateway ran)', async () => {
    expect.assertions(3);
    const db = await freshDatabase();
    stops.push(() => db.drop());
    const first = await startGateway({}, db.url);
    let firstStopped = false;
    stops.push(() => (firstStopped ? Promise.resolve() : first.stop()));
    const t = await aTenant(first);
    const c1 = connect(first, await analystToken());
    const sub1 = subscribe(c1.client, ON_BLOCKED_ORDER);
    await subscribersRegistered(first, 1);
    const before = await blockedOrders(first, [t.order, t.order]);
    const seen = await sub1.until(reached(before[1]));
    const last = seen[seen.length - 1].cursor;

    await first.stop();
    firstStopped = true;
    expect((await c1.closed).code).toBe(1001);

    // The gateway is down; orders are still blocked (e.g. through another instance).
    const orm = await initOrm(db.url, entities);
    const whileDown = await blockedOrders({ orm }, [t.order, t.order, t.order]);
    await orm.close();

    const second = await startGateway({}, db.url);
    stops.push(() => second.stop());
    const c2 = connect(second, await analystToken());
    const sub2 = subscribe(c2.client, ON_BLOCKED_ORDER, { after: last });
    await sub2.until(reached(whileDown[2]));
    const live = await aBlockedOrder(second, t.order);
    const resumed = await sub2.until(reached(live));
    expect(cursorsOf(seen)).toEqual(before);
    expect(cursorsOf(resumed)).toEqual([...whileDown, live]);
  });
});

describe('graceful shutdown', () => {
  it('lets in-flight HTTP requests finish, then closes WebSocket subscribers with 1001', async () => {
    expect.assertions(3);
    const other = await startGateway({}, gw.databaseUrl);
    let stopped = false;
    stops.push(() => (stopped ? Promise.resolve() : other.stop()));
    const t = await aTenant();
    const id = await aBlockedOrder(gw, t.order);
    const ws = connect(other, await aPartnerToken(t.partner, Role.VIEWER));
    const sub = subscribe(ws.client, ON_BLOCKED_ORDER);
    await subscribersRegistered(other, 1);

    // Hold the alert's row lock so an acknowledgement through `other` stays in flight.
    const holder = await initOrm(gw.databaseUrl, entities);
    stops.push(() => holder.close());
    const knex = holder.em.getConnection().getKnex();
    const trx = await knex.transaction();
    await trx.raw('select 1 from blocked_order_alerts where id = ? for update', [id]);
    const order: string[] = [];
    const ack = other
      .gql('mutation ($id: ID!) { acknowledgeAlert(id: $id) { alert { id acknowledgedAt } } }', { id }, await aPartnerToken(t.partner, Role.AGENT))
      .then((res) => (order.push('http answered'), res));
    void ws.closed.then(() => order.push('socket closed'));
    // Until the acknowledgement waits on the lock.
    const waiting = async () =>
      (await knex.raw("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like 'update blocked_order_alerts%'")).rows[0].n > 0;
    while (!(await waiting())) await new Promise((r) => setTimeout(r, 10));

    const stopping = other.stop().then(() => (stopped = true));
    // Give a wrong implementation the chance to close the socket first, then let the request finish.
    await new Promise((r) => setTimeout(r, 300));
    await trx.commit();
    const res = await ack;
    await stopping;
    expect(res.data.acknowledgeAlert.alert.id).toBe(id);
    expect((await ws.closed).code).toBe(1001);
    expect(order).toEqual(['http answered', 'socket closed']);
    await sub.ended;
  });
});

describe('the doorbell', () => {
  it('delivery is driven by NOTIFY (no timer needed), and the LISTEN connection reconnects after it drops, reading what it missed', async () => {
    expect.assertions(3);
    // A second hub in this process whose timer would only fire after an hour.
    const hub = new AlertHub(gw.orm, pino({ level: 'silent' }), { pollMs: 3_600_000, reconnectMinMs: 50 });
    await hub.start();
    stops.push(() => hub.stop());
    const t = await aTenant();
    const stream = hub.subscribe({ viewer: agentOf(t.partner) }, null);
    const rung = await aBlockedOrder(gw, t.order);
    expect(await take(stream, 1)).toEqual([rung]);

    const pid = hub.listenerPid()!;
    await gw.orm.em.fork().getConnection().execute('select pg_terminate_backend(?)', [pid]);
    const missed = await aBlockedOrder(gw, t.order);
    expect(await take(stream, 1)).toEqual([missed]);
    expect(hub.listenerPid()).not.toBe(pid);
    await stream.return();
  });
});
