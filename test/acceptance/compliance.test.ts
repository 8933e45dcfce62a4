import { aCustomer, aLink, anAcceptance, anAgreement, aPartner, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';
import { CloudInstance } from '../../src/customers/customer.enums';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { AcceptanceStatus } from '../../src/acceptance/acceptance.enums';
import { CUSTOMER, CUSTOMERS } from './ops';

/** DESIGN.md section 2: complianceStatus and acceptance, relative to one billing partner. */

let gw: TestGateway;
let a: Partner;
let b: Partner;
let provider: Partner;
let reseller: Partner;
let v1: AgreementTemplate;
let v2: AgreementTemplate;
const fixture: Record<string, Customer> = {};

beforeAll(async () => {
  gw = await startGateway();
  a = await aPartner(gw, { name: 'A' });
  b = await aPartner(gw, { name: 'B' });
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  v1 = await anAgreement(gw, { versionRank: 1, effectiveFrom: '2019-01-01' });
  v2 = await anAgreement(gw, { versionRank: 2, effectiveFrom: '2024-01-01' });
  // Published for later: not yet effective, so not current.
  await anAgreement(gw, { versionRank: 3, effectiveFrom: '2999-01-01' });

  const make = async (name: string, partners: Partner[], accept: [Partner, AgreementTemplate, AcceptanceStatus?][], cloud = CloudInstance.PUBLIC) => {
    const c = await aCustomer(gw, { companyName: name, cloud, partners: partners.map((partner) => ({ partner, resellers: partner === provider ? [reseller] : [] })) });
    for (const [partner, template, status] of accept) await anAcceptance(gw, { customer: c, partner, template, status });
    fixture[name] = c;
  };
  await make('both confirmed', [a, b], [[a, v2], [b, v2]]);
  await make('a only', [a, b], [[a, v2]]);
  await make('a outdated, b withdrawn', [a, b], [[a, v1], [b, v2, AcceptanceStatus.WITHDRAWN]]);
  await make('a outdated, b confirmed', [a, b], [[a, v1], [b, v2]]);
  await make('a superseded then reconfirmed', [a], [[a, v1, AcceptanceStatus.SUPERSEDED], [a, v2]]);
  await make('a withdrawn', [a], [[a, v2, AcceptanceStatus.WITHDRAWN]]);
  await make('national', [a, b], [], CloudInstance.CHINA);
  await make('no partner', [], []);
  await make('indirect confirmed', [provider], [[provider, v2]]);
  await make('indirect outdated', [provider, a], [[provider, v1], [a, v2]]);
});
afterAll(() => gw?.stop());

const statusOf = async (token: string, name: string, partnerId?: string) => {
  const res = await gw.gql(CUSTOMER, { id: fixture[name].id, partnerId }, token);
  expect(res.errors).toBeUndefined();
  return res.data.customer.complianceStatus;
};

describe('complianceStatus', () => {
  it.each([
    ['both confirmed', 'CONFIRMED', 'CONFIRMED'],
    ['a only', 'CONFIRMED', 'MISSING'],
    ['a outdated, b withdrawn', 'OUTDATED', 'WITHDRAWN'],
    ['a superseded then reconfirmed', 'CONFIRMED', 'MISSING'],
    ['a withdrawn', 'WITHDRAWN', 'MISSING'],
    ['national', 'NOT_APPLICABLE', 'NOT_APPLICABLE'],
  ])('is relative to one billing partner, the argument: %s is %s for A and %s for B', async (name, forA, forB) => {
    const admin = await platformAdminToken();
    expect(await statusOf(admin, name, a.id)).toBe(forA);
    expect(await statusOf(admin, name, b.id)).toBe(forB);
  });

  it("without an argument it is relative to the caller's partner", async () => {
    expect(await statusOf(await aPartnerToken(b, Role.VIEWER), 'a outdated, b confirmed')).toBe('CONFIRMED');
    expect(await statusOf(await aPartnerToken(a, Role.VIEWER), 'a outdated, b confirmed')).toBe('OUTDATED');
  });

  it.each([
    ['both confirmed', 'CONFIRMED'],
    ['a only', 'MISSING'],
    ['a outdated, b withdrawn', 'WITHDRAWN'],
    ['a outdated, b confirmed', 'OUTDATED'],
    ['national', 'NOT_APPLICABLE'],
    ['no partner', 'MISSING'],
  ])('for a caller without a partner it is the least compliant across billing partners: %s is %s', async (name, expected) => {
    expect(await statusOf(await analystToken(), name)).toBe(expected);
  });

  it("a reseller sees the status of the provider it serves the customer through", async () => {
    const token = await aPartnerToken(reseller, Role.VIEWER);
    expect(await statusOf(token, 'indirect confirmed')).toBe('CONFIRMED');
    expect(await statusOf(token, 'indirect outdated')).toBe('OUTDATED');
  });

  it('a template published for a later date does not make confirmations outdated before it takes effect', async () => {
    expect(await statusOf(await platformAdminToken(), 'both confirmed', a.id)).toBe('CONFIRMED');
  });
});

describe('acceptance', () => {
  it("for a caller without a partner it is the only billing partner's, null when there are several", async () => {
    const admin = await platformAdminToken();
    const single = await gw.gql(CUSTOMER, { id: fixture['a superseded then reconfirmed'].id }, admin);
    expect(single.data.customer.acceptance).toMatchObject({ status: 'ACTIVE', agreement: { templateId: v2.templateId, isCurrent: true } });
    const several = await gw.gql(CUSTOMER, { id: fixture['both confirmed'].id }, admin);
    expect(several.data.customer.acceptance).toBeNull();
    expect(several.data.customer.acceptanceHistory).toHaveLength(2);
  });

  it("a partner cannot read another partner's acceptance records", async () => {
    const res = await gw.gql(CUSTOMER, { id: fixture['both confirmed'].id, partnerId: b.id }, await aPartnerToken(a, Role.VIEWER));
    expect(res.data.customer.acceptance).toBeNull();
    expect(res.data.customer.acceptanceHistory).toEqual([]);
  });
});

describe('the complianceStatus filter and field agree', () => {
  const LIST = `query ($filter: CustomerFilter) { customers(filter: $filter, first: 100) { edges { node { id complianceStatus } } } }`;
  const STATUSES = ['CONFIRMED', 'OUTDATED', 'MISSING', 'WITHDRAWN', 'NOT_APPLICABLE'];

  it.each([
    ['a platform admin, no partnerId', () => platformAdminToken(), undefined],
    ['a platform admin, partnerId of B', () => platformAdminToken(), () => b.id],
    ['a partner user of A', () => aPartnerToken(a, Role.VIEWER), undefined],
    ['a reseller', () => aPartnerToken(reseller, Role.VIEWER), undefined],
  ])('for %s every customer filtered by a status shows that status, and every customer is in exactly one', async (_who, token, partner) => {
    const t = await token();
    const partnerId = partner?.();
    const all = await gw.gql(LIST, { filter: { partnerId } }, t);
    const q = `query ($filter: CustomerFilter, $partnerId: ID) { customers(filter: $filter, first: 100) { edges { node { id complianceStatus(partnerId: $partnerId) } } } }`;
    const seen: string[] = [];
    for (const status of STATUSES) {
      const res = await gw.gql(q, { filter: { complianceStatus: status, partnerId }, partnerId }, t);
      expect(res.errors).toBeUndefined();
      for (const e of res.data.customers.edges) {
        expect(e.node.complianceStatus).toBe(status);
        seen.push(e.node.id);
      }
    }
    expect(seen.sort()).toEqual(all.data.customers.edges.map((e: any) => e.node.id).sort());
    expect(seen.length).toBeGreaterThan(0);
  });
});

describe('no N+1', () => {
  it('the contract Customers query with complianceStatus and acceptance { agreement } costs the same statements for 5 and for 50 customers', async () => {
    const count = async (n: number) => {
      const partner = await aPartner(gw);
      for (let i = 0; i < n; i++) {
        const c = await aCustomer(gw, { partners: [{ partner }] });
        await anAcceptance(gw, { customer: c, partner, template: i % 2 ? v1 : v2 });
      }
      const admin = await platformAdminToken();
      await gw.gql(CUSTOMERS, { filter: { partnerId: partner.id }, first: 100 }, admin); // warm caches (viewer record)
      let res: any;
      // The gateway's background work (alert delivery) may land a statement in a window: the least of three counts is the query's own.
      const counts: number[] = [];
      for (let run = 0; run < 3; run++) {
        counts.push(
          await gw.countStatements(async () => {
            res = await gw.gql(CUSTOMERS, { filter: { partnerId: partner.id }, first: 100 }, admin);
          }),
        );
      }
      const statements = Math.min(...counts);
      expect(res.errors).toBeUndefined();
      expect(res.data.customers.edges).toHaveLength(n);
      // A single billing partner each: the admin sees that partner's acceptance.
      expect(res.data.customers.edges.every((e: any) => e.node.acceptance?.agreement.templateId)).toBe(true);
      expect(res.data.customers.edges.map((e: any) => e.node.complianceStatus).sort()).toEqual(
        Array.from({ length: n }, (_, i) => (i % 2 ? 'OUTDATED' : 'CONFIRMED')).sort(),
      );
      return statements;
    };
    const five = await count(5);
    const fifty = await count(50);
    expect(fifty).toBe(five);
    expect(five).toBeLessThanOrEqual(10);
  });
});
