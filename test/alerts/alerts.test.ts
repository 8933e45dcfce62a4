import { aBlockedOrder, aCustomer, aLink, aPartner, aPartnerToken, blockedOrders } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import { BlockReason } from '../../src/transactions/transaction.enums';
import type { Customer } from '../../src/customers/customer.entity';
import type { Partner } from '../../src/partners/partner.entity';
import { ALERT_FIELDS, connect, disposeAll, hubOf, ON_BLOCKED_ORDER, reached, subscribe, subscribersRegistered } from './ws';

const LIST = `query BlockedOrderAlerts($filter: AlertFilter, $first: Int, $after: String) {
  blockedOrderAlerts(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { ${ALERT_FIELDS} } }
  }
}`;
const ACK = `mutation AcknowledgeAlert($id: ID!) {
  acknowledgeAlert(id: $id) { alert { id acknowledgedAt acknowledgedBy { id } } }
}`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await disposeAll();
  await gw?.stop();
});

/** A direct partner, a provider with two resellers, a stranger; a customer each. */
async function world() {
  const direct = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  const provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  const reseller2 = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  const stranger = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  await aLink(gw, reseller, provider);
  await aLink(gw, reseller2, provider);
  const directCustomer = await aCustomer(gw, { partners: [{ partner: direct }] });
  const indirectCustomer = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller, reseller2] }] });
  const strangerCustomer = await aCustomer(gw, { partners: [{ partner: stranger }] });
  return { direct, provider, reseller, reseller2, stranger, directCustomer, indirectCustomer, strangerCustomer };
}

const order = (customer: Customer, partner: Partner, reseller?: Partner, reasons?: BlockReason[]) => ({ customer, partner, reseller, reasons });

