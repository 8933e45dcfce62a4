import { aCustomer, aLink, anAcceptance, anAgreement, anOrder, aPartner, aPartnerToken, aSubscription } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import { AcceptanceStatus } from '../../src/acceptance/acceptance.enums';
import { renewals } from '../../src/renewals/renewal.runtime';
import { connect, disposeAll, subscribe, subscribersRegistered } from '../alerts/ws';
import { dayFromToday, ON_RENEWAL_RISK, SCAN } from './ops';

/**
 * Renewal-risk alerts (DESIGN.md section 9): one per subscription and term, however
 * many scans on however many instances, delivered like blocked-order alerts.
 */

let gw: TestGateway;
let other: TestGateway;
let direct: Partner;
let provider: Partner;
let reseller: Partner;
const risky: string[] = [];

const count = async () => Number((await gw.orm.em.fork().getConnection().execute<{ n: string }[]>('select count(*) as n from renewal_risk_alerts'))[0].n);
const scan = async (target: TestGateway, withinDays?: number, token?: string) => {
  const res = await target.gql(SCAN, { withinDays }, token ?? (await platformAdminToken()));
  if (res.errors) return res.errors[0].extensions;
  return res.data.scanRenewalRisks.raised as number;
};

beforeAll(async () => {
  gw = await startGateway();
  other = await startGateway({}, gw.databaseUrl); // a second instance on the same database
  direct = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  const old = await anAgreement(gw, { country: 'GLOBAL', versionRank: 1, effectiveFrom: '2018-01-01' });
  await anAgreement(gw, { country: 'GLOBAL', versionRank: 2, effectiveFrom: '2020-01-01' });
  for (const [partner, via] of [[direct, undefined], [direct, undefined], [provider, reseller]] as const) {
    const customer = await aCustomer(gw, { partners: [{ partner, resellers: via ? [via] : [] }] });
    await anAcceptance(gw, { customer, partner, template: old, status: AcceptanceStatus.ACTIVE });
    await anOrder(gw, { customer, partner });
    risky.push((await aSubscription(gw, { customer, partner, reseller: via, renewsOn: dayFromToday(10 + risky.length) })).id);
  }
  // Renewing after the window, and one whose renewal is fine.
  const later = await aCustomer(gw, { partners: [{ partner: direct }] });
  await aSubscription(gw, { customer: later, partner: direct, renewsOn: dayFromToday(200) });
});
afterAll(async () => {
  await disposeAll();
  await other?.stop();
  await gw?.stop();
});
beforeEach(async () => {
  await gw.orm.em.fork().getConnection().execute('delete from renewal_risk_alerts');
});

describe('scanRenewalRisks', () => {
  it('raises one alert per at-risk subscription renewing within the window, and never the same alert twice', async () => {
    expect(await scan(gw)).toBe(3);
    expect(await scan(gw)).toBe(0);
    expect(await scan(gw, 366)).toBe(1); // the one renewing in 200 days is never confirmed: at risk too
    const rows = await gw.orm.em.fork().getConnection().execute<{ subscription_id: string; block_reasons: string[] }[]>(
      'select subscription_id, block_reasons from renewal_risk_alerts order by id',
    );
    expect(rows.slice(0, 3)).toEqual(risky.map((id) => ({ subscription_id: id, block_reasons: ['AGREEMENT_VERSION_OUTDATED'] })));
  });

  it('a new term of the same subscription is a new alert', async () => {
    expect(await scan(gw)).toBe(3);
    await gw.orm.em.fork().getConnection().execute('update subscriptions set renews_on = renews_on + 1 where id = ?', [risky[0]]);
    expect(await scan(gw)).toBe(1);
    await gw.orm.em.fork().getConnection().execute('update subscriptions set renews_on = renews_on - 1 where id = ?', [risky[0]]);
  });

  it('scans running at once on two gateway instances raise each alert exactly once', async () => {
    const results = await Promise.all([scan(gw), scan(other), scan(gw), scan(other)]);
    expect((results as number[]).reduce((a, b) => a + b, 0)).toBe(3);
    expect(await count()).toBe(3);
  });

  it('only a platform admin may scan (FORBIDDEN otherwise); withinDays is validated', async () => {
    expect(await scan(gw, undefined, await aPartnerToken(direct, Role.ADMIN))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await scan(gw, undefined, await analystToken())).toMatchObject({ code: 'FORBIDDEN' });
    expect(await scan(gw, 1_097)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'withinDays' });
    expect(await count()).toBe(0);
  });
});

describe('renewalRiskAlerts over graphql-ws', () => {
  it('a partner receives its own alerts live, also when the scan ran on another instance; an analyst receives all', async () => {
    expect.assertions(2);
    const mine = subscribe(connect(other, await aPartnerToken(direct)).client, ON_RENEWAL_RISK, {}, (d) => d.renewalRiskAlerts);
    const all = subscribe(connect(other, await analystToken()).client, ON_RENEWAL_RISK, {}, (d) => d.renewalRiskAlerts);
    await subscribersRegistered(other, 2);
    expect(await scan(gw)).toBe(3);
    const [received, everything] = await Promise.all([mine.until((r) => r.length >= 2), all.until((r) => r.length >= 3)]);
    // Had the provider's alert reached the direct partner, it would have arrived before the analyst's third.
    expect({ mine: received.map((a) => a.subscription.id), all: everything.map((a) => a.subscription.id), reasons: received[0].blockReasons }).toEqual({
      mine: risky.slice(0, 2),
      all: risky,
      reasons: ['AGREEMENT_VERSION_OUTDATED'],
    });
    mine.unsubscribe();
    all.unsubscribe();
  });

  it('with `after`, a subscriber first receives every later alert it may see, then live ones; a reseller sees what it sold', async () => {
    expect.assertions(2);
    expect(await scan(gw)).toBe(3);
    const token = await aPartnerToken(reseller);
    const replayed = subscribe(connect(gw, token).client, ON_RENEWAL_RISK, { after: '0' }, (d) => d.renewalRiskAlerts);
    const [alert] = await replayed.until((r) => r.length >= 1);
    expect({ subscription: alert.subscription.id, partner: alert.partner.id, renewsOn: alert.renewsOn }).toEqual({
      subscription: risky[2],
      partner: provider.id,
      renewsOn: dayFromToday(12),
    });
    replayed.unsubscribe();
  });

  it('a malformed cursor is BAD_USER_INPUT on after', async () => {
    const bad = subscribe(connect(gw, await aPartnerToken(direct)).client, ON_RENEWAL_RISK, { after: 'x' }, (d) => d.renewalRiskAlerts);
    const err: any = await bad.ended;
    expect(err?.[0]?.extensions ?? (bad.errors[0] as any)?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});

describe('the start-up scan', () => {
  it('a gateway started with RENEWAL_SCAN_ON_START raises what is at risk', async () => {
    const started = await startGateway({ renewalScan: { ...gw.services.config.renewalScan, onStart: true } }, gw.databaseUrl);
    try {
      await renewals(started.services).idle();
      expect(await count()).toBe(3);
    } finally {
      await started.stop();
    }
  });
});
