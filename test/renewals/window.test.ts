import type { EntityManager } from '@mikro-orm/postgresql';
import { aCustomer, aPartner, aSubscription } from '../factories';
import { startGateway, type TestGateway } from '../support/gateway';
import type { Partner } from '../../src/partners/partner.entity';
import { loadRenewalWindow, type SqlCondition } from '../../src/renewals/renewal.facts';
import { dayFromToday, Replay } from './ops';

/**
 * The fact sets of a window leave out whether the customer is an existing one unless
 * asked (the list asks again when the gate's answer depends on it). Two subscriptions
 * whose facts differ only in that: one set without it, two with it, and a page of
 * either set's keys reads the right candidates, for both ways of asking the facts
 * (index probes for one partner's window, hashed tables for every partner's).
 */

let gw: TestGateway;
let partner: Partner;
let existingSub: string;
let newSub: string;
let lateSub: string;

beforeAll(async () => {
  gw = await startGateway();
  partner = await aPartner(gw);
  // Bought before the API's enforcement date and kept alive by auto-renewals: a COMPLETED order, no acceptance.
  const existing = await aCustomer(gw, { country: 'US', partners: [{ partner }] });
  existingSub = await new Replay(gw).grandfatheredSubscription(existing, partner, dayFromToday(10));
  // No order at all, no acceptance: the same facts but for the existing customer.
  const fresh = await aCustomer(gw, { country: 'US', partners: [{ partner }] });
  newSub = (await aSubscription(gw, { customer: fresh, partner, offerId: 'office-e3', seats: 1, renewsOn: dayFromToday(20) })).id;
  // The same facts again, late in a year's window.
  const late = await aCustomer(gw, { country: 'US', partners: [{ partner }] });
  lateSub = (await aSubscription(gw, { customer: late, partner, offerId: 'office-e3', seats: 1, renewsOn: dayFromToday(300) })).id;
}, 60_000);
afterAll(() => gw?.stop());

describe.each([
  ['one partner (probes)', false],
  ['every partner (hashed)', true],
])('the window of %s', (_label, wide) => {
  const scope = (): SqlCondition => ({ sql: 's.partner_id = ?', params: [partner.id], wide });
  const em = () => gw.orm.em.fork() as EntityManager;

  it('groups both subscriptions in one set when existing customers are not asked about', async () => {
    const window = await loadRenewalWindow(em(), scope(), 60, { asksExisting: false });
    expect(window.asksExisting).toBe(false);
    expect(window.groups.map((g) => g.n)).toEqual([2]);
    const page = await window.candidatesOf([window.groups[0].key], null, 10);
    expect(page.map((c) => c.subscriptionId)).toEqual([existingSub, newSub]);
    // The page's candidates carry all their facts.
    expect(page.map((c) => c.facts.existingCustomer)).toEqual([true, false]);
  });

  it('tells them apart when asked, and a page of one set reads only its candidate', async () => {
    const window = await loadRenewalWindow(em(), scope(), 60, { asksExisting: true });
    const byExisting = new Map(window.groups.map((g) => [g.facts.existingCustomer, g]));
    expect(window.groups).toHaveLength(2);
    expect(byExisting.get(true)?.n).toBe(1);
    expect(byExisting.get(false)?.n).toBe(1);
    expect((await window.candidatesOf([byExisting.get(true)!.key], null, 10)).map((c) => c.subscriptionId)).toEqual([existingSub]);
    expect((await window.candidatesOf([byExisting.get(false)!.key], null, 10)).map((c) => c.subscriptionId)).toEqual([newSub]);
  });
});

describe('a page over a window where the chosen sets are spread unevenly', () => {
  // A year's window, three candidates of one set at days 10, 20 and 300, pages of one: the page first
  // reads the days an even spread would need (245 here) and, coming back short, the rest of the window.
  it.each([false, true])('reads on to the end of the window when the likely days hold too few (wide: %s)', async (wide) => {
    const window = await loadRenewalWindow(gw.orm.em.fork() as EntityManager, { sql: 's.partner_id = ?', params: [partner.id], wide }, 366, { asksExisting: false });
    expect(window.groups.map((g) => g.n)).toEqual([3]);
    const keys = [window.groups[0].key];
    expect((await window.candidatesOf(keys, null, 1)).map((c) => c.subscriptionId)).toEqual([existingSub]);
    const afterNew = { renewsOn: dayFromToday(20), subscriptionId: newSub };
    expect((await window.candidatesOf(keys, afterNew, 1)).map((c) => c.subscriptionId)).toEqual([lateSub]);
    expect((await window.candidatesOf(keys, afterNew, 5)).map((c) => c.subscriptionId)).toEqual([lateSub]);
  });
});
