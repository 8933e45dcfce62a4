import { randomUUID } from 'node:crypto';
import { aCustomer, anAcceptance, anAgreement, aPartner, aPartnerToken, aSubscription } from '../factories';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType } from '../../src/auth/roles';
import { AgreementType } from '../../src/agreements/agreement.enums';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { SubscriptionStatus } from '../../src/transactions/transaction.enums';

/**
 * DESIGN.md section 12 from outside, replaying business time as a platform admin:
 * purchases of each term and billing, renewals changing term, billing and seats, seat
 * changes and cancellations on both sides of every 7-day edge, and the bad input.
 */

let gw: TestGateway;
let partner: Partner;
let mca: AgreementTemplate;
let admin: string;

beforeAll(async () => {
  gw = await startGateway();
  partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  mca = await anAgreement(gw, { type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, versionRank: 1, effectiveFrom: '2024-01-01', country: 'GLOBAL' });
  admin = await platformAdminToken();
});
afterAll(() => gw?.stop());

const TERM_FIELDS = 'id offerId seats status termDuration billingCycle autoRenew termStartedOn renewsOn cancellableUntil seatsReducibleUntil';
const ATTEMPT = `mutation ($input: TransactionInput!) {
  attemptTransaction(input: $input) { order { id kind outcome blockReasons quantity subscription { ${TERM_FIELDS} } } }
}`;
const PREFLIGHT = `query ($input: TransactionInput!) { preflightTransaction(input: $input) { allowed blockReasons warnings } }`;
const SUBSCRIPTIONS = `query CustomerSubscriptions($id: ID!) { customer(id: $id) { id subscriptions { ${TERM_FIELDS} } } }`;

async function confirmedCustomer(): Promise<Customer> {
  const customer = await aCustomer(gw, { partners: [{ partner }] });
  await anAcceptance(gw, { customer, partner, template: mca, dateAgreed: '2024-06-01' });
  return customer;
}

const send = (input: Record<string, unknown>, token = admin) =>
  gw.gql(ATTEMPT, { input: { partnerId: partner.id, quantity: 10, idempotencyKey: randomUUID(), ...input } }, token);
const count = async (table: string) => Number((await gw.orm.em.fork().getConnection().execute<{ n: string }[]>(`select count(*) as n from ${table}`))[0].n);

const BOUGHT = '2026-03-02T10:00:00.000Z';
const plus = (iso: string, hours: number, seconds = 0) => new Date(new Date(iso).getTime() + hours * 3_600_000 + seconds * 1_000).toISOString();

async function purchase(customer: Customer, over: Record<string, unknown> = {}) {
  const res = await send({ customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'm365', requestedAt: BOUGHT, ...over });
  expect(res.errors).toBeUndefined();
  return res.data.attemptTransaction.order;
}

