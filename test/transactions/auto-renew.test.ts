import { aCustomer, aLink, anAcceptance, anAgreement, aPartner, aPartnerToken, aSubscription } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import { AgreementType } from '../../src/agreements/agreement.enums';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { SubscriptionStatus, TermDuration } from '../../src/transactions/transaction.enums';
import { expireEndingSubscriptions } from '../../src/transactions/subscription.service';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * DESIGN.md sections 4 and 12: auto-renew off makes a subscription ENDING, then EXPIRED
 * at renewsOn; only the billing partner (ADMIN or AGENT) or a platform admin changes it;
 * a withdrawal cancels what is still inside its window and turns auto-renew off on the
 * rest, in one transaction, each change in the audit trail.
 */

let gw: TestGateway;
let provider: Partner;
let reseller: Partner;
let other: Partner;
let mca: AgreementTemplate;

beforeAll(async () => {
  gw = await startGateway();
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  other = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  await aLink(gw, reseller, provider);
  mca = await anAgreement(gw, { type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, versionRank: 1, effectiveFrom: '2024-01-01', country: 'GLOBAL' });
});
afterAll(() => gw?.stop());

const FIELDS = 'id offerId seats status termDuration billingCycle autoRenew termStartedOn renewsOn cancellableUntil seatsReducibleUntil';
const SET = `mutation SetAutoRenew($subscriptionId: ID!, $autoRenew: Boolean!) {
  setAutoRenew(subscriptionId: $subscriptionId, autoRenew: $autoRenew) { subscription { ${FIELDS} } }
}`;
const WITHDRAW = `mutation WithdrawAcceptanceUnderCommerce($input: WithdrawCustomerAcceptanceInput!) {
  withdrawCustomerAcceptance(input: $input) {
    acceptance { id status }
    cancelledSubscriptions { id status }
    endingSubscriptions { ${FIELDS} }
  }
}`;
const TRAIL = `query ($id: ID!, $partnerId: ID) { customer(id: $id) { auditTrail(partnerId: $partnerId) { event note actor { id } } } }`;
const ENDING = `query ($partnerId: ID, $withinDays: Int) { endingSubscriptions(partnerId: $partnerId, withinDays: $withinDays) { id status renewsOn } }`;

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
const db = () => gw.orm.em.fork().getConnection();
const statusOf = async (id: string) => (await db().execute<{ status: string; auto_renew: boolean }[]>('select status, auto_renew from subscriptions where id = ?', [id]))[0];
const events = async () => Number((await db().execute<{ n: string }[]>('select count(*) as n from subscription_events'))[0].n);

async function customerWith(resellers: Partner[] = []): Promise<Customer> {
  const customer = await aCustomer(gw, { partners: [{ partner: provider, resellers }] });
  await anAcceptance(gw, { customer, partner: provider, template: mca, dateAgreed: '2024-06-01' });
  return customer;
}

