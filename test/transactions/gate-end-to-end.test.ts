import { randomUUID } from 'node:crypto';
import { aCustomer, aLink, anAcceptance, anAgreement, anOrder, aPartner, aPartnerToken, aSubscription } from '../factories';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';
import { CloudInstance } from '../../src/customers/customer.enums';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { ATTEMPT, CONFIRM, PREFLIGHT, contact, yesterday } from '../acceptance/ops';

/** DESIGN.md section 5 through the API: every row of the table against a real database. */

let gw: TestGateway;
let direct: Partner;
let other: Partner;
let provider: Partner;
let reseller: Partner;
let v1: AgreementTemplate;
let v2: AgreementTemplate;

beforeAll(async () => {
  gw = await startGateway();
  direct = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  other = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  // Country-specific templates: v2 (current) supersedes v1 for JP customers only.
  v1 = await anAgreement(gw, { country: 'JP', versionRank: 1, version: '2019', effectiveFrom: '2018-01-01' });
  v2 = await anAgreement(gw, { country: 'JP', versionRank: 2, version: '2024', effectiveFrom: '2024-01-01' });
});
afterAll(() => gw?.stop());

const attempt = async (token: string, input: Record<string, unknown>) => {
  const res = await gw.gql(ATTEMPT, { input: { quantity: 1, idempotencyKey: randomUUID(), ...input } }, token);
  expect(res.errors).toBeUndefined();
  return res.data.attemptTransaction;
};
const purchase = (customer: Customer, over: Record<string, unknown> = {}) => ({ customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'office-e3', ...over });
const jp = (partners: Partner[], over: { cloud?: CloudInstance } = {}) => aCustomer(gw, { country: 'JP', partners: partners.map((partner) => ({ partner, resellers: partner === provider ? [reseller] : [] })), ...over });