describe('terms and billing', () => {
  it.each([
    ['P1M', 'MONTHLY', '2026-04-02'],
    ['P1Y', 'MONTHLY', '2027-03-02'],
    ['P1Y', 'ANNUAL', '2027-03-02'],
    ['P3Y', 'MONTHLY', '2029-03-02'],
    ['P3Y', 'ANNUAL', '2029-03-02'],
    ['P3Y', 'TRIENNIAL', '2029-03-02'],
  ])('a NEW_PURCHASE of a %s term billed %s renews on the term start plus the term (%s)', async (termDuration, billingCycle, renewsOn) => {
    const customer = await confirmedCustomer();
    const order = await purchase(customer, { termDuration, billingCycle });
    expect(order.outcome).toBe('COMPLETED');
    expect(order.subscription).toMatchObject({
      termDuration,
      billingCycle,
      autoRenew: true,
      status: 'ACTIVE',
      termStartedOn: '2026-03-02',
      renewsOn,
      cancellableUntil: '2026-03-09T10:00:00.000Z',
      seatsReducibleUntil: '2026-03-09T10:00:00.000Z',
    });
    // The customer lists it with the same fields (the contract's CustomerSubscriptions).
    const listed = await gw.gql(SUBSCRIPTIONS, { id: customer.id }, admin);
    expect(listed.data.customer.subscriptions).toEqual([order.subscription]);
  });

  it('a NEW_PURCHASE naming neither term nor billing gets a one-year term billed annually (clients written before new commerce)', async () => {
    const order = await purchase(await confirmedCustomer());
    expect(order.subscription).toMatchObject({ termDuration: 'P1Y', billingCycle: 'ANNUAL', renewsOn: '2027-03-02', autoRenew: true });
  });

  it.each([
    ['P1M', 'ANNUAL'],
    ['P1M', 'TRIENNIAL'],
    ['P1Y', 'TRIENNIAL'],
    [undefined, 'TRIENNIAL'],
  ])('a billing that does not fit the term (%s billed %s) is BAD_USER_INPUT on billingCycle, nothing written', async (termDuration, billingCycle) => {
    const customer = await confirmedCustomer();
    const [orders, subs] = [await count('orders'), await count('subscriptions')];
    const res = await send({ customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'm365', termDuration, billingCycle });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'billingCycle' });
    expect([await count('orders'), await count('subscriptions')]).toEqual([orders, subs]);
  });

  it('an unknown term is refused with BAD_USER_INPUT, nothing written', async () => {
    const customer = await confirmedCustomer();
    const before = await count('orders');
    const res = await send({ customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'm365', termDuration: 'P2Y' });
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(await count('orders')).toBe(before);
  });

  it('term and billing belong to purchases and renewals only: on a SEAT_CHANGE they are BAD_USER_INPUT', async () => {
    const customer = await confirmedCustomer();
    const sub = (await purchase(customer)).subscription;
    const res = await send({ customerId: customer.id, kind: 'SEAT_CHANGE', subscriptionId: sub.id, quantity: 12, termDuration: 'P1M' });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'termDuration' });
  });

  it('a RENEWAL may change term, billing and seats for the next term: renewsOn moves by the new term, the windows restart', async () => {
    const customer = await confirmedCustomer();
    const sub = (await purchase(customer, { termDuration: 'P1Y', billingCycle: 'ANNUAL', quantity: 10 })).subscription;
    const renewedAt = '2027-03-02T00:30:00.000Z';
    const res = await send({ customerId: customer.id, kind: 'RENEWAL', subscriptionId: sub.id, quantity: 4, termDuration: 'P3Y', billingCycle: 'TRIENNIAL', requestedAt: renewedAt });
    expect(res.errors).toBeUndefined();
    expect(res.data.attemptTransaction.order).toMatchObject({ outcome: 'COMPLETED', blockReasons: [] });
    expect(res.data.attemptTransaction.order.subscription).toMatchObject({
      seats: 4,
      termDuration: 'P3Y',
      billingCycle: 'TRIENNIAL',
      termStartedOn: '2027-03-02',
      renewsOn: '2030-03-02',
      cancellableUntil: '2027-03-09T00:30:00.000Z',
    });
    // A renewal naming nothing keeps term and billing.
    const again = await send({ customerId: customer.id, kind: 'RENEWAL', subscriptionId: sub.id, quantity: 4, requestedAt: '2030-03-02T00:30:00.000Z' });
    expect(again.data.attemptTransaction.order.subscription).toMatchObject({ termDuration: 'P3Y', billingCycle: 'TRIENNIAL', renewsOn: '2033-03-02' });
  });

  it('a RENEWAL to a term the current billing does not fit is BAD_USER_INPUT on billingCycle, nothing written', async () => {
    const customer = await confirmedCustomer();
    const sub = (await purchase(customer, { termDuration: 'P3Y', billingCycle: 'TRIENNIAL' })).subscription;
    const before = await count('orders');
    const res = await send({ customerId: customer.id, kind: 'RENEWAL', subscriptionId: sub.id, termDuration: 'P1M', requestedAt: '2029-03-02T00:30:00.000Z' });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'billingCycle' });
    expect(await count('orders')).toBe(before);
  });
});