describe('blocked-order alerts: subscription tenancy (DESIGN 6)', () => {
  it('a partner receives only its own alerts, a provider also its resellers\' orders, a reseller only its own orders, analysts and admins all', async () => {
    expect.assertions(7);
    const w = await world();
    const clients = {
      direct: connect(gw, await aPartnerToken(w.direct, Role.AGENT)),
      provider: connect(gw, await aPartnerToken(w.provider, Role.VIEWER)),
      reseller: connect(gw, await aPartnerToken(w.reseller, Role.AGENT)),
      analyst: connect(gw, await analystToken()),
      admin: connect(gw, await platformAdminToken()),
      // Another tenant's partner id narrows a direct partner's stream to nothing.
      directNamingStranger: connect(gw, await aPartnerToken(w.direct, Role.ADMIN)),
    };
    const before = hubOf(gw).subscriberCount();
    const subs = {
      direct: subscribe(clients.direct.client, ON_BLOCKED_ORDER),
      provider: subscribe(clients.provider.client, ON_BLOCKED_ORDER),
      reseller: subscribe(clients.reseller.client, ON_BLOCKED_ORDER),
      analyst: subscribe(clients.analyst.client, ON_BLOCKED_ORDER, { customerId: null }),
      admin: subscribe(clients.admin.client, ON_BLOCKED_ORDER),
      directNamingStranger: subscribe(clients.directNamingStranger.client, ON_BLOCKED_ORDER, { partnerId: w.stranger.id }),
    };
    await subscribersRegistered(gw, before + 6);

    const [dA, pA, rA, r2A, sA] = await blockedOrders(gw, [
      order(w.directCustomer, w.direct),
      order(w.indirectCustomer, w.provider),
      order(w.indirectCustomer, w.provider, w.reseller),
      order(w.indirectCustomer, w.provider, w.reseller2),
      order(w.strangerCustomer, w.stranger),
    ]);
    // Sentinels: alerts arrive in cursor order, so once a subscriber has its sentinel it has
    // everything before it it will ever get.
    const [dS, pS] = await blockedOrders(gw, [order(w.directCustomer, w.direct), order(w.indirectCustomer, w.provider, w.reseller)]);
    const ids = (r: { cursor: string }[]) => r.map((a) => a.cursor);
    const mine = (cursors: string[]) => (r: { cursor: string; customer: { id: string } }[]) =>
      r.filter((a) => [w.directCustomer.id, w.indirectCustomer.id, w.strangerCustomer.id].includes(a.customer.id) && cursors.includes(a.cursor)).length === cursors.length;

    expect(ids(await subs.direct.until(reached(dS)))).toEqual([dA, dS]);
    expect(ids(await subs.provider.until(reached(pS)))).toEqual([pA, rA, r2A, pS]);
    expect(ids(await subs.reseller.until(reached(pS)))).toEqual([rA, pS]);
    const all = [dA, pA, rA, r2A, sA, dS, pS];
    expect(ids((await subs.analyst.until(mine(all))).filter((a) => all.includes(a.cursor)))).toEqual(all);
    expect(ids((await subs.admin.until(mine(all))).filter((a) => all.includes(a.cursor)))).toEqual(all);

    // Every alert has been fanned out; nothing matched the stream naming a stranger, so nothing
    // is queued for it or was handed out.
    await hubOf(gw).caughtUp(BigInt(pS));
    expect(subs.directNamingStranger.received).toEqual([]);
    const received = await subs.provider.until(reached(pS));
    expect(received[2]).toMatchObject({
      reasons: ['ACCEPTANCE_NOT_CONFIRMED'],
      acknowledgedAt: null,
      order: { kind: 'NEW_PURCHASE', channel: 'API' },
      customer: { id: w.indirectCustomer.id, companyName: w.indirectCustomer.companyName },
      partner: { id: w.provider.id, name: w.provider.name },
      reseller: { id: w.reseller2.id, name: w.reseller2.name },
    });
  });

  it('partnerId and customerId narrow a stream: a provider naming one reseller and one customer', async () => {
    expect.assertions(1);
    const w = await world();
    const otherCustomer = await aCustomer(gw, { partners: [{ partner: w.provider, resellers: [w.reseller] }] });
    const { client } = connect(gw, await aPartnerToken(w.provider, Role.AGENT));
    const before = hubOf(gw).subscriberCount();
    const sub = subscribe(client, ON_BLOCKED_ORDER, { partnerId: w.reseller.id, customerId: w.indirectCustomer.id });
    await subscribersRegistered(gw, before + 1);
    const [, , wanted, , last] = await blockedOrders(gw, [
      order(w.indirectCustomer, w.provider),
      order(w.indirectCustomer, w.provider, w.reseller2),
      order(w.indirectCustomer, w.provider, w.reseller),
      order(otherCustomer, w.provider, w.reseller),
      order(w.indirectCustomer, w.provider, w.reseller),
    ]);
    expect((await sub.until(reached(last))).map((a) => a.cursor)).toEqual([wanted, last]);
  });

  it('a bad or missing token closes the socket with 4403', async () => {
    expect.assertions(3);
    const missing = connect(gw, null);
    const garbage = connect(gw, null, 'Bearer not-a-jwt');
    const notBearer = connect(gw, null, 'Basic abc');
    for (const c of [missing, garbage, notBearer]) subscribe(c.client, ON_BLOCKED_ORDER);
    for (const c of [missing, garbage, notBearer]) expect((await c.closed).code).toBe(4403);
  });

  it('a subscription document breaking a validation rule is refused with a coded error', async () => {
    expect.assertions(4);
    const { client } = connect(gw, await analystToken());
    const unknownField = subscribe(client, 'subscription { blockedOrderAlerts { id nope } }');
    const twoRoots = subscribe(client, 'subscription { blockedOrderAlerts { id } again: blockedOrderAlerts { id } }');
    const [e1, e2] = (await Promise.all([unknownField.ended, twoRoots.ended])) as { message: string; extensions?: { code?: string } }[][];
    expect(e1[0].message).toMatch(/Cannot query field "nope"/);
    expect(e1[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(e2[0].message).toMatch(/must select only one top level field/);
    expect(e2[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('a subscription sent over HTTP is refused with BAD_REQUEST (it needs WebSocket)', async () => {
    const res = await gw.gql(ON_BLOCKED_ORDER, {}, await analystToken());
    expect(res.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
  });

  it('malformed arguments are BAD_USER_INPUT naming the argument', async () => {
    expect.assertions(2);
    const { client } = connect(gw, await analystToken());
    const badAfter = subscribe(client, ON_BLOCKED_ORDER, { after: 'abc' });
    const badCustomer = subscribe(client, ON_BLOCKED_ORDER, { customerId: 'not-an-id' });
    await Promise.all([badAfter.ended, badCustomer.ended]);
    expect(badAfter.errors[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'after' } });
    expect(badCustomer.errors[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'customerId' } });
  });
});

describe('blocked-order alerts: the query', () => {
  it('lists the alerts a caller receives, oldest first, with totalCount and cursor pagination', async () => {
    const w = await world();
    const cursors = await blockedOrders(gw, [
      order(w.directCustomer, w.direct),
      order(w.directCustomer, w.direct, undefined, [BlockReason.ACCEPTANCE_WITHDRAWN]),
      order(w.directCustomer, w.direct),
      order(w.strangerCustomer, w.stranger),
    ]);
    const token = await aPartnerToken(w.direct, Role.VIEWER);
    const page1 = await gw.gql(LIST, { first: 2 }, token);
    expect(page1.errors).toBeUndefined();
    expect(page1.data.blockedOrderAlerts.totalCount).toBe(3);
    expect(page1.data.blockedOrderAlerts.edges.map((e: any) => e.cursor)).toEqual(cursors.slice(0, 2));
    expect(page1.data.blockedOrderAlerts.edges[0].node).toMatchObject({ id: cursors[0], cursor: cursors[0], partner: { id: w.direct.id }, reseller: null });
    expect(page1.data.blockedOrderAlerts.pageInfo).toEqual({ hasNextPage: true, endCursor: cursors[1] });
    const page2 = await gw.gql(LIST, { first: 2, after: page1.data.blockedOrderAlerts.pageInfo.endCursor }, token);
    expect(page2.data.blockedOrderAlerts.edges.map((e: any) => e.cursor)).toEqual([cursors[2]]);
    expect(page2.data.blockedOrderAlerts.pageInfo.hasNextPage).toBe(false);

    const withdrawn = await gw.gql(LIST, { filter: { reason: 'ACCEPTANCE_WITHDRAWN' } }, token);
    expect(withdrawn.data.blockedOrderAlerts.edges.map((e: any) => e.cursor)).toEqual([cursors[1]]);
  });

  it('filters by partner, customer and acknowledgement; another tenant\'s partner yields nothing', async () => {
    const w = await world();
    const [pA, rA, sA] = await blockedOrders(gw, [
      order(w.indirectCustomer, w.provider),
      order(w.indirectCustomer, w.provider, w.reseller),
      order(w.strangerCustomer, w.stranger),
    ]);
    const provider = await aPartnerToken(w.provider, Role.AGENT);
    const byReseller = await gw.gql(LIST, { filter: { partnerId: w.reseller.id } }, provider);
    expect(byReseller.data.blockedOrderAlerts.edges.map((e: any) => e.cursor)).toEqual([rA]);
    const foreign = await gw.gql(LIST, { filter: { partnerId: w.stranger.id } }, provider);
    expect(foreign.data.blockedOrderAlerts).toMatchObject({ totalCount: 0, edges: [] });

    await gw.gql(ACK, { id: pA }, provider);
    const open = await gw.gql(LIST, { filter: { customerId: w.indirectCustomer.id, acknowledged: false } }, await analystToken());
    expect(open.data.blockedOrderAlerts.edges.map((e: any) => e.cursor)).toEqual([rA]);
    const done = await gw.gql(LIST, { filter: { customerId: w.indirectCustomer.id, acknowledged: true } }, await analystToken());
    expect(done.data.blockedOrderAlerts.edges.map((e: any) => e.cursor)).toEqual([pA]);
    const strangers = await gw.gql(LIST, { filter: { customerId: w.strangerCustomer.id } }, await platformAdminToken());
    expect(strangers.data.blockedOrderAlerts.edges.map((e: any) => e.cursor)).toEqual([sA]);
  });

  it('bad paging or filter input is BAD_USER_INPUT with the field', async () => {
    const token = await analystToken();
    const cases: [Record<string, unknown>, string][] = [
      [{ first: 0 }, 'first'],
      [{ first: 101 }, 'first'],
      [{ after: 'abc' }, 'after'],
      [{ after: '9223372036854775808' }, 'after'], // one past bigint: never reaches SQL
      [{ filter: { customerId: 'nope' } }, 'filter.customerId'],
      [{ filter: { partnerId: 'nope' } }, 'filter.partnerId'],
    ];
    for (const [vars, field] of cases) {
      const res = await gw.gql(LIST, vars, token);
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });

  it('acknowledging an id beyond bigint is NOT_FOUND naming id, not an internal error', async () => {
    const res = await gw.gql('mutation ($id: ID!) { acknowledgeAlert(id: $id) { alert { id } } }', { id: '9223372036854775808' }, await platformAdminToken());
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
  });

  it('without a token the query is UNAUTHENTICATED', async () => {
    const res = await gw.gql(LIST, {});
    expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('resolves partners, customers, orders and acknowledgers in batches, not per alert (no N+1)', async () => {
    const w = await world();
    const token = await aPartnerToken(w.provider, Role.AGENT);
    const first = await blockedOrders(gw, [order(w.indirectCustomer, w.provider, w.reseller)]);
    await gw.gql(ACK, { id: first[0] }, token);
    const filter = { customerId: w.indirectCustomer.id };
    await gw.gql(LIST, { filter }, token); // warm the viewer's user record
    const one = await gw.countStatements(() => gw.gql(LIST, { filter }, token));
    const many = await blockedOrders(gw, Array.from({ length: 10 }, (_, i) => order(w.indirectCustomer, w.provider, i % 2 ? w.reseller : w.reseller2)));
    for (const id of many) await gw.gql(ACK, { id }, token);
    const eleven = await gw.countStatements(() => gw.gql(LIST, { filter }, token));
    expect(eleven).toBe(one);
  });
});

describe('blocked-order alerts: acknowledgement (DESIGN 6)', () => {
  it('an AGENT or ADMIN of the billing partner acknowledges; the first acknowledgement stays', async () => {
    const w = await world();
    const id = await aBlockedOrder(gw, order(w.directCustomer, w.direct));
    const agent = await aPartnerToken(w.direct, Role.AGENT, 'ack-agent');
    const res = await gw.gql(ACK, { id }, agent);
    expect(res.errors).toBeUndefined();
    expect(res.data.acknowledgeAlert.alert).toMatchObject({ id, acknowledgedBy: { id: 'ack-agent' } });
    expect(Date.parse(res.data.acknowledgeAlert.alert.acknowledgedAt)).not.toBeNaN();

    const again = await gw.gql(ACK, { id }, await aPartnerToken(w.direct, Role.ADMIN, 'ack-admin'));
    expect(again.data.acknowledgeAlert.alert).toEqual(res.data.acknowledgeAlert.alert);
  });

  it("a provider acknowledges its resellers' orders' alerts; a reseller only its own orders'", async () => {
    const w = await world();
    const [own, viaReseller] = await blockedOrders(gw, [order(w.indirectCustomer, w.provider), order(w.indirectCustomer, w.provider, w.reseller)]);
    const reseller = await aPartnerToken(w.reseller, Role.ADMIN);
    expect((await gw.gql(ACK, { id: own }, reseller)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await gw.gql(ACK, { id: viaReseller }, reseller)).data.acknowledgeAlert.alert.acknowledgedBy.id).toBe(`admin-${w.reseller.id}`);
    const provider = await aPartnerToken(w.provider, Role.AGENT);
    expect((await gw.gql(ACK, { id: own }, provider)).data.acknowledgeAlert.alert.acknowledgedBy.id).toBe(`agent-${w.provider.id}`);
  });

  it("another partner's alert is NOT_FOUND; VIEWER and ANALYST are FORBIDDEN; a platform admin may", async () => {
    const w = await world();
    const id = await aBlockedOrder(gw, order(w.directCustomer, w.direct));
    expect((await gw.gql(ACK, { id }, await aPartnerToken(w.stranger, Role.ADMIN))).errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
    expect((await gw.gql(ACK, { id: '999999999' }, await aPartnerToken(w.direct, Role.ADMIN))).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await gw.gql(ACK, { id: 'abc' }, await aPartnerToken(w.direct, Role.ADMIN))).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await gw.gql(ACK, { id }, await aPartnerToken(w.direct, Role.VIEWER))).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await gw.gql(ACK, { id }, await analystToken())).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const admin = await gw.gql(ACK, { id }, await platformAdminToken());
    expect(admin.data.acknowledgeAlert.alert.acknowledgedBy.id).toBe('test-platform-admin');
    // Nothing was written by the refused attempts: the platform admin's is the acknowledgement.
  });
});
