import { randomUUID } from 'node:crypto';
import { aCustomer, aLink, anAgreement, aPartner, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';
import { CloudInstance } from '../../src/customers/customer.enums';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { dayFromToday, PREFLIGHT_RENEWAL, RENEWAL_RISKS, Replay } from './ops';

/**
 * DESIGN.md section 9: a renewal risk is an active subscription renewing within the
 * window whose RENEWAL the gate would block today, computed by the same gate. The
 * fixture is built through the contract's operations with replayed business times.
 */

let gw: TestGateway;
let replay: Replay;
let direct: Partner;
let second: Partner;
let provider: Partner;
let reseller: Partner;
let unlinked: Partner;
let de1: AgreementTemplate;
let de2: AgreementTemplate;
let global1: AgreementTemplate;
/** Every subscription of the fixture, with what the test expects of it. */
const subs: { id: string; customer: Customer; partner: Partner; reseller?: Partner; renewsOn: string; expect: string[] | null; label: string }[] = [];

const de = (partners: { partner: Partner; resellers?: Partner[] }[], cloud = CloudInstance.PUBLIC) => aCustomer(gw, { country: 'DE', partners, cloud });
const us = (partners: { partner: Partner; resellers?: Partner[] }[], cloud = CloudInstance.PUBLIC) => aCustomer(gw, { country: 'US', partners, cloud });

beforeAll(async () => {
  gw = await startGateway();
  replay = new Replay(gw);
  direct = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  second = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  unlinked = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  await aLink(gw, unlinked, provider);
  global1 = await anAgreement(gw, { country: 'GLOBAL', versionRank: 1, version: '2018', effectiveFrom: '2018-01-01' });
  de1 = await anAgreement(gw, { country: 'DE', versionRank: 1, version: '2018-de', effectiveFrom: '2018-01-01', language: 'de-DE' });

  const add = async (label: string, customer: Customer, partner: Partner, renewsOn: string, expectReasons: string[] | null, make: () => Promise<string>, via?: Partner) => {
    subs.push({ id: await make(), customer, partner, reseller: via, renewsOn, expect: expectReasons, label });
  };

  // Confirmed the German agreement of 2018; the agreement is updated below, before the renewal.
  const outdated = await de([{ partner: direct }]);
  await replay.confirm(outdated, direct, de1);
  const in20 = dayFromToday(20);
  await add('outdated after an agreement update', outdated, direct, in20, ['AGREEMENT_VERSION_OUTDATED'], () => replay.subscriptionRenewingOn(outdated, direct, in20));
  const in90 = dayFromToday(90);
  await add('outdated, but renewing after the window', outdated, direct, in90, ['AGREEMENT_VERSION_OUTDATED'], () => replay.subscriptionRenewingOn(outdated, direct, in90));
  const yesterdayTerm = dayFromToday(-1);
  await add('outdated, term ended yesterday (not renewing within the window)', outdated, direct, yesterdayTerm, ['AGREEMENT_VERSION_OUTDATED'], () => replay.subscriptionRenewingOn(outdated, direct, yesterdayTerm));

  // A customer of two partners: the first confirmed, the second never did (its subscription predates enforcement).
  const shared = await us([{ partner: direct }, { partner: second }]);
  await replay.confirm(shared, direct, global1);
  const in10 = dayFromToday(10);
  await add('confirmed by its own partner', shared, direct, in10, null, () => replay.subscriptionRenewingOn(shared, direct, in10));
  const in30 = dayFromToday(30);
  await add("another partner's confirmation does not count", shared, second, in30, ['ACCEPTANCE_NOT_CONFIRMED'], () => replay.grandfatheredSubscription(shared, second, in30));

  // Withdrawn: the withdrawal cancels the partner's subscriptions; one bought before enforcement is still active.
  const withdrawn = await us([{ partner: direct }]);
  await replay.confirm(withdrawn, direct, global1);
  const in40 = dayFromToday(40);
  await add('cancelled by the withdrawal', withdrawn, direct, in40, null, () => replay.subscriptionRenewingOn(withdrawn, direct, in40));
  await replay.withdraw(withdrawn, direct);
  const in45 = dayFromToday(45);
  await add('withdrawn acceptance', withdrawn, direct, in45, ['ACCEPTANCE_WITHDRAWN'], () => replay.grandfatheredSubscription(withdrawn, direct, in45));

  // National cloud: never confirmed, not gated.
  const gov = await us([{ partner: direct }], CloudInstance.US_GOVERNMENT);
  const in15 = dayFromToday(15);
  await add('national cloud', gov, direct, in15, null, () => replay.subscriptionRenewingOn(gov, direct, in15));

  // Resellers: one sells a German customer that confirmed the old agreement, the other loses its link.
  const resold = await de([{ partner: provider, resellers: [reseller, unlinked] }]);
  await replay.confirm(resold, provider, de1);
  const in25 = dayFromToday(25);
  await add('sold by a reseller, outdated', resold, provider, in25, ['AGREEMENT_VERSION_OUTDATED'], () => replay.subscriptionRenewingOn(resold, provider, in25, reseller), reseller);
  const govResold = await us([{ partner: provider, resellers: [unlinked] }], CloudInstance.CHINA);
  const in35 = dayFromToday(35);
  await add('reseller no longer linked (national cloud: still blocked)', govResold, provider, in35, ['RESELLER_NOT_AUTHORIZED'], () => replay.subscriptionRenewingOn(govResold, provider, in35, unlinked), unlinked);
  const fine = await us([{ partner: provider, resellers: [reseller] }]);
  await replay.confirm(fine, provider, global1);
  const in50 = dayFromToday(50);
  await add('sold by a reseller, confirmed', fine, provider, in50, null, () => replay.subscriptionRenewingOn(fine, provider, in50, reseller), reseller);

  // Then the agreement for Germany is updated, and the link of `unlinked` ends.
  const publish = await gw.gql(
    `mutation ($input: PublishAgreementInput!) { publishAgreement(input: $input) { agreement { templateId } } }`,
    { input: { type: 'MICROSOFT_CLOUD_AGREEMENT', version: '2026-de', versionRank: 2, country: 'DE', language: 'de-DE', displayUri: 'https://example.com/mca-de.pdf', effectiveFrom: dayFromToday(-30) } },
    await platformAdminToken(),
  );
  expect(publish.errors).toBeUndefined();
  const templateId = publish.data.publishAgreement.agreement.templateId;
  de2 = { templateId, version: '2026-de' } as AgreementTemplate;
  // An English translation of the same version, whose id sorts first: the requirement names the German one, as the gate does.
  await anAgreement(gw, { templateId: `0-${randomUUID()}`, country: 'DE', versionRank: 2, version: '2026-de', language: 'en-US', effectiveFrom: dayFromToday(-30) });
  await gw.orm.em.fork().getConnection().execute('delete from reseller_links where reseller_id = ?', [unlinked.id]);
}, 60_000);
afterAll(() => gw?.stop());

const risksOf = async (token: string, vars: Record<string, unknown> = {}) => {
  const res = await gw.gql(RENEWAL_RISKS, { first: 100, ...vars }, token);
  expect(res.errors).toBeUndefined();
  return res.data.renewalRisks;
};
const inWindow = (days: number) => subs.filter((s) => s.renewsOn >= dayFromToday(0) && s.renewsOn <= dayFromToday(days) && s.label !== 'cancelled by the withdrawal');

describe('renewalRisks', () => {
  it("lists every at-risk subscription renewing within the window with the gate's own reasons and nothing else, soonest first", async () => {
    const risks = await risksOf(await platformAdminToken());
    const expected = inWindow(60)
      .filter((s) => s.expect)
      .sort((a, b) => a.renewsOn.localeCompare(b.renewsOn));
    expect(risks.edges.map((e: any) => ({ id: e.node.subscription.id, reasons: e.node.blockReasons }))).toEqual(expected.map((s) => ({ id: s.id, reasons: s.expect })));
    expect(risks.totalCount).toBe(expected.length);
    const outdated = risks.edges.find((e: any) => e.node.blockReasons.includes('AGREEMENT_VERSION_OUTDATED')).node;
    expect(outdated.requiredAgreement).toEqual({ templateId: de2.templateId, version: '2026-de' });
    expect(outdated.subscription).toMatchObject({ status: 'ACTIVE', renewsOn: outdated.renewsOn });
  });

  it('renewalRisks and preflightTransaction for a RENEWAL agree on every subscription of the fixture', async () => {
    const risks = await risksOf(await platformAdminToken(), { withinDays: 366 });
    const listed = new Map(risks.edges.map((e: any) => [e.node.subscription.id, e.node]));
    const admin = await platformAdminToken();
    let compared = 0;
    for (const s of inWindow(366)) {
      const res = await gw.gql(
        PREFLIGHT_RENEWAL,
        { input: { customerId: s.customer.id, kind: 'RENEWAL', partnerId: s.partner.id, resellerId: s.reseller?.id, subscriptionId: s.id, quantity: 5, idempotencyKey: randomUUID() } },
        admin,
      );
      expect(res.errors).toBeUndefined();
      const pre = res.data.preflightTransaction;
      const risk: any = listed.get(s.id);
      expect({ label: s.label, listed: Boolean(risk) }).toEqual({ label: s.label, listed: !pre.allowed });
      if (risk) {
        expect({ label: s.label, blockReasons: risk.blockReasons, warnings: risk.warnings, requiredAgreement: risk.requiredAgreement }).toEqual({
          label: s.label,
          blockReasons: pre.blockReasons,
          warnings: pre.warnings,
          requiredAgreement: pre.requiredAgreement,
        });
      }
      compared++;
    }
    expect(compared).toBe(inWindow(366).length);
    expect(risks.totalCount).toBe(inWindow(366).filter((s) => s.expect).length);
  });

  it('withinDays widens or narrows the window (0 to 366, else BAD_USER_INPUT on withinDays)', async () => {
    const admin = await platformAdminToken();
    expect((await risksOf(admin, { withinDays: 100 })).totalCount).toBe(inWindow(100).filter((s) => s.expect).length);
    expect((await risksOf(admin, { withinDays: 19 })).totalCount).toBe(0);
    for (const withinDays of [-1, 1097]) {
      const res = await gw.gql(RENEWAL_RISKS, { withinDays }, admin);
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'withinDays' });
    }
  });

  it('pages by cursor with a stable order and total count', async () => {
    const admin = await platformAdminToken();
    const all = await risksOf(admin);
    const first = await risksOf(admin, { first: 2 });
    const rest = await risksOf(admin, { first: 100, after: first.pageInfo.endCursor });
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect([...first.edges, ...rest.edges].map((e: any) => e.node.subscription.id)).toEqual(all.edges.map((e: any) => e.node.subscription.id));
    expect(rest.totalCount).toBe(all.totalCount);
    const bad = await gw.gql(RENEWAL_RISKS, { after: 'nope' }, admin);
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('a cursor of the right shape that this list never gave (no such day, no subscription id) is BAD_USER_INPUT on after', async () => {
    const admin = await platformAdminToken();
    const first = await risksOf(admin, { first: 1 });
    const [, subscriptionId] = JSON.parse(Buffer.from(first.pageInfo.endCursor, 'base64url').toString());
    for (const values of [['2026-02-30', subscriptionId], ['2026-13-01', subscriptionId], [dayFromToday(10), 'not-an-id'], [dayFromToday(10), 42]]) {
      const res = await gw.gql(RENEWAL_RISKS, { after: Buffer.from(JSON.stringify(values)).toString('base64url') }, admin);
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    }
  });

  describe('tenancy as everywhere', () => {
    const ids = (risks: any) => risks.edges.map((e: any) => e.node.subscription.id).sort();
    const expectedFor = (keep: (s: (typeof subs)[number]) => boolean) => inWindow(60).filter((s) => s.expect && keep(s)).map((s) => s.id).sort();

    it("a billing partner sees its own subscriptions' risks (a provider also its resellers'), by default and by naming itself", async () => {
      expect(ids(await risksOf(await aPartnerToken(direct)))).toEqual(expectedFor((s) => s.partner === direct));
      expect(ids(await risksOf(await aPartnerToken(direct, Role.VIEWER), { partnerId: direct.id }))).toEqual(expectedFor((s) => s.partner === direct));
      expect(ids(await risksOf(await aPartnerToken(provider)))).toEqual(expectedFor((s) => s.partner === provider));
    });

    it('a reseller sees the risks of what it sold, also narrowed to a linked provider', async () => {
      expect(ids(await risksOf(await aPartnerToken(reseller)))).toEqual(expectedFor((s) => s.reseller === reseller));
      expect(ids(await risksOf(await aPartnerToken(reseller), { partnerId: provider.id }))).toEqual(expectedFor((s) => s.reseller === reseller));
    });

    it("another partner's id is answered as a missing one (NOT_FOUND on partnerId), a malformed one too", async () => {
      for (const [token, partnerId] of [
        [await aPartnerToken(direct), second.id],
        [await aPartnerToken(reseller), direct.id],
        [await aPartnerToken(unlinked), provider.id],
        [await aPartnerToken(direct), 'not-an-id'],
        [await platformAdminToken(), randomUUID()],
      ]) {
        const res = await gw.gql(RENEWAL_RISKS, { partnerId }, token);
        expect(res.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'partnerId' });
      }
    });

    it('platform roles see every partner, or the partner they name; analysts may read', async () => {
      expect(ids(await risksOf(await analystToken()))).toEqual(expectedFor(() => true));
      expect(ids(await risksOf(await platformAdminToken(), { partnerId: second.id }))).toEqual(expectedFor((s) => s.partner === second));
      expect(ids(await risksOf(await platformAdminToken(), { partnerId: reseller.id }))).toEqual(expectedFor((s) => s.reseller === reseller));
    });

    it('without a token: UNAUTHENTICATED', async () => {
      const res = await gw.gql(RENEWAL_RISKS, {});
      expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });
  });
});