describe('the 7-day windows at their edges', () => {
  it.each([
    ['167:59:59', 168, -1, 'COMPLETED', []],
    ['168:00:00', 168, 0, 'COMPLETED', []],
    ['168:00:01', 168, 1, 'BLOCKED', ['CANCELLATION_WINDOW_CLOSED']],
  ])('a CANCELLATION at %s after the purchase (%i h %i s on the hour) is %s', async (_edge, hours, seconds, outcome, reasons) => {
    const customer = await confirmedCustomer();
    const sub = (await purchase(customer)).subscription;
    const input = { customerId: customer.id, kind: 'CANCELLATION', subscriptionId: sub.id, quantity: 0, requestedAt: plus(BOUGHT, hours, seconds) };
    const dry = await gw.gql(PREFLIGHT, { input: { partnerId: partner.id, idempotencyKey: 'x', ...input } }, admin);
    expect(dry.data.preflightTransaction).toMatchObject({ allowed: outcome === 'COMPLETED', blockReasons: reasons });
    const res = await send(input);
    expect(res.data.attemptTransaction.order).toMatchObject({ kind: 'CANCELLATION', outcome, blockReasons: reasons, quantity: 0 });
    expect(res.data.attemptTransaction.order.subscription.status).toBe(outcome === 'COMPLETED' ? 'CANCELLED' : 'ACTIVE');
  });

  it('seats added at different times each have their own window; a decrease outside them is BLOCKED', async () => {
    const customer = await confirmedCustomer();
    const sub = (await purchase(customer, { quantity: 10 })).subscription;
    const change = async (quantity: number, at: string) =>
      (await send({ customerId: customer.id, kind: 'SEAT_CHANGE', subscriptionId: sub.id, quantity, requestedAt: at })).data.attemptTransaction.order;
    // Five more, three days later: their window runs to +240 h.
    const added = await change(15, plus(BOUGHT, 72));
    expect(added).toMatchObject({ outcome: 'COMPLETED' });
    expect(added.subscription.seatsReducibleUntil).toBe(plus(BOUGHT, 240));
    // After the first seats' window: only the five added later can go.
    expect(await change(9, plus(BOUGHT, 168, 1))).toMatchObject({ outcome: 'BLOCKED', blockReasons: ['CANCELLATION_WINDOW_CLOSED'] });
    expect(await change(11, plus(BOUGHT, 168, 1))).toMatchObject({ outcome: 'COMPLETED', subscription: { seats: 11 } });
    // The one left of the addition, at its window's last second.
    expect(await change(10, plus(BOUGHT, 240))).toMatchObject({ outcome: 'COMPLETED', subscription: { seats: 10 } });
    expect(await change(9, plus(BOUGHT, 240, 1))).toMatchObject({ outcome: 'BLOCKED', blockReasons: ['CANCELLATION_WINDOW_CLOSED'] });
    // Adding is never windowed.
    expect(await change(12, plus(BOUGHT, 2_000))).toMatchObject({ outcome: 'COMPLETED', subscription: { seats: 12 } });
  });

  it('a renewal opens a new cancellation window from its business time', async () => {
    const customer = await confirmedCustomer();
    const sub = (await purchase(customer, { termDuration: 'P1M', billingCycle: 'MONTHLY' })).subscription;
    const renewedAt = '2026-04-02T00:10:00.000Z';
    await send({ customerId: customer.id, kind: 'RENEWAL', subscriptionId: sub.id, requestedAt: renewedAt });
    const cancel = await send({ customerId: customer.id, kind: 'CANCELLATION', subscriptionId: sub.id, quantity: 0, requestedAt: plus(renewedAt, 100) });
    expect(cancel.data.attemptTransaction.order).toMatchObject({ outcome: 'COMPLETED', subscription: { status: 'CANCELLED' } });
  });

  it('cancelling needs no acceptance: a customer without a confirmation cancels inside the window', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner }] });
    const sub = await aSubscription(gw, { customer, partner });
    const res = await send({ customerId: customer.id, kind: 'CANCELLATION', subscriptionId: sub.id, quantity: 0, requestedAt: undefined }, await aPartnerToken(partner));
    expect(res.data.attemptTransaction.order).toMatchObject({ outcome: 'COMPLETED', blockReasons: [], subscription: { status: 'CANCELLED' } });
  });
});

describe('bad input', () => {
  it('a CANCELLATION names quantity 0: anything else is BAD_USER_INPUT on quantity', async () => {
    const customer = await confirmedCustomer();
    const sub = (await purchase(customer)).subscription;
    const res = await send({ customerId: customer.id, kind: 'CANCELLATION', subscriptionId: sub.id, quantity: 3 });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'quantity' });
  });

  it('cancelling a cancelled subscription is BAD_USER_INPUT on subscriptionId, nothing written', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner }] });
    const sub = await aSubscription(gw, { customer, partner, status: SubscriptionStatus.CANCELLED });
    const before = await count('orders');
    const res = await send({ customerId: customer.id, kind: 'CANCELLATION', subscriptionId: sub.id, quantity: 0 });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'subscriptionId' });
    expect(await count('orders')).toBe(before);
  });

  it('windows asked for at another business time by anyone but a platform admin are FORBIDDEN, nothing written', async () => {
    const customer = await confirmedCustomer();
    const sub = (await purchase(customer)).subscription;
    const before = await count('orders');
    const future = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const res = await send({ customerId: customer.id, kind: 'CANCELLATION', subscriptionId: sub.id, quantity: 0, requestedAt: future }, await aPartnerToken(partner));
    expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const dry = await gw.gql(PREFLIGHT, { input: { customerId: customer.id, kind: 'CANCELLATION', subscriptionId: sub.id, quantity: 0, requestedAt: future, idempotencyKey: 'k' } }, await aPartnerToken(partner));
    expect(dry.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(await count('orders')).toBe(before);
  });

  it('an ENDING subscription is not renewed: RENEWAL and AUTO_RENEWAL are BAD_USER_INPUT until auto-renew is on again', async () => {
    const customer = await confirmedCustomer();
    const sub = await aSubscription(gw, { customer, partner, autoRenew: false, status: SubscriptionStatus.ENDING });
    for (const kind of ['RENEWAL', 'AUTO_RENEWAL']) {
      const res = await send({ customerId: customer.id, kind, subscriptionId: sub.id });
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'subscriptionId' });
    }
  });

  it('the same idempotency key with a different term is a CONFLICT; the same request answers the first order', async () => {
    const customer = await confirmedCustomer();
    const key = randomUUID();
    const first = await send({ customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'm365', termDuration: 'P1M', billingCycle: 'MONTHLY', idempotencyKey: key });
    const again = await send({ customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'm365', termDuration: 'P1M', billingCycle: 'MONTHLY', idempotencyKey: key });
    expect(again.data.attemptTransaction.order.id).toBe(first.data.attemptTransaction.order.id);
    const other = await send({ customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'm365', termDuration: 'P3Y', billingCycle: 'MONTHLY', idempotencyKey: key });
    expect(other.errors?.[0].extensions?.code).toBe('CONFLICT');
  });
});
