import { randomUUID } from 'node:crypto';
import { aCustomer, anAgreement, aPartner, aPartnerToken } from '../factories';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';
import { TermDuration } from '../../src/transactions/transaction.enums';
import { termEnd } from '../../src/transactions/windows';
import { dayFromToday, PREFLIGHT_RENEWAL, RENEWAL_RISKS, Replay } from './ops';

/**
 * Renewal risks follow the terms (DESIGN.md sections 9 and 12): the window reaches the
 * longest term (1,096 days); the list and the scan use each subscription's own renewsOn;
 * ending subscriptions are not risks; the list and preflight agree row by row.
 */

let gw: TestGateway;
let replay: Replay;
let partner: Partner;
let customer: Customer;
const subs: { id: string; term: TermDuration; renewsOn: string; ending?: boolean }[] = [];

const ATTEMPT = `mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { outcome subscription { id renewsOn } } } }`;
const SET = `mutation ($id: ID!) { setAutoRenew(subscriptionId: $id, autoRenew: false) { subscription { status } } }`;

beforeAll(async () => {
  gw = await startGateway();
  replay = new Replay(gw);
  partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  customer = await aCustomer(gw, { partners: [{ partner }] });
  const v1 = await anAgreement(gw, { country: 'GLOBAL', versionRank: 1, version: '2018', effectiveFrom: '2018-01-01' });
  await replay.confirm(customer, partner, v1);
  const admin = await platformAdminToken();
  const buy = async (term: TermDuration, billingCycle: string, daysAgo: number, ending = false) => {
    const bought = new Date(Date.now() - daysAgo * 86_400_000);
    bought.setUTCHours(12, 0, 0, 0);
    const res = await gw.gql(
      ATTEMPT,
      { input: { customerId: customer.id, partnerId: partner.id, kind: 'NEW_PURCHASE', offerId: `o-${term}`, quantity: 3, termDuration: term, billingCycle, requestedAt: bought.toISOString(), idempotencyKey: randomUUID() } },
      admin,
    );
    expect(res.data.attemptTransaction.order.outcome).toBe('COMPLETED');
    const sub = res.data.attemptTransaction.order.subscription;
    expect(sub.renewsOn).toBe(termEnd(bought, term));
    if (ending) expect((await gw.gql(SET, { id: sub.id }, admin)).data.setAutoRenew.subscription.status).toBe('ENDING');
    subs.push({ id: sub.id, term, renewsOn: sub.renewsOn, ending });
  };
  await buy(TermDuration.P1M, 'MONTHLY', 10);
  await buy(TermDuration.P1Y, 'ANNUAL', 200);
  await buy(TermDuration.P3Y, 'TRIENNIAL', 100);
  await buy(TermDuration.P3Y, 'MONTHLY', 90, true);
  // The agreement is updated: every renewal from now on is blocked (AGREEMENT_VERSION_OUTDATED).
  await anAgreement(gw, { country: 'GLOBAL', versionRank: 2, version: '2026', effectiveFrom: dayFromToday(-1) });
});
afterAll(() => gw?.stop());

const risks = async (withinDays: number) => {
  const res = await gw.gql(RENEWAL_RISKS, { partnerId: partner.id, withinDays, first: 50 }, await aPartnerToken(partner));
  expect(res.errors).toBeUndefined();
  return res.data.renewalRisks;
};

describe('renewal risks under new commerce', () => {
  it('the window reaches 1,096 days: a three-year term renewing in about 995 days is listed, with its own renewsOn', async () => {
    const page = await risks(1_096);
    const active = subs.filter((s) => !s.ending).sort((a, b) => a.renewsOn.localeCompare(b.renewsOn));
    expect(page.edges.map((e: any) => ({ id: e.node.subscription.id, renewsOn: e.node.renewsOn }))).toEqual(active.map((s) => ({ id: s.id, renewsOn: s.renewsOn })));
    expect(page.totalCount).toBe(3);
    // A year's window leaves the three-year term out.
    expect((await risks(366)).edges.map((e: any) => e.node.subscription.id)).toEqual(active.filter((s) => s.term !== TermDuration.P3Y).map((s) => s.id));
  });

  it('a subscription with auto-renew off is not a renewal risk but is listed as ending', async () => {
    const ending = subs.find((s) => s.ending)!;
    expect((await risks(1_096)).edges.map((e: any) => e.node.subscription.id)).not.toContain(ending.id);
    const res = await gw.gql('query ($p: ID, $d: Int) { endingSubscriptions(partnerId: $p, withinDays: $d) { id renewsOn } }', { p: partner.id, d: 1_096 }, await aPartnerToken(partner));
    expect(res.data.endingSubscriptions).toEqual([{ id: ending.id, renewsOn: ending.renewsOn }]);
  });

  it('renewalRisks and preflightTransaction for the RENEWAL agree row by row, whatever the term', async () => {
    const listed = new Map((await risks(1_096)).edges.map((e: any) => [e.node.subscription.id, e.node]));
    const admin = await platformAdminToken();
    for (const s of subs.filter((x) => !x.ending)) {
      const res = await gw.gql(
        PREFLIGHT_RENEWAL,
        { input: { customerId: customer.id, kind: 'RENEWAL', partnerId: partner.id, subscriptionId: s.id, quantity: 3, idempotencyKey: randomUUID() } },
        admin,
      );
      const pre = res.data.preflightTransaction;
      const risk: any = listed.get(s.id);
      expect(pre.allowed).toBe(false);
      expect({ blockReasons: risk.blockReasons, warnings: risk.warnings, requiredAgreement: risk.requiredAgreement }).toEqual({
        blockReasons: pre.blockReasons,
        warnings: pre.warnings,
        requiredAgreement: pre.requiredAgreement,
      });
      expect(risk.blockReasons).toEqual(['AGREEMENT_VERSION_OUTDATED']);
    }
  });

  it('the scan raises one alert per at-risk subscription at its own renewsOn, across 1,096 days', async () => {
    const res = await gw.gql('mutation { scanRenewalRisks(withinDays: 1096) { raised } }', {}, await platformAdminToken());
    expect(res.errors).toBeUndefined();
    const rows = await gw.orm.em.fork().getConnection().execute<{ subscription_id: string; renews_on: string }[]>(
      "select subscription_id, to_char(renews_on, 'YYYY-MM-DD') as renews_on from renewal_risk_alerts where partner_id = ? order by renews_on",
      [partner.id],
    );
    const active = subs.filter((s) => !s.ending).sort((a, b) => a.renewsOn.localeCompare(b.renewsOn));
    expect(rows).toEqual(active.map((s) => ({ subscription_id: s.id, renews_on: s.renewsOn })));
  });
});