describe('setAutoRenew', () => {
  it('auto-renew off makes the subscription ENDING; on again makes it ACTIVE; each change is in the audit trail', async () => {
    const customer = await customerWith();
    const sub = await aSubscription(gw, { customer, partner: provider, renewsOn: day(30) });
    const token = await aPartnerToken(provider, Role.AGENT);
    const off = await gw.gql(SET, { subscriptionId: sub.id, autoRenew: false }, token);
    expect(off.data.setAutoRenew.subscription).toMatchObject({ id: sub.id, autoRenew: false, status: 'ENDING', renewsOn: day(30) });
    // Setting it as it is changes nothing and records nothing.
    const before = await events();
    await gw.gql(SET, { subscriptionId: sub.id, autoRenew: false }, token);
    expect(await events()).toBe(before);
    const on = await gw.gql(SET, { subscriptionId: sub.id, autoRenew: true }, await aPartnerToken(provider, Role.ADMIN));
    expect(on.data.setAutoRenew.subscription).toMatchObject({ autoRenew: true, status: 'ACTIVE' });
    const trail = (await gw.gql(TRAIL, { id: customer.id, partnerId: provider.id }, token)).data.customer.auditTrail;
    expect(trail.filter((e: { event: string }) => e.event.startsWith('AUTO_RENEW')).map((e: { event: string }) => e.event)).toEqual(['AUTO_RENEW_OFF', 'AUTO_RENEW_ON']);
  });

  it('an ENDING subscription is EXPIRED at renewsOn by the expiry job, and a second run changes nothing', async () => {
    const customer = await customerWith();
    const sub = await aSubscription(gw, { customer, partner: provider, renewsOn: day(3), termDuration: TermDuration.P1M });
    await gw.gql(SET, { subscriptionId: sub.id, autoRenew: false }, await platformAdminToken());
    expect(await statusOf(sub.id)).toMatchObject({ status: 'ENDING' });
    await expireEndingSubscriptions(gw.orm.em.fork() as EntityManager, new Date(`${day(2)}T23:59:59Z`));
    expect(await statusOf(sub.id)).toMatchObject({ status: 'ENDING' });
    await expireEndingSubscriptions(gw.orm.em.fork() as EntityManager, new Date(`${day(3)}T00:00:00Z`));
    expect(await statusOf(sub.id)).toMatchObject({ status: 'EXPIRED', auto_renew: false });
    expect(await expireEndingSubscriptions(gw.orm.em.fork() as EntityManager, new Date(`${day(3)}T00:00:00Z`))).toBe(0);
  });

  it('auto-renew off on a term that has already ended (replayed history) expires it at once', async () => {
    const customer = await customerWith();
    const sub = await aSubscription(gw, { customer, partner: provider, renewsOn: '2020-02-01' });
    const res = await gw.gql(SET, { subscriptionId: sub.id, autoRenew: false }, await platformAdminToken());
    expect(res.data.setAutoRenew.subscription).toMatchObject({ status: 'EXPIRED', autoRenew: false });
  });

  it.each([SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED])('auto-renew on a %s subscription is BAD_USER_INPUT, nothing written', async (status) => {
    const customer = await customerWith();
    const sub = await aSubscription(gw, { customer, partner: provider, status, autoRenew: false });
    const before = await events();
    for (const autoRenew of [true, false]) {
      const res = await gw.gql(SET, { subscriptionId: sub.id, autoRenew }, await aPartnerToken(provider));
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'subscriptionId' });
    }
    expect(await statusOf(sub.id)).toMatchObject({ status });
    expect(await events()).toBe(before);
  });

  it('only the billing partner changes it: its reseller is FORBIDDEN, another tenant NOT_FOUND, viewers and analysts FORBIDDEN', async () => {
    const customer = await customerWith([reseller]);
    const sub = await aSubscription(gw, { customer, partner: provider, reseller });
    const code = async (token: string, id = sub.id) => (await gw.gql(SET, { subscriptionId: id, autoRenew: false }, token)).errors?.[0].extensions?.code;
    expect(await code(await aPartnerToken(reseller, Role.ADMIN))).toBe('FORBIDDEN');
    expect(await code(await aPartnerToken(other, Role.ADMIN))).toBe('NOT_FOUND');
    expect(await code(await aPartnerToken(provider, Role.VIEWER))).toBe('FORBIDDEN');
    expect(await code(await analystToken())).toBe('FORBIDDEN');
    expect(await code(await aPartnerToken(provider), 'not-a-uuid')).toBe('NOT_FOUND');
    expect(await statusOf(sub.id)).toMatchObject({ status: 'ACTIVE', auto_renew: true });
  });

  it('ending subscriptions are listed beside renewal risks (endingSubscriptions), never as risks', async () => {
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const customer = await aCustomer(gw, { partners: [{ partner }] });
    const ending = await aSubscription(gw, { customer, partner, renewsOn: day(40), autoRenew: false, status: SubscriptionStatus.ENDING });
    const later = await aSubscription(gw, { customer, partner, renewsOn: day(900), autoRenew: false, status: SubscriptionStatus.ENDING });
    await aSubscription(gw, { customer, partner, renewsOn: day(40) }); // no confirmation: a risk
    const token = await aPartnerToken(partner);
    expect((await gw.gql(ENDING, { withinDays: 60 }, token)).data.endingSubscriptions).toEqual([{ id: ending.id, status: 'ENDING', renewsOn: day(40) }]);
    expect((await gw.gql(ENDING, { withinDays: 1_096 }, token)).data.endingSubscriptions.map((s: { id: string }) => s.id)).toEqual([ending.id, later.id]);
    const risks = await gw.gql(`query { renewalRisks(withinDays: 1096) { edges { node { subscription { id } } } } }`, {}, token);
    const ids = risks.data.renewalRisks.edges.map((e: { node: { subscription: { id: string } } }) => e.node.subscription.id);
    expect(ids).toHaveLength(1);
    expect(ids).not.toContain(ending.id);
    expect((await gw.gql(ENDING, { partnerId: partner.id }, await aPartnerToken(other))).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});

describe('withdrawal under the windows', () => {
  it('cancels the subscriptions still inside their window and turns auto-renew off on the others, each change in the audit trail', async () => {
    const customer = await customerWith();
    const fresh = await aSubscription(gw, { customer, partner: provider, termStartedAt: new Date(Date.now() - 2 * 86_400_000) });
    const old = await aSubscription(gw, { customer, partner: provider, termStartedAt: new Date(Date.now() - 30 * 86_400_000), renewsOn: day(335) });
    const older = await aSubscription(gw, { customer, partner: provider, termStartedAt: new Date(Date.now() - 200 * 86_400_000), renewsOn: day(900), termDuration: TermDuration.P3Y });
    const gone = await aSubscription(gw, { customer, partner: provider, status: SubscriptionStatus.CANCELLED });
    const token = await aPartnerToken(provider);
    const res = await gw.gql(WITHDRAW, { input: { customerId: customer.id, reason: 'The customer no longer agrees' } }, token);
    expect(res.errors).toBeUndefined();
    const out = res.data.withdrawCustomerAcceptance;
    expect(out.acceptance.status).toBe('WITHDRAWN');
    expect(out.cancelledSubscriptions).toEqual([{ id: fresh.id, status: 'CANCELLED' }]);
    expect(out.endingSubscriptions.map((s: { id: string }) => s.id).sort()).toEqual([old.id, older.id].sort());
    for (const s of out.endingSubscriptions) expect(s).toMatchObject({ status: 'ENDING', autoRenew: false });
    expect(await statusOf(gone.id)).toMatchObject({ status: 'CANCELLED' });
    const trail = (await gw.gql(TRAIL, { id: customer.id, partnerId: provider.id }, token)).data.customer.auditTrail as { event: string; note: string }[];
    expect(trail.filter((e) => e.event === 'SUBSCRIPTION_CANCELLED').map((e) => e.note)).toEqual([expect.stringContaining(fresh.id)]);
    expect(trail.filter((e) => e.event === 'AUTO_RENEW_OFF')).toHaveLength(2);
    expect(trail.map((e) => e.event).indexOf('WITHDRAWN')).toBeLessThan(trail.map((e) => e.event).indexOf('SUBSCRIPTION_CANCELLED'));
  });

  it('a withdrawal that fails changes no subscription (same transaction)', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: provider }] });
    const sub = await aSubscription(gw, { customer, partner: provider });
    const res = await gw.gql(WITHDRAW, { input: { customerId: customer.id, reason: 'no acceptance to withdraw' } }, await aPartnerToken(provider));
    expect(res.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(await statusOf(sub.id)).toMatchObject({ status: 'ACTIVE', auto_renew: true });
  });
});