describe('the gate, end to end', () => {
  it('no active confirmation by the billing partner: BLOCKED ACCEPTANCE_NOT_CONFIRMED, with its alert written in the same transaction', async () => {
    const customer = await jp([direct]);
    const { order, alert } = await attempt(await aPartnerToken(direct), purchase(customer));
    expect(order).toMatchObject({ outcome: 'BLOCKED', blockReasons: ['ACCEPTANCE_NOT_CONFIRMED'], warnings: [], subscription: null });
    expect(alert).toEqual({ id: expect.any(String), cursor: expect.any(String) });
    const rows = await gw.orm.em.getConnection().execute('select id, order_id, reasons from blocked_order_alerts where order_id = ?', [order.id]);
    expect(rows).toEqual([{ id: alert.id, order_id: order.id, reasons: ['ACCEPTANCE_NOT_CONFIRMED'] }]);
  });

  it('a current confirmation lets a NEW_PURCHASE complete; it creates a subscription renewing a year later', async () => {
    const customer = await jp([direct]);
    await anAcceptance(gw, { customer, partner: direct, template: v2 });
    const { order, alert } = await attempt(await platformAdminToken(), purchase(customer, { partnerId: direct.id, quantity: 25, requestedAt: '2019-06-10T09:00:00Z' }));
    expect(order).toMatchObject({ outcome: 'COMPLETED', blockReasons: [], warnings: [], quantity: 25, offerId: 'office-e3', subscription: { seats: 25, status: 'ACTIVE' } });
    expect(alert).toBeNull();
    const rows = await gw.orm.em.getConnection().execute<{ renews_on: string }[]>("select to_char(renews_on, 'YYYY-MM-DD') as renews_on from subscriptions where id = ?", [order.subscription.id]);
    expect(rows[0].renews_on).toBe('2020-06-10');
  });

  it("each partner confirms for itself: partner B's acceptance never lets partner A's order through", async () => {
    const customer = await jp([direct, other]);
    await anAcceptance(gw, { customer, partner: other, template: v2 });
    const a = await attempt(await aPartnerToken(direct), purchase(customer));
    expect(a.order).toMatchObject({ outcome: 'BLOCKED', blockReasons: ['ACCEPTANCE_NOT_CONFIRMED'] });
    const b = await attempt(await aPartnerToken(other), purchase(customer));
    expect(b.order.outcome).toBe('COMPLETED');
  });

  it('a new customer whose confirmed template is outdated is BLOCKED AGREEMENT_VERSION_OUTDATED', async () => {
    const customer = await jp([direct]);
    await anAcceptance(gw, { customer, partner: direct, template: v1 });
    const { order } = await attempt(await aPartnerToken(direct), purchase(customer));
    expect(order).toMatchObject({ outcome: 'BLOCKED', blockReasons: ['AGREEMENT_VERSION_OUTDATED'] });
  });

  describe('an existing customer when the agreement was updated after its confirmation', () => {
    let customer: Customer;
    let subscriptionId: string;
    beforeAll(async () => {
      customer = await jp([direct]);
      await anAcceptance(gw, { customer, partner: direct, template: v1 });
      await anOrder(gw, { customer, partner: direct });
      subscriptionId = (await aSubscription(gw, { customer, partner: direct, seats: 10, renewsOn: '2027-05-01' })).id;
    });

    it('RENEWAL is BLOCKED AGREEMENT_VERSION_OUTDATED, and preflight names the required agreement', async () => {
      const input = { customerId: customer.id, kind: 'RENEWAL', subscriptionId };
      const { order } = await attempt(await aPartnerToken(direct), input);
      expect(order).toMatchObject({ outcome: 'BLOCKED', blockReasons: ['AGREEMENT_VERSION_OUTDATED'], subscription: { id: subscriptionId } });
      const pre = await gw.gql(PREFLIGHT, { input: { ...input, quantity: 1, idempotencyKey: 'x' } }, await aPartnerToken(direct, Role.VIEWER));
      expect(pre.data.preflightTransaction).toEqual({
        allowed: false,
        blockReasons: ['AGREEMENT_VERSION_OUTDATED'],
        warnings: [],
        requiredAgreement: { templateId: v2.templateId, version: '2024' },
      });
    });

    it('NEW_PURCHASE and SEAT_CHANGE complete with warning AGREEMENT_UPDATE_AVAILABLE', async () => {
      const token = await aPartnerToken(direct);
      const buy = await attempt(token, purchase(customer));
      expect(buy.order).toMatchObject({ outcome: 'COMPLETED', warnings: ['AGREEMENT_UPDATE_AVAILABLE'] });
      const seats = await attempt(token, { customerId: customer.id, kind: 'SEAT_CHANGE', subscriptionId, quantity: 42 });
      expect(seats.order).toMatchObject({ outcome: 'COMPLETED', warnings: ['AGREEMENT_UPDATE_AVAILABLE'], subscription: { id: subscriptionId, seats: 42 } });
    });

    it('AUTO_RENEWAL is never blocked by acceptance: it completes with the would-be reason as a warning and extends the term', async () => {
      const { order, alert } = await attempt(await aPartnerToken(direct), { customerId: customer.id, kind: 'AUTO_RENEWAL', subscriptionId });
      expect(order).toMatchObject({ outcome: 'COMPLETED', blockReasons: [], warnings: ['AGREEMENT_VERSION_OUTDATED'] });
      expect(alert).toBeNull();
      const rows = await gw.orm.em.getConnection().execute<{ renews_on: string }[]>("select to_char(renews_on, 'YYYY-MM-DD') as renews_on from subscriptions where id = ?", [subscriptionId]);
      expect(rows[0].renews_on).toBe('2028-05-01');
    });
  });

  it('AUTO_RENEWAL without any confirmation completes with warning ACCEPTANCE_NOT_CONFIRMED', async () => {
    const customer = await jp([direct]);
    const sub = await aSubscription(gw, { customer, partner: direct });
    const { order } = await attempt(await aPartnerToken(direct), { customerId: customer.id, kind: 'AUTO_RENEWAL', subscriptionId: sub.id });
    expect(order).toMatchObject({ outcome: 'COMPLETED', warnings: ['ACCEPTANCE_NOT_CONFIRMED'] });
  });

  it("a RENEWAL under a current confirmation completes and extends the subscription's term by a year", async () => {
    const customer = await jp([direct]);
    await anAcceptance(gw, { customer, partner: direct, template: v2 });
    const sub = await aSubscription(gw, { customer, partner: direct, renewsOn: '2026-03-31' });
    const { order } = await attempt(await aPartnerToken(direct), { customerId: customer.id, kind: 'RENEWAL', subscriptionId: sub.id });
    expect(order.outcome).toBe('COMPLETED');
    const rows = await gw.orm.em.getConnection().execute<{ renews_on: string }[]>("select to_char(renews_on, 'YYYY-MM-DD') as renews_on from subscriptions where id = ?", [sub.id]);
    expect(rows[0].renews_on).toBe('2027-03-31');
  });

  it('customer on a national cloud: not gated, warning ACCEPTANCE_NOT_APPLICABLE', async () => {
    const customer = await jp([direct], { cloud: CloudInstance.US_GOVERNMENT });
    const { order } = await attempt(await aPartnerToken(direct), purchase(customer));
    expect(order).toMatchObject({ outcome: 'COMPLETED', blockReasons: [], warnings: ['ACCEPTANCE_NOT_APPLICABLE'] });
  });

  describe('resellers', () => {
    it("a linked reseller serving the customer orders through its provider, gated on the provider's confirmation", async () => {
      const customer = await jp([provider]);
      const token = await aPartnerToken(reseller);
      const before = await attempt(token, purchase(customer, { partnerId: provider.id }));
      expect(before.order).toMatchObject({ outcome: 'BLOCKED', blockReasons: ['ACCEPTANCE_NOT_CONFIRMED'], partner: { id: provider.id }, reseller: { id: reseller.id } });
      await gw.gql(CONFIRM, { input: { customerId: customer.id, templateId: v2.templateId, dateAgreed: yesterday(), contact } }, await aPartnerToken(provider));
      const after = await attempt(token, purchase(customer, { partnerId: provider.id }));
      expect(after.order).toMatchObject({ outcome: 'COMPLETED', reseller: { id: reseller.id } });
    });

    it('a reseller not linked to the provider is BLOCKED RESELLER_NOT_AUTHORIZED, after the acceptance reasons', async () => {
      const unlinkedProvider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
      const customer = await jp([provider, unlinkedProvider]);
      const { order, alert } = await attempt(await aPartnerToken(reseller), purchase(customer, { partnerId: unlinkedProvider.id }));
      expect(order).toMatchObject({ outcome: 'BLOCKED', blockReasons: ['ACCEPTANCE_NOT_CONFIRMED', 'RESELLER_NOT_AUTHORIZED'] });
      expect(alert).not.toBeNull();
    });

    it('a reseller not serving the customer is BLOCKED RESELLER_NOT_AUTHORIZED', async () => {
      // The provider bills this customer, but its relationship names no reseller.
      const customer = await aCustomer(gw, { country: 'JP', partners: [{ partner: provider }] });
      await anAcceptance(gw, { customer, partner: provider, template: v2 });
      const { order } = await attempt(await platformAdminToken(), purchase(customer, { partnerId: provider.id, resellerId: reseller.id }));
      expect(order).toMatchObject({ outcome: 'BLOCKED', blockReasons: ['RESELLER_NOT_AUTHORIZED'] });
    });

    it('a reseller names its provider as partnerId (BAD_USER_INPUT otherwise) and orders only as itself (FORBIDDEN otherwise)', async () => {
      const customer = await jp([provider]);
      const token = await aPartnerToken(reseller);
      const noProvider = await gw.gql(ATTEMPT, { input: { ...purchase(customer), quantity: 1, idempotencyKey: 'r1' } }, token);
      expect(noProvider.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'partnerId' });
      const asOther = await gw.gql(ATTEMPT, { input: { ...purchase(customer, { partnerId: provider.id, resellerId: randomUUID() }), quantity: 1, idempotencyKey: 'r2' } }, token);
      expect(asOther.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    });
  });

  describe('before the channel enforcement date (replayed by a platform admin)', () => {
    it.each([
      ['DASHBOARD', '2018-11-06T12:00:00Z', 'COMPLETED', [], ['ACCEPTANCE_NOT_CONFIRMED', 'BEFORE_ENFORCEMENT']],
      ['DASHBOARD', '2018-11-07T00:00:00Z', 'BLOCKED', ['ACCEPTANCE_NOT_CONFIRMED'], []],
      ['API', '2019-03-21T23:59:59Z', 'COMPLETED', [], ['ACCEPTANCE_NOT_CONFIRMED', 'BEFORE_ENFORCEMENT']],
      ['API', '2019-03-22T00:00:00Z', 'BLOCKED', ['ACCEPTANCE_NOT_CONFIRMED'], []],
    ])('%s at %s: %s', async (channel, requestedAt, outcome, blockReasons, warnings) => {
      const customer = await jp([direct]);
      const { order } = await attempt(await platformAdminToken(), purchase(customer, { partnerId: direct.id, channel, requestedAt }));
      expect(order).toMatchObject({ outcome, blockReasons, warnings, channel, requestedAt: new Date(requestedAt).toISOString() });
    });
  });
});

