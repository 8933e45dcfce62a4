import { aCustomer, aLink, aPartner, aPartnerToken, blockedOrders } from '../factories';
import { PartnerType, Role } from '../../src/auth/roles';
import { queryRows } from '../../src/db/query';
import type { Customer } from '../../src/customers/customer.entity';
import type { Partner } from '../../src/partners/partner.entity';
import type { EntityManager } from '@mikro-orm/postgresql';
import { buildContext } from '../../src/kernel/context';
import { defineLoader } from '../../src/kernel/loaders';
import { subscribeToAlerts } from '../../src/alerts/alert.subscription';
import type { AlertLookup } from '../../src/alerts/alert.lookups';
import type { BlockedOrderAlertRecord } from '../../src/alerts/alert.queries';
import { analystToken, startGateway, type TestGateway } from '../support/gateway';
import { connect, disposeAll, hubOf, ON_BLOCKED_ORDER, reached, subscribe, subscribersRegistered } from './ws';

/**
 * A delivered batch (a table page of a replay, or a hub read handed to a live
 * subscriber) looks up its alerts' orders, customers and partners together, so the
 * statements of a delivery grow with its pages, not with its alerts.
 */

let gw: TestGateway;
/** Every statement that reads (the fixtures' inserts, locks and notifies left out), by SQL. */
const reads: string[] = [];
beforeAll(async () => {
  gw = await startGateway();
  gw.orm.em
    .getConnection()
    .getKnex()
    .on('query', (q: { sql: string }) => {
      if (/^\s*select/i.test(q.sql) && !/pg_advisory|pg_notify/.test(q.sql)) reads.push(q.sql);
    });
});
afterAll(async () => {
  await disposeAll();
  await gw?.stop();
});

interface Tenancy {
  provider: Partner;
  reseller: Partner;
  customers: Customer[];
}

async function aTenancy(): Promise<Tenancy> {
  const provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  const customers: Customer[] = [];
  for (let i = 0; i < 3; i++) customers.push(await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] }));
  return { provider, reseller, customers };
}

/** n blocked orders in one commit, rotating over the tenancy's customers; their cursors. */
const raise = (t: Tenancy, n: number) =>
  blockedOrders(
    gw,
    Array.from({ length: n }, (_, i) => ({ customer: t.customers[i % t.customers.length], partner: t.provider, reseller: t.reseller })),
  );

/**
 * Read statements run while `work` runs, and how many times the hub's safety timer (every
 * `pollMs`, a read while a subscriber catches up) could have fired meanwhile: once in a quick
 * run, more when a loaded machine stretches it.
 */
async function readsDuring(work: () => Promise<unknown>): Promise<{ statements: string[]; timerReads: number }> {
  const from = reads.length;
  const started = performance.now();
  await work();
  return { statements: reads.slice(from), timerReads: Math.floor((performance.now() - started) / hubOf(gw).options.pollMs) + 1 };
}

/** What each delivered alert must say, from the table. */
async function expectedPayloads(t: Tenancy, cursors: string[]) {
  const rows = await queryRows<{ id: string; order_id: string; customer_id: string }>(
    gw.orm.em.fork() as EntityManager,
    'select id::text, order_id, customer_id from blocked_order_alerts where id = any(?::bigint[]) order by blocked_order_alerts.id',
    [cursors],
  );
  const customer = new Map(t.customers.map((c) => [c.id, c]));
  return rows.map((r) => ({
    cursor: r.id,
    order: { id: r.order_id, kind: 'NEW_PURCHASE', channel: 'API' },
    customer: { id: r.customer_id, companyName: customer.get(r.customer_id)!.companyName },
    partner: { id: t.provider.id, name: t.provider.name },
    reseller: { id: t.reseller.id, name: t.reseller.name },
  }));
}

const PAGE = 20;

/**
 * A tenancy's ALERTS + 1 alerts raised and fanned out (to nobody) before a subscriber arrives,
 * then `query` subscribed from the first by the provider's agent, the hub's table pages of PAGE
 * alerts: answers the read statements run until the last is delivered, the history, and the subscriber.
 */
async function replayFromTable(query: string) {
  const hub = hubOf(gw);
  const saved = hub.options.pageSize;
  hub.options.pageSize = PAGE;
  try {
    const t = await aTenancy();
    const [first, ...history] = await raise(t, ALERTS + 1);
    await hub.caughtUp(BigInt(history[history.length - 1]));
    const sub = subscribe(connect(gw, await aPartnerToken(t.provider, Role.AGENT)).client, query, { after: first });
    const { statements, timerReads } = await readsDuring(() => sub.until(reached(history[history.length - 1])));
    return { t, history, sub, statements, timerReads };
  } finally {
    hub.options.pageSize = saved;
  }
}
const ALERTS = 60;

