import { aBlockedOrder, aCustomer, aPartner, aPartnerToken, blockedOrders } from '../factories';
import { startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import { connect, disposeAll, hubOf, ON_BLOCKED_ORDER, reached, subscribe, subscribersRegistered } from './ws';

/**
 * The table is the mailbox: an instance nobody subscribes to has nothing to fan out,
 * so a blocked order costs it no read, and a subscriber arriving later still receives
 * every alert it asks for (replay from the table) and none from before it subscribed.
 */

let gw: TestGateway;
/** Statements that read alert rows (not the cursor's `max(id)`, not the write's insert and notify). */
const alertReads: string[] = [];
beforeAll(async () => {
  gw = await startGateway();
  gw.orm.em
    .getConnection()
    .getKnex()
    .on('query', (q: { sql: string }) => {
      if (/^\s*select/i.test(q.sql) && /blocked_order_alerts/.test(q.sql) && !/max\(/i.test(q.sql) && !/pg_notify|advisory/.test(q.sql)) alertReads.push(q.sql);
    });
});
afterAll(async () => {
  await disposeAll();
  await gw?.stop();
});

async function aTenant() {
  const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  const customer = await aCustomer(gw, { partners: [{ partner }] });
  return { partner, customer, order: { customer, partner } };
}

describe('an instance without subscribers', () => {
  it('reads no alert rows when orders are blocked; a later subscriber with `after` replays them all, one without receives only alerts raised after it subscribed', async () => {
    expect.assertions(5);
    const t = await aTenant();
    const hub = hubOf(gw);
    expect(hub.subscriberCount()).toBe(0);

    alertReads.length = 0;
    const unseen = await blockedOrders(gw, [t.order, t.order, t.order]);
    const single = await aBlockedOrder(gw, t.order);
    // The rings arrive: the hub's cursor moves to the last announced alert without reading it.
    while (hub.lastSeen < BigInt(single)) await new Promise((r) => setTimeout(r, 10));
    expect(alertReads).toEqual([]);

    const token = await aPartnerToken(t.partner, Role.AGENT);
    const replay = subscribe(connect(gw, token).client, ON_BLOCKED_ORDER, { after: unseen[0] });
    const live = subscribe(connect(gw, token).client, ON_BLOCKED_ORDER);
    await subscribersRegistered(gw, 2);
    const next = await aBlockedOrder(gw, t.order);

    const replayed = await replay.until(reached(next));
    expect(replayed.map((a) => a.cursor)).toEqual([unseen[1], unseen[2], single, next]);
    const received = await live.until(reached(next));
    expect(received.map((a) => a.cursor)).toEqual([next]);
    // Both subscribers got their fields from rows read after they arrived.
    expect(received[0].partner).toEqual({ id: t.partner.id, name: t.partner.name });
  });
});