describe('preflight', () => {
  it('preflight answers with the same gate as attempt and writes nothing', async () => {
    const customer = await jp([direct]);
    await anAcceptance(gw, { customer, partner: direct, template: v1 });
    const input = { ...purchase(customer), quantity: 1, idempotencyKey: 'pre' };
    const count = async () => Number((await gw.orm.em.getConnection().execute<{ n: string }[]>('select (select count(*) from orders) + (select count(*) from blocked_order_alerts) + (select count(*) from subscriptions) as n'))[0].n);
    const before = await count();
    const pre = await gw.gql(PREFLIGHT, { input }, await aPartnerToken(direct));
    expect(pre.data.preflightTransaction).toEqual({ allowed: false, blockReasons: ['AGREEMENT_VERSION_OUTDATED'], warnings: [], requiredAgreement: { templateId: v2.templateId, version: '2024' } });
    expect(await count()).toBe(before);
    const real = await gw.gql(ATTEMPT, { input }, await aPartnerToken(direct));
    expect(real.data.attemptTransaction.order).toMatchObject({ outcome: 'BLOCKED', blockReasons: pre.data.preflightTransaction.blockReasons, warnings: pre.data.preflightTransaction.warnings });
  });

  it('a national-cloud preflight is allowed with no required agreement', async () => {
    const customer = await jp([direct], { cloud: CloudInstance.CHINA });
    const pre = await gw.gql(PREFLIGHT, { input: { ...purchase(customer), quantity: 1, idempotencyKey: 'pre' } }, await aPartnerToken(direct));
    expect(pre.data.preflightTransaction).toEqual({ allowed: true, blockReasons: [], warnings: ['ACCEPTANCE_NOT_APPLICABLE'], requiredAgreement: null });
  });
});
