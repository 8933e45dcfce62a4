import { aCustomer, aLink, aPartner, aPartnerToken } from '../factories';
import { startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';

/**
 * customers(filter: { partnerId }) naming a linked partner lists what the two serve
 * together, never what the other partner does with a third one.
 */

const LIST = 'query ($f: CustomerFilter) { customers(filter: $f) { edges { node { companyName } } } }';
const names = (res: { data?: any }) => res.data.customers.edges.map((e: { node: { companyName: string } }) => e.node.companyName).sort();

let gw: TestGateway;
let provider: Partner;
let otherProvider: Partner;
let reseller: Partner;
beforeAll(async () => {
  gw = await startGateway();
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  otherProvider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  await aLink(gw, reseller, otherProvider);
  // Together: the provider bills, the reseller sells.
  await aCustomer(gw, { companyName: 'Together Ltd', partners: [{ partner: provider, resellers: [reseller] }] });
  // The provider's own customer, whom the reseller serves through the other provider only.
  await aCustomer(gw, { companyName: 'Elsewhere GmbH', partners: [{ partner: provider }, { partner: otherProvider, resellers: [reseller] }] });
});
afterAll(() => gw?.stop());

describe('a partner filter naming a linked partner', () => {
  it('a provider naming its reseller sees the customers they serve together, not the reseller’s business with another provider', async () => {
    const token = await aPartnerToken(provider, Role.VIEWER);
    expect(names(await gw.gql(LIST, { f: { partnerId: reseller.id } }, token))).toEqual(['Together Ltd']);
    expect(names(await gw.gql(LIST, { f: { partnerId: provider.id } }, token))).toEqual(['Elsewhere GmbH', 'Together Ltd']);
  });

  it('a reseller naming its provider sees the customers they serve together, not the provider’s other customers', async () => {
    const token = await aPartnerToken(reseller, Role.VIEWER);
    expect(names(await gw.gql(LIST, { f: { partnerId: provider.id } }, token))).toEqual(['Together Ltd']);
    expect(names(await gw.gql(LIST, { f: { partnerId: otherProvider.id } }, token))).toEqual(['Elsewhere GmbH']);
  });
});
