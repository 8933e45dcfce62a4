import { aCustomer, aPartner, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { Role } from '../../src/auth/roles';
import { Customer } from '../../src/customers/customer.entity';

const CONTACT = `query ($id: ID!) { customer(id: $id) { primaryContact { firstName lastName email phoneNumber } } }`;
const LIST = `query { customers(first: 100) { edges { node { id primaryContact { firstName email phoneNumber } } } } }`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.stop());

describe('contact masking', () => {
  it('an analyst sees the primary contact masked: names, email and phone', async () => {
    const partner = await aPartner(gw);
    const c = await aCustomer(gw, { partners: [{ partner }] }); // Jane Doe, jane.doe@example.com, +14255550100
    const res = await gw.gql(CONTACT, { id: c.id }, await analystToken());
    expect(res.errors).toBeUndefined();
    expect(res.data.customer.primaryContact).toEqual({ firstName: 'J***', lastName: 'D***', email: 'j***@example.com', phoneNumber: '**********00' });
    const list = await gw.gql(LIST, {}, await analystToken());
    const node = list.data.customers.edges.find((e: any) => e.node.id === c.id).node;
    expect(node.primaryContact).toEqual({ firstName: 'J***', email: 'j***@example.com', phoneNumber: '**********00' });
  });

  it('platform admins and partner users see the contact as recorded', async () => {
    const partner = await aPartner(gw);
    const c = await aCustomer(gw, { partners: [{ partner }] });
    const plain = { firstName: 'Jane', lastName: 'Doe', email: 'jane.doe@example.com', phoneNumber: '+14255550100' };
    for (const token of [await platformAdminToken(), await aPartnerToken(partner, Role.VIEWER)]) {
      const res = await gw.gql(CONTACT, { id: c.id }, token);
      expect(res.data.customer.primaryContact).toEqual(plain);
    }
  });

  it('a missing phone number stays null, masked or not', async () => {
    const partner = await aPartner(gw);
    const c = await aCustomer(gw, { partners: [{ partner }] });
    const em = gw.orm.em.fork();
    await em.nativeUpdate(Customer, { id: c.id }, { primaryContact: { phoneNumber: null } } as never);
    expect((await gw.gql(CONTACT, { id: c.id }, await analystToken())).data.customer.primaryContact.phoneNumber).toBeNull();
    expect((await gw.gql(CONTACT, { id: c.id }, await platformAdminToken())).data.customer.primaryContact.phoneNumber).toBeNull();
  });
});
