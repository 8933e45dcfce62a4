import { aBlockedOrder, aCustomer, anAcceptance, anAgreement, aPartner, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { AcceptanceStatus } from '../../src/acceptance/acceptance.enums';
import { CloudInstance } from '../../src/customers/customer.enums';
import { PartnerType, Role } from '../../src/auth/roles';
import { BlockReason } from '../../src/transactions/transaction.enums';
import type { Partner } from '../../src/partners/partner.entity';

const SUMMARY = `query ComplianceSummary($partnerId: ID) { complianceSummary(partnerId: $partnerId) {
  customers confirmed outdated missing withdrawn notApplicable blockedOrders blockedByReason { reason count } } }`;

let gw: TestGateway;
let direct: Partner;
let other: Partner;

beforeAll(async () => {
  gw = await startGateway();
  const old = await anAgreement(gw, { versionRank: 1, effectiveFrom: '2018-11-07' });
  const current = await anAgreement(gw, { versionRank: 2, effectiveFrom: '2024-01-01' });
  direct = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  other = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  // direct: one confirmed, one outdated, one withdrawn, one missing, one national cloud.
  const confirmed = await aCustomer(gw, { partners: [{ partner: direct }, { partner: other }] });
  await anAcceptance(gw, { customer: confirmed, partner: direct, template: current });
  const outdated = await aCustomer(gw, { partners: [{ partner: direct }] });
  await anAcceptance(gw, { customer: outdated, partner: direct, template: old });
  const withdrawn = await aCustomer(gw, { partners: [{ partner: direct }] });
  await anAcceptance(gw, { customer: withdrawn, partner: direct, template: current, status: AcceptanceStatus.WITHDRAWN });
  const missing = await aCustomer(gw, { partners: [{ partner: direct }] });
  await aCustomer(gw, { cloud: CloudInstance.CHINA, country: 'CN', partners: [{ partner: direct }] });
  // other: one customer, shared with direct (missing for other), and its own blocked order.
  await anAcceptance(gw, { customer: confirmed, partner: other, template: old });
  await aBlockedOrder(gw, { customer: missing, partner: direct, reasons: [BlockReason.ACCEPTANCE_NOT_CONFIRMED] });
  await aBlockedOrder(gw, { customer: withdrawn, partner: direct, reasons: [BlockReason.ACCEPTANCE_WITHDRAWN] });
  await aBlockedOrder(gw, { customer: missing, partner: direct, reasons: [BlockReason.ACCEPTANCE_NOT_CONFIRMED, BlockReason.RESELLER_NOT_AUTHORIZED] });
  await aBlockedOrder(gw, { customer: confirmed, partner: other, reasons: [BlockReason.AGREEMENT_VERSION_OUTDATED] });
  await aCustomer(gw, { partners: [{ partner: other }] });
});
afterAll(() => gw?.stop());

describe('complianceSummary', () => {
  it("counts a partner's customers by compliance status and its blocked orders by reason", async () => {
    const res = await gw.gql(SUMMARY, {}, await aPartnerToken(direct, Role.VIEWER));
    expect(res.errors).toBeUndefined();
    expect(res.data.complianceSummary).toEqual({
      customers: 5,
      confirmed: 1,
      outdated: 1,
      missing: 1,
      withdrawn: 1,
      notApplicable: 1,
      blockedOrders: 3,
      blockedByReason: [
        { reason: 'ACCEPTANCE_NOT_CONFIRMED', count: 2 },
        { reason: 'ACCEPTANCE_WITHDRAWN', count: 1 },
        { reason: 'RESELLER_NOT_AUTHORIZED', count: 1 },
      ],
    });
  });

  it('each partner counts against its own confirmations: the shared customer is OUTDATED for the other partner', async () => {
    const res = await gw.gql(SUMMARY, {}, await aPartnerToken(other, Role.ADMIN));
    expect(res.data.complianceSummary).toMatchObject({ customers: 2, outdated: 1, missing: 1, confirmed: 0, blockedOrders: 1 });
  });

  it('platform roles see everything, least compliant across partners; partnerId narrows to one partner', async () => {
    const all = await gw.gql(SUMMARY, {}, await analystToken());
    // The shared customer is CONFIRMED for direct and OUTDATED for other: least compliant is OUTDATED.
    expect(all.data.complianceSummary).toMatchObject({ customers: 6, confirmed: 0, outdated: 2, missing: 2, withdrawn: 1, notApplicable: 1, blockedOrders: 4 });
    const one = await gw.gql(SUMMARY, { partnerId: direct.id }, await platformAdminToken());
    expect(one.data.complianceSummary).toMatchObject({ customers: 5, confirmed: 1, outdated: 1, blockedOrders: 3 });
  });

  it("another tenant's partnerId is answered as missing", async () => {
    const res = await gw.gql(SUMMARY, { partnerId: other.id }, await aPartnerToken(direct, Role.ADMIN));
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'partnerId' });
  });

  it('costs a constant number of SQL statements (computed in SQL, not by loading rows)', async () => {
    const token = await platformAdminToken();
    await gw.gql(SUMMARY, {}, token); // warm the user record
    const n = await gw.countStatements(() => gw.gql(SUMMARY, {}, token));
    expect(n).toBe(3);
  });
});
