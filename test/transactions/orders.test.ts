import { randomUUID } from 'node:crypto';
import { aCustomer, aLink, anAcceptance, anAgreement, aPartner, aPartnerToken, aSubscription } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { SubscriptionStatus } from '../../src/transactions/transaction.enums';
import { ATTEMPT, ORDERS } from '../acceptance/ops';

/** Orders: validation, subscriptions, idempotency, requestedAt, tenancy of the history. */

let gw: TestGateway;
let direct: Partner;
let provider: Partner;
let reseller: Partner;
let otherReseller: Partner;
let mca: AgreementTemplate;

beforeAll(async () => {
  gw = await startGateway();
  direct = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  otherReseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  await aLink(gw, otherReseller, provider);
  mca = await anAgreement(gw, { versionRank: 1, effectiveFrom: '2019-01-01' });
});
afterAll(() => gw?.stop());

async function confirmedCustomer(partner: Partner = direct, resellers: Partner[] = []): Promise<Customer> {
  const customer = await aCustomer(gw, { partners: [{ partner, resellers }] });
  await anAcceptance(gw, { customer, partner, template: mca });
  return customer;
}
const send = (token: string, input: Record<string, unknown>) => gw.gql(ATTEMPT, { input: { quantity: 1, idempotencyKey: randomUUID(), ...input } }, token);
const count = async (table: string, where = 'true', params: unknown[] = []) =>
  Number((await gw.orm.em.getConnection().execute<{ n: string }[]>(`select count(*) as n from ${table} where ${where}`, params))[0].n);

