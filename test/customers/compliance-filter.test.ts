import type { EntityManager } from '@mikro-orm/postgresql';
import { aCustomer, anAgreement, aPartner, aPartnerToken, aUser } from '../factories';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { Role } from '../../src/auth/roles';
import { Partner, User } from '../../src/partners/partner.entity';
import { Customer } from '../../src/customers/customer.entity';
import { CloudInstance } from '../../src/customers/customer.enums';
import { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { Acceptance } from '../../src/acceptance/acceptance.entity';
import { AcceptanceStatus } from '../../src/acceptance/acceptance.enums';

/**
 * The `complianceStatus` filter of `customers` delegates to the acceptance feature's
 * `complianceStatusCondition` (src/acceptance/compliance.ts); these tests pass once
 * that lands.
 */
const LIST = `query ($filter: CustomerFilter) { customers(filter: $filter, first: 100) { totalCount edges { node { companyName } } } }`;

let gw: TestGateway;
let partner: Partner;
let other: Partner;
let user: User;
let current: AgreementTemplate;
let older: AgreementTemplate;

async function accept(customer: Customer, by: Partner, template: AgreementTemplate, status = AcceptanceStatus.ACTIVE) {
  const em = gw.orm.em.fork() as EntityManager;
  em.create(Acceptance, {
    customer: em.getReference(Customer, customer.id),
    partner: em.getReference(Partner, by.id),
    template: em.getReference(AgreementTemplate, template.templateId as never),
    dateAgreed: '2024-07-01',
    contact: { firstName: 'Jane', lastName: 'Doe', email: 'jane@example.com', phoneNumber: null },
    confirmedBy: em.getReference(User, user.id),
    status,
    withdrawnAt: status === AcceptanceStatus.WITHDRAWN ? new Date() : null,
  });
  await em.flush();
}

beforeAll(async () => {
  gw = await startGateway();
  partner = await aPartner(gw);
  other = await aPartner(gw);
  user = await aUser(gw, { partner });
  older = await anAgreement(gw, { templateId: 'mca-old', versionRank: 1 });
  current = await anAgreement(gw, { templateId: 'mca-new', versionRank: 2, effectiveFrom: '2024-06-01' });
  const confirmed = await aCustomer(gw, { companyName: 'Confirmed Co', partners: [{ partner }, { partner: other }] });
  await accept(confirmed, partner, current);
  await accept(confirmed, other, current);
  const outdated = await aCustomer(gw, { companyName: 'Outdated Co', partners: [{ partner }] });
  await accept(outdated, partner, older);
  const withdrawn = await aCustomer(gw, { companyName: 'Withdrawn Co', partners: [{ partner }] });
  await accept(withdrawn, partner, current, AcceptanceStatus.WITHDRAWN);
  await aCustomer(gw, { companyName: 'Missing Co', partners: [{ partner }] });
  await aCustomer(gw, { companyName: 'National Co', cloud: CloudInstance.US_GOVERNMENT, partners: [{ partner }] });
  // Confirmed by `partner` only: for a caller without a partner, the least compliant (MISSING) counts.
  const half = await aCustomer(gw, { companyName: 'Half Co', partners: [{ partner }, { partner: other }] });
  await accept(half, partner, current);
});
afterAll(() => gw?.stop());

const names = (res: any) => res.data.customers.edges.map((e: any) => e.node.companyName);

describe('the complianceStatus filter of customers', () => {
  it.each([
    ['CONFIRMED', ['Confirmed Co', 'Half Co']],
    ['OUTDATED', ['Outdated Co']],
    ['WITHDRAWN', ['Withdrawn Co']],
    ['MISSING', ['Missing Co']],
    ['NOT_APPLICABLE', ['National Co']],
  ])("keeps %s customers relative to the caller's partner", async (status, expected) => {
    const res = await gw.gql(LIST, { filter: { complianceStatus: status } }, await aPartnerToken(partner, Role.VIEWER));
    expect(res.errors).toBeUndefined();
    expect(names(res)).toEqual(expected);
    expect(res.data.customers.totalCount).toBe(expected.length);
  });

  it('is relative to the partnerId filter when given', async () => {
    const res = await gw.gql(LIST, { filter: { complianceStatus: 'MISSING', partnerId: other.id } }, await platformAdminToken());
    expect(names(res)).toEqual(['Half Co']);
  });

  it('for a caller without a partner and no partnerId, is the least compliant status across billing partners', async () => {
    const admin = await platformAdminToken();
    expect(names(await gw.gql(LIST, { filter: { complianceStatus: 'CONFIRMED' } }, admin))).toEqual(['Confirmed Co']);
    expect(names(await gw.gql(LIST, { filter: { complianceStatus: 'MISSING' } }, admin))).toEqual(['Half Co', 'Missing Co']);
  });
});