describe('statements of a delivered batch', () => {
  it(`a replay of ${ALERTS} alerts in pages of ${PAGE} runs a few statements per page, not per alert, and delivers the same payloads`, async () => {
    expect.assertions(3);
    const { t, history, sub, statements, timerReads } = await replayFromTable(ON_BLOCKED_ORDER);
    const pages = Math.ceil(ALERTS / PAGE);
    // Per page: its read, the viewer's check, orders, customers, partners (billing and reseller in one);
    // besides, the viewer's at connection and the hub's safety timer's, as often as it fired meanwhile.
    // (Each alert looking up its own order: 80 for these 60.)
    expect(statements.length).toBeLessThanOrEqual(pages * 5 + 1 + timerReads);
    expect(sub.received.map(({ cursor, order, customer, partner, reseller }) => ({ cursor, order, customer, partner, reseller }))).toEqual(
      await expectedPayloads(t, history),
    );
    expect(sub.errors).toEqual([]);
  });

  it(`${ALERTS} alerts of one hub read, delivered live, cost a few statements, not a few per alert`, async () => {
    expect.assertions(3);
    const t = await aTenancy();
    const before = hubOf(gw).subscriberCount();
    const sub = subscribe(connect(gw, await aPartnerToken(t.reseller, Role.AGENT)).client, ON_BLOCKED_ORDER);
    await subscribersRegistered(gw, before + 1);
    let cursors: string[] = [];
    const { statements, timerReads } = await readsDuring(async () => {
      cursors = await raise(t, ALERTS);
      await sub.until(reached(cursors[cursors.length - 1]));
    });
    // The hub's reads (one or two more after the burst of rings), the viewer's check, orders,
    // customers, partners; the safety timer's as often as it fired. (Each alert looking up its own order: 68.)
    expect(statements.length).toBeLessThanOrEqual(8 + timerReads);
    expect(sub.received.map(({ cursor, order, customer, partner, reseller }) => ({ cursor, order, customer, partner, reseller }))).toEqual(
      await expectedPayloads(t, cursors),
    );
    expect(sub.errors).toEqual([]);
  });
});

describe('the lookups of a delivered batch', () => {
  it('are made only for the fields the subscription selects', async () => {
    expect.assertions(2);
    const query = 'subscription ($after: String) { blockedOrderAlerts(after: $after) { id cursor partner { name } } }';
    const { history, sub, statements } = await replayFromTable(query);
    expect(statements.filter((sql) => /"orders"|"customers"/.test(sql))).toEqual([]);
    expect(sub.received.map((a) => a.cursor)).toEqual(history);
  });

  /** A lookup whose batch of more than one key fails (the batch's lookup), while one key at a time (an alert's own) answers. */
  function flakyLookup(viewerIndependent: boolean) {
    const batches: number[] = [];
    const loader = defineLoader<string, string>(
      async (_ctx, ids) => {
        batches.push(ids.length);
        if (ids.length > 1) throw new Error('the batch lookup failed');
        return ids.map((id) => `order ${id}`);
      },
      {},
      viewerIndependent,
    );
    const lookup: AlertLookup<BlockedOrderAlertRecord> = { field: 'order', loader, key: (a) => a.order.id };
    return { batches, loader, lookup };
  }

  it.each([
    ['a table page', false],
    ['a hub read shared by its subscribers', true],
  ])('that fail (%s) hold up no alert: each alert is looked up on its own, as before', async (_name, live) => {
    expect.assertions(5);
    const hub = hubOf(gw);
    const t = await aTenancy();
    const { batches, loader, lookup } = flakyLookup(live);
    const context = await buildContext(gw.services, `Bearer ${await analystToken()}`);
    let cursors: string[];
    let events: ReturnType<typeof subscribeToAlerts<BlockedOrderAlertRecord>>;
    if (live) {
      const before = hub.subscriberCount();
      events = subscribeToAlerts(context, hub, { partnerId: t.provider.id }, [lookup]);
      while (hub.subscriberCount() === before) await new Promise((r) => setTimeout(r, 10));
      cursors = await raise(t, 3);
    } else {
      const [first, ...rest] = await raise(t, 4);
      cursors = rest;
      await hub.caughtUp(BigInt(rest[2]));
      events = subscribeToAlerts(context, hub, { partnerId: t.provider.id, after: first }, [lookup]);
    }
    const delivered: string[] = [];
    for (let i = 0; i < 3; i++) {
      const alert = (await events.next()).value as BlockedOrderAlertRecord;
      // What the order field's resolver does with the event.
      expect(await loader.of(context).load(alert.order.id)).toBe(`order ${alert.order.id}`);
      delivered.push(alert.id);
    }
    await events.return!();
    expect(delivered).toEqual(cursors);
    expect(batches).toEqual([3, 1, 1, 1]);
  });
});