describe('validation of an order', () => {
  let customer: Customer;
  let token: string;
  beforeAll(async () => {
    customer = await confirmedCustomer();
    token = await aPartnerToken(direct);
  });

  it.each([
    ['quantities must be positive', { kind: 'NEW_PURCHASE', offerId: 'o', quantity: 0 }, 'quantity'],
    ['NEW_PURCHASE needs an offerId', { kind: 'NEW_PURCHASE', offerId: '  ' }, 'offerId'],
    ['SEAT_CHANGE needs a subscriptionId', { kind: 'SEAT_CHANGE' }, 'subscriptionId'],
    ['RENEWAL needs a subscriptionId', { kind: 'RENEWAL' }, 'subscriptionId'],
    ['the idempotencyKey may not be blank', { kind: 'NEW_PURCHASE', offerId: 'o', idempotencyKey: ' ' }, 'idempotencyKey'],
  ])('%s: BAD_USER_INPUT, nothing stored', async (_rule, over, field) => {
    const before = await count('orders');
    const res = await send(token, { customerId: customer.id, ...over });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await count('orders')).toBe(before);
  });

  it('the subscription must belong to that customer and billing partner: NOT_FOUND on subscriptionId', async () => {
    const elsewhere = await confirmedCustomer();
    const foreign = await aSubscription(gw, { customer: elsewhere, partner: direct });
    const res = await send(token, { customerId: customer.id, kind: 'SEAT_CHANGE', subscriptionId: foreign.id, quantity: 3 });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'subscriptionId' });
    const otherPartner = await aPartner(gw);
    const shared = await aCustomer(gw, { partners: [{ partner: direct }, { partner: otherPartner }] });
    const theirs = await aSubscription(gw, { customer: shared, partner: otherPartner });
    const res2 = await send(token, { customerId: shared.id, kind: 'RENEWAL', subscriptionId: theirs.id });
    expect(res2.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'subscriptionId' });
  });

  it('a cancelled subscription cannot change: BAD_USER_INPUT on subscriptionId', async () => {
    const sub = await aSubscription(gw, { customer, partner: direct });
    await gw.orm.em.getConnection().execute('update subscriptions set status = ? where id = ?', [SubscriptionStatus.CANCELLED, sub.id]);
    const res = await send(token, { customerId: customer.id, kind: 'SEAT_CHANGE', subscriptionId: sub.id, quantity: 3 });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'subscriptionId' });
  });

  it("another tenant's customer is NOT_FOUND", async () => {
    const stranger = await aPartner(gw);
    const theirs = await confirmedCustomer(stranger);
    const res = await send(token, { customerId: theirs.id, kind: 'NEW_PURCHASE', offerId: 'o' });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'customerId' });
  });

  it('ANALYST and VIEWER may never transact: FORBIDDEN', async () => {
    for (const t of [await analystToken(), await aPartnerToken(direct, Role.VIEWER)]) {
      const res = await send(t, { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', partnerId: direct.id });
      expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
  });

  it('only a platform admin may set requestedAt: FORBIDDEN otherwise', async () => {
    const res = await send(token, { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', requestedAt: '2018-01-01T00:00:00Z' });
    expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const admin = await send(await platformAdminToken(), { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', partnerId: direct.id, requestedAt: '2018-01-01T00:00:00Z' });
    expect(admin.data.attemptTransaction.order.requestedAt).toBe('2018-01-01T00:00:00.000Z');
  });
});

describe('subscriptions', () => {
  it('NEW_PURCHASE creates a subscription, SEAT_CHANGE sets its seats, and the customer lists it', async () => {
    const customer = await confirmedCustomer();
    const token = await aPartnerToken(direct);
    const buy = await send(token, { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'teams', quantity: 5 });
    const sub = buy.data.attemptTransaction.order.subscription;
    expect(sub).toEqual({ id: expect.any(String), seats: 5, status: 'ACTIVE' });
    const change = await send(token, { customerId: customer.id, kind: 'SEAT_CHANGE', subscriptionId: sub.id, quantity: 12 });
    expect(change.data.attemptTransaction.order.subscription).toEqual({ id: sub.id, seats: 12, status: 'ACTIVE' });
    const view = await gw.gql(`query ($id: ID!) { customer(id: $id) { subscriptions { id offerId seats status } } }`, { id: customer.id }, token);
    expect(view.data.customer.subscriptions).toEqual([{ id: sub.id, offerId: 'teams', seats: 12, status: 'ACTIVE' }]);
  });

  it('a BLOCKED order changes no subscription', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    const sub = await aSubscription(gw, { customer, partner: direct, seats: 7 });
    const res = await send(await aPartnerToken(direct), { customerId: customer.id, kind: 'SEAT_CHANGE', subscriptionId: sub.id, quantity: 70 });
    expect(res.data.attemptTransaction.order).toMatchObject({ outcome: 'BLOCKED', subscription: { id: sub.id, seats: 7 } });
  });
});

describe('idempotency', () => {
  it('the same idempotencyKey from the same partner returns the first order (and its alert) and creates nothing more', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    const token = await aPartnerToken(direct);
    const input = { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 2, idempotencyKey: 'retry-1' };
    const first = await gw.gql(ATTEMPT, { input }, token);
    const again = await gw.gql(ATTEMPT, { input }, await aPartnerToken(direct, Role.ADMIN, 'another-user-same-partner'));
    expect(first.data.attemptTransaction.order.outcome).toBe('BLOCKED');
    expect(again.data).toEqual(first.data);
    expect(await count('orders', 'customer_id = ?', [customer.id])).toBe(1);
    expect(await count('blocked_order_alerts', 'customer_id = ?', [customer.id])).toBe(1);
  });

  it('ten identical concurrent requests create one order; each gets it back', async () => {
    const customer = await confirmedCustomer();
    const token = await aPartnerToken(direct);
    const input = { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 4, idempotencyKey: 'burst' };
    const results = await Promise.all(Array.from({ length: 10 }, () => gw.gql(ATTEMPT, { input }, token)));
    for (const r of results) expect(r.errors).toBeUndefined();
    const ids = new Set(results.map((r) => r.data.attemptTransaction.order.id));
    expect(ids.size).toBe(1);
    expect(await count('orders', 'customer_id = ?', [customer.id])).toBe(1);
    expect(await count('subscriptions', 'customer_id = ?', [customer.id])).toBe(1);
  });

  it('ten identical concurrent BLOCKED requests create one order and one alert', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    const token = await aPartnerToken(direct);
    const input = { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 4, idempotencyKey: 'burst-blocked' };
    const results = await Promise.all(Array.from({ length: 10 }, () => gw.gql(ATTEMPT, { input }, token)));
    expect(new Set(results.map((r) => r.data.attemptTransaction.alert.id)).size).toBe(1);
    expect(await count('blocked_order_alerts', 'customer_id = ?', [customer.id])).toBe(1);
  });

  it('a different request under a used key is CONFLICT', async () => {
    const customer = await confirmedCustomer();
    const token = await aPartnerToken(direct);
    const input = { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: 'reused' };
    await gw.gql(ATTEMPT, { input }, token);
    const res = await gw.gql(ATTEMPT, { input: { ...input, quantity: 2 } }, token);
    expect(res.errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  it('keys are per acting partner: the same key from another partner is a new order', async () => {
    const other = await aPartner(gw);
    const mine = await confirmedCustomer();
    const theirs = await confirmedCustomer(other);
    const a = await send(await aPartnerToken(direct), { customerId: mine.id, kind: 'NEW_PURCHASE', offerId: 'o', idempotencyKey: 'shared-key' });
    const b = await send(await aPartnerToken(other), { customerId: theirs.id, kind: 'NEW_PURCHASE', offerId: 'o', idempotencyKey: 'shared-key' });
    expect(a.data.attemptTransaction.order.id).not.toBe(b.data.attemptTransaction.order.id);
  });
});

describe('the order history', () => {
  it("tenancy: a provider sees its resellers' orders, a reseller only its own, another partner none", async () => {
    const customer = await confirmedCustomer(provider, [reseller, otherReseller]);
    const mine = await send(await aPartnerToken(reseller), { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', partnerId: provider.id });
    const theirs = await send(await aPartnerToken(otherReseller), { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', partnerId: provider.id });
    const ids = async (token: string, filter: Record<string, unknown> = { customerId: customer.id }) =>
      (await gw.gql(ORDERS, { filter, first: 100 }, token)).data.orders.edges.map((e: any) => e.node.id);
    const mineId = mine.data.attemptTransaction.order.id;
    const theirsId = theirs.data.attemptTransaction.order.id;
    expect((await ids(await aPartnerToken(provider, Role.VIEWER))).sort()).toEqual([mineId, theirsId].sort());
    expect(await ids(await aPartnerToken(reseller, Role.VIEWER))).toEqual([mineId]);
    expect(await ids(await aPartnerToken(direct))).toEqual([]);
    expect((await ids(await analystToken())).sort()).toEqual([mineId, theirsId].sort());
  });

  it('filters by outcome and kind, and pages with cursors', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    const token = await aPartnerToken(direct);
    for (let i = 0; i < 3; i++) await send(token, { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: `o${i}` });
    const blocked = await gw.gql(ORDERS, { filter: { customerId: customer.id, outcome: 'BLOCKED', kind: 'NEW_PURCHASE' }, first: 2 }, token);
    expect(blocked.data.orders.totalCount).toBe(3);
    expect(blocked.data.orders.pageInfo.hasNextPage).toBe(true);
    const next = await gw.gql(ORDERS, { filter: { customerId: customer.id, outcome: 'BLOCKED' }, first: 2, after: blocked.data.orders.pageInfo.endCursor }, token);
    expect(next.data.orders.edges.map((e: any) => e.node.offerId)).toEqual(['o2']);
    const completed = await gw.gql(ORDERS, { filter: { customerId: customer.id, outcome: 'COMPLETED' } }, token);
    expect(completed.data.orders.totalCount).toBe(0);
  });

  it('a page with its totalCount is one statement, and lists each order as the attempt answered it', async () => {
    const customer = await confirmedCustomer(provider, [reseller]);
    const placed = [
      await send(await aPartnerToken(provider), { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'p0', quantity: 3 }),
      await send(await aPartnerToken(reseller), { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'p1', partnerId: provider.id }),
    ].map((r) => r.data.attemptTransaction.order);
    const token = await aPartnerToken(provider, Role.VIEWER);
    const page = `query($filter: OrderFilter) { orders(filter: $filter, first: 10) { totalCount edges { node { id offerId } } } }`;
    await gw.gql(page, { filter: { customerId: customer.id } }, token); // the first request records the user
    let res: any;
    const statements = await gw.countStatements(async () => {
      res = await gw.gql(page, { filter: { customerId: customer.id } }, token);
    });
    expect(res.data.orders.totalCount).toBe(2);
    expect(statements).toBe(1);
    const listed = await gw.gql(ORDERS, { filter: { customerId: customer.id } }, token);
    expect(listed.data.orders.edges.map((e: any) => e.node)).toEqual(placed);
    expect(placed[1].reseller).toEqual({ id: reseller.id });
  });
});
