import { aCustomer, aLink, aPartner, aPartnerToken } from '../factories';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';

const REGISTER = `mutation ($input: RegisterPartnerInput!) { registerPartner(input: $input) { partner { id name type tenantId } } }`;
const PARTNER = `query ($id: ID!) { partner(id: $id) { id name type providers { id } resellers { id } } }`;
const LINK = `mutation ($input: LinkResellerInput!) { linkResellerToProvider(input: $input) { reseller { id providers { id } } } }`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.stop());

describe('partners', () => {
  it('a platform admin registers partners; a duplicate tenant id is BAD_USER_INPUT on tenantId', async () => {
    const admin = await platformAdminToken();
    const input = { name: '  Woodgrove  ', tenantId: 'woodgrove-1', type: 'DIRECT_BILL' };
    const first = await gw.gql(REGISTER, { input }, admin);
    expect(first.errors).toBeUndefined();
    expect(first.data.registerPartner.partner).toMatchObject({ name: 'Woodgrove', tenantId: 'woodgrove-1', type: 'DIRECT_BILL' });

    const again = await gw.gql(REGISTER, { input }, admin);
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tenantId' });
  });

  it('a partner name with control characters (NUL included) is BAD_USER_INPUT on name, and nothing is written', async () => {
    const admin = await platformAdminToken();
    const before = await gw.orm.em.getConnection().execute('select count(*)::int as n from partners');
    const res = await gw.gql(REGISTER, { input: { name: 'Bad\u0000Name', tenantId: 'nul-1', type: 'DIRECT_BILL' } }, admin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    expect(await gw.orm.em.getConnection().execute('select count(*)::int as n from partners')).toEqual(before);
  });

  it('only a platform admin registers partners', async () => {
    const partner = await aPartner(gw);
    const res = await gw.gql(REGISTER, { input: { name: 'X', tenantId: 'x-2', type: 'DIRECT_BILL' } }, await aPartnerToken(partner, Role.ADMIN));
    expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('without a token the API answers UNAUTHENTICATED', async () => {
    const res = await gw.gql('{ viewer { userId } }');
    expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it("a partner user sees itself and its linked partners, never another tenant's partner", async () => {
    const provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
    const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    const stranger = await aPartner(gw);
    await aLink(gw, reseller, provider);
    const token = await aPartnerToken(reseller, Role.VIEWER);

    const own = await gw.gql(PARTNER, { id: reseller.id }, token);
    expect(own.data.partner).toMatchObject({ id: reseller.id, providers: [{ id: provider.id }] });
    const linked = await gw.gql(PARTNER, { id: provider.id }, token);
    expect(linked.data.partner.resellers).toEqual([{ id: reseller.id }]);
    const foreign = await gw.gql(PARTNER, { id: stranger.id }, token);
    expect(foreign.errors).toBeUndefined();
    expect(foreign.data.partner).toBeNull();
  });

  it("a provider's ADMIN links a reseller to itself, not to another provider", async () => {
    const provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
    const other = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
    const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    const token = await aPartnerToken(provider, Role.ADMIN);
    const ok = await gw.gql(LINK, { input: { resellerId: reseller.id, providerId: provider.id } }, token);
    expect(ok.data.linkResellerToProvider.reseller.providers).toEqual([{ id: provider.id }]);
    const foreign = await gw.gql(LINK, { input: { resellerId: reseller.id, providerId: other.id } }, token);
    expect(foreign.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('a token naming a partner that does not exist is UNAUTHENTICATED', async () => {
    const ghost = { id: '00000000-0000-4000-8000-000000000000', name: 'ghost' } as never;
    const res = await gw.gql('{ viewer { userId } }', {}, await aPartnerToken(ghost, Role.ADMIN));
    expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('viewer answers from the token and records the user', async () => {
    const partner = await aPartner(gw);
    await aCustomer(gw, { partners: [{ partner }] });
    const res = await gw.gql('{ viewer { userId displayName roles partner { id type } } }', {}, await aPartnerToken(partner, Role.AGENT, 'u-1'));
    expect(res.data.viewer).toEqual({ userId: 'u-1', displayName: `${partner.name} AGENT`, roles: ['AGENT'], partner: { id: partner.id, type: 'DIRECT_BILL' } });
    const rows = await gw.orm.em.getConnection().execute('select display_name from users where id = ?', ['u-1']);
    expect(rows).toEqual([{ display_name: `${partner.name} AGENT` }]);
  });
});
