import { aCustomer, anAcceptance, anAgreement, anOrder, aPartner, aSubscription } from '../factories';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType } from '../../src/auth/roles';
import { OrderOutcome } from '../../src/transactions/transaction.enums';
import { AcceptanceStatus } from '../../src/acceptance/acceptance.enums';
import { dayFromToday, RENEWAL_RISKS, Replay } from './ops';

/** DESIGN.md section 9: a subscription has a one-year term (`renewsOn`), extended by renewals. */

let gw: TestGateway;
let replay: Replay;
beforeAll(async () => {
  gw = await startGateway();
  replay = new Replay(gw);
});
afterAll(() => gw?.stop());

const renewsOn = async (id: string) =>
  (await gw.orm.em.fork().getConnection().execute<{ d: string }[]>("select to_char(renews_on, 'YYYY-MM-DD') as d from subscriptions where id = ?", [id]))[0].d;

describe('the term', () => {
  it('a completed NEW_PURCHASE starts a one-year term from its business time; RENEWAL and AUTO_RENEWAL extend it by a year; SEAT_CHANGE and blocked renewals do not', async () => {
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const customer = await aCustomer(gw, { partners: [{ partner }] });
    const v1 = await anAgreement(gw, { country: 'GLOBAL', versionRank: 1, effectiveFrom: '2018-01-01' });
    await replay.confirm(customer, partner, v1);
    const sub = await replay.subscriptionRenewingOn(customer, partner, '2026-03-10');
    expect(await renewsOn(sub)).toBe('2026-03-10');
    const step = async (kind: string) => (await replay.attempt({ customerId: customer.id, partnerId: partner.id, kind, subscriptionId: sub, quantity: 7 })).outcome;
    expect(await step('RENEWAL')).toBe('COMPLETED');
    expect(await renewsOn(sub)).toBe('2027-03-10');
    expect(await step('AUTO_RENEWAL')).toBe('COMPLETED');
    expect(await renewsOn(sub)).toBe('2028-03-10');
    expect(await step('SEAT_CHANGE')).toBe('COMPLETED');
    expect(await renewsOn(sub)).toBe('2028-03-10');
    await replay.withdraw(customer, partner);
    // The withdrawal turned its auto-renew off (its window long closed): a renewal is refused before the gate, and nothing moves.
    const res = await gw.gql(
      `mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { outcome } } }`,
      { input: { customerId: customer.id, partnerId: partner.id, kind: 'RENEWAL', subscriptionId: sub, quantity: 1, idempotencyKey: 'after-withdrawal' } },
      await platformAdminToken(),
    );
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'subscriptionId' });
    expect(await renewsOn(sub)).toBe('2028-03-10');
  });

  it('a BLOCKED renewal leaves the term where it was', async () => {
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const customer = await aCustomer(gw, { partners: [{ partner }] });
    const sub = await replay.grandfatheredSubscription(customer, partner, dayFromToday(100));
    const before = await renewsOn(sub);
    expect((await replay.attempt({ customerId: customer.id, partnerId: partner.id, kind: 'RENEWAL', subscriptionId: sub })).outcome).toBe('BLOCKED');
    expect(await renewsOn(sub)).toBe(before);
  });
});

describe('constant SQL statements', () => {
  it('renewalRisks costs the same number of statements for a page of 5 and a page of 50', async () => {
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const old = await anAgreement(gw, { country: 'NL', versionRank: 1, effectiveFrom: '2018-01-01' });
    await anAgreement(gw, { country: 'NL', versionRank: 2, effectiveFrom: '2020-01-01' });
    for (let i = 0; i < 60; i++) {
      const customer = await aCustomer(gw, { country: i % 2 ? 'NL' : 'FR', partners: [{ partner }] });
      // NL customers confirmed the old version (outdated); FR customers never confirmed.
      if (i % 2) await anAcceptance(gw, { customer, partner, template: old, status: AcceptanceStatus.ACTIVE });
      await anOrder(gw, { customer, partner, outcome: OrderOutcome.COMPLETED });
      await aSubscription(gw, { customer, partner, renewsOn: dayFromToday(1 + (i % 50)) });
    }
    const token = await platformAdminToken();
    const page = async (first: number) => {
      let data: any;
      const statements = await gw.countStatements(async () => {
        const res = await gw.gql(RENEWAL_RISKS, { partnerId: partner.id, first }, token);
        expect(res.errors).toBeUndefined();
        data = res.data.renewalRisks;
      });
      return { statements, edges: data.edges.length, total: data.totalCount };
    };
    await page(1); // the token's user record is created on first sight, outside what is measured
    const five = await page(5);
    const fifty = await page(50);
    expect(five).toMatchObject({ edges: 5, total: 60 });
    expect(fifty).toMatchObject({ edges: 50, total: 60 });
    expect(fifty.statements).toBe(five.statements);
  });
});
