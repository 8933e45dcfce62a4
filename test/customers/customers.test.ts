import { aCustomer, aLink, aPartner, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';

const CREATE = `mutation CreateCustomer($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer {
      id tenantId companyName domain country cloud
      primaryContact { firstName lastName email phoneNumber }
      relationships { partner { id } resellers { id } }
    }
  }
}`;
const ADD = `mutation AddCustomerRelationship($input: AddCustomerRelationshipInput!) {
  addCustomerRelationship(input: $input) { customer { id relationships { partner { id } resellers { id } } } }
}`;
const CUSTOMER = `query Customer($id: ID!) {
  customer(id: $id) { id companyName relationships { partner { id name type } resellers { id name } } }
}`;
const CUSTOMERS = `query Customers($filter: CustomerFilter, $first: Int, $after: String) {
  customers(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id companyName domain country } }
  }
}`;

const contact = { firstName: ' Ada ', lastName: ' Lovelace ', email: 'ada@contoso.example', phoneNumber: '+14255550199' };
const input = (data: Record<string, unknown> = {}) => ({
  companyName: 'Contoso Ltd',
  domain: 'contoso.example',
  country: 'us',
  primaryContact: contact,
  ...data,
});

/** Rows of every table a customer creation writes, to prove nothing was half-written. */
async function rowCounts(gw: TestGateway) {
  const [row] = await gw.orm.em.getConnection().execute(`select
    (select count(*)::int from customers) as customers,
    (select count(*)::int from customer_relationships) as relationships,
    (select count(*)::int from customer_relationship_resellers) as resellers`);
  return row;
}

const ids = (list: { id: string }[]) => list.map((x) => x.id).sort();
const rels = (customer: { relationships: { partner: { id: string }; resellers: { id: string }[] }[] }) =>
  customer.relationships.map((r) => ({ partner: r.partner.id, resellers: ids(r.resellers) })).sort((a, b) => a.partner.localeCompare(b.partner));

let gw: TestGateway;
let admin: string;
let direct: Partner;
let provider: Partner;
let provider2: Partner;
let reseller: Partner;
let reseller2: Partner;
let loneReseller: Partner;
let stranger: Partner;

beforeAll(async () => {
  gw = await startGateway();
  admin = await platformAdminToken();
  direct = await aPartner(gw, { name: 'Direct' });
  stranger = await aPartner(gw, { name: 'Stranger' });
  provider = await aPartner(gw, { name: 'Provider', type: PartnerType.INDIRECT_PROVIDER });
  provider2 = await aPartner(gw, { name: 'Provider Two', type: PartnerType.INDIRECT_PROVIDER });
  reseller = await aPartner(gw, { name: 'Reseller A', type: PartnerType.INDIRECT_RESELLER });
  reseller2 = await aPartner(gw, { name: 'Reseller B', type: PartnerType.INDIRECT_RESELLER });
  loneReseller = await aPartner(gw, { name: 'Lone Reseller', type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  await aLink(gw, reseller2, provider);
  await aLink(gw, reseller, provider2);
});
afterAll(() => gw?.stop());

describe('creating customers', () => {
  it('a platform admin creates a customer for any billing partner; input is normalized and the tenant id generated', async () => {
    const res = await gw.gql(CREATE, { input: input({ companyName: '  Contoso Ltd ', domain: 'Contoso.Example', partnerId: direct.id }) }, admin);
    expect(res.errors).toBeUndefined();
    const customer = res.data.createCustomer.customer;
    expect(customer).toMatchObject({
      companyName: 'Contoso Ltd',
      domain: 'contoso.example',
      country: 'US',
      cloud: 'PUBLIC',
      primaryContact: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@contoso.example', phoneNumber: '+14255550199' },
    });
    expect(customer.tenantId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rels(customer)).toEqual([{ partner: direct.id, resellers: [] }]);
  });

  it('a platform admin must name the billing partner', async () => {
    const before = await rowCounts(gw);
    const res = await gw.gql(CREATE, { input: input() }, admin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'partnerId' });
    expect(await rowCounts(gw)).toEqual(before);
  });

  it("a direct-bill partner's ADMIN or AGENT creates customers for its own partner, keeping a given tenant id and cloud", async () => {
    for (const role of [Role.ADMIN, Role.AGENT]) {
      const tenantId = `tenant-${role.toLowerCase()}`;
      const res = await gw.gql(CREATE, { input: input({ tenantId, cloud: 'US_GOVERNMENT' }) }, await aPartnerToken(direct, role));
      expect(res.errors).toBeUndefined();
      expect(res.data.createCustomer.customer).toMatchObject({ tenantId, cloud: 'US_GOVERNMENT' });
      expect(rels(res.data.createCustomer.customer)).toEqual([{ partner: direct.id, resellers: [] }]);
    }
  });

  it("a billing partner naming another partner as billing partner is answered as missing", async () => {
    const before = await rowCounts(gw);
    const res = await gw.gql(CREATE, { input: input({ partnerId: stranger.id }) }, await aPartnerToken(direct, Role.ADMIN));
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'partnerId' });
    expect(await rowCounts(gw)).toEqual(before);
  });

  it("a provider's AGENT creates a customer served by one of its linked resellers", async () => {
    const res = await gw.gql(CREATE, { input: input({ resellerId: reseller.id }) }, await aPartnerToken(provider, Role.AGENT));
    expect(res.errors).toBeUndefined();
    expect(rels(res.data.createCustomer.customer)).toEqual([{ partner: provider.id, resellers: [reseller.id] }]);
  });

  it('a provider naming a reseller not linked to it is answered as missing', async () => {
    const before = await rowCounts(gw);
    const res = await gw.gql(CREATE, { input: input({ resellerId: loneReseller.id }) }, await aPartnerToken(provider, Role.AGENT));
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'resellerId' });
    expect(await rowCounts(gw)).toEqual(before);
  });

  it("the relationship's reseller must be linked to the provider (platform admin: BAD_USER_INPUT on resellerId)", async () => {
    const before = await rowCounts(gw);
    const res = await gw.gql(CREATE, { input: input({ partnerId: provider.id, resellerId: loneReseller.id }) }, admin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'resellerId' });
    const unknown = await gw.gql(CREATE, { input: input({ partnerId: provider.id, resellerId: '7b0c6c5e-0000-4000-8000-000000000000' }) }, admin);
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'resellerId' });
    expect(await rowCounts(gw)).toEqual(before);
  });

  it('a direct-bill partner has no resellers', async () => {
    const before = await rowCounts(gw);
    const res = await gw.gql(CREATE, { input: input({ partnerId: direct.id, resellerId: reseller.id }) }, admin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'resellerId' });
    expect(await rowCounts(gw)).toEqual(before);
  });

  it('a reseller is never a billing partner', async () => {
    const before = await rowCounts(gw);
    const byAdmin = await gw.gql(CREATE, { input: input({ partnerId: reseller.id }) }, admin);
    expect(byAdmin.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'partnerId' });
    const byItself = await gw.gql(CREATE, { input: input({ partnerId: reseller.id }) }, await aPartnerToken(reseller, Role.ADMIN));
    expect(byItself.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'partnerId' });
    expect(await rowCounts(gw)).toEqual(before);
  });

  it('a reseller creates a customer naming its linked provider as billing partner', async () => {
    const token = await aPartnerToken(reseller, Role.AGENT);
    const implicit = await gw.gql(CREATE, { input: input({ partnerId: provider.id }) }, token);
    expect(implicit.errors).toBeUndefined();
    expect(rels(implicit.data.createCustomer.customer)).toEqual([{ partner: provider.id, resellers: [reseller.id] }]);
    const explicit = await gw.gql(CREATE, { input: input({ partnerId: provider2.id, resellerId: reseller.id }) }, await aPartnerToken(reseller, Role.ADMIN));
    expect(rels(explicit.data.createCustomer.customer)).toEqual([{ partner: provider2.id, resellers: [reseller.id] }]);
  });

  it('a reseller must name a provider it is linked to, and only itself as reseller', async () => {
    const token = await aPartnerToken(reseller, Role.AGENT);
    const before = await rowCounts(gw);
    const none = await gw.gql(CREATE, { input: input() }, token);
    expect(none.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'partnerId' });
    const unlinked = await gw.gql(CREATE, { input: input({ partnerId: direct.id }) }, await aPartnerToken(loneReseller, Role.AGENT));
    expect(unlinked.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'partnerId' });
    const otherReseller = await gw.gql(CREATE, { input: input({ partnerId: provider.id, resellerId: reseller2.id }) }, token);
    expect(otherReseller.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'resellerId' });
    expect(await rowCounts(gw)).toEqual(before);
  });

  it('VIEWER and ANALYST may not create customers', async () => {
    const before = await rowCounts(gw);
    for (const token of [await aPartnerToken(direct, Role.VIEWER), await analystToken()]) {
      const res = await gw.gql(CREATE, { input: input({ partnerId: direct.id }) }, token);
      expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    expect(await rowCounts(gw)).toEqual(before);
  });

  it('a duplicate tenant id is BAD_USER_INPUT on tenantId, nothing written', async () => {
    await aCustomer(gw, { tenantId: 'taken-tenant', partners: [{ partner: stranger }] });
    const before = await rowCounts(gw);
    const res = await gw.gql(CREATE, { input: input({ tenantId: ' taken-tenant ' }) }, await aPartnerToken(direct, Role.AGENT));
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tenantId' });
    expect(await rowCounts(gw)).toEqual(before);
  });

  it('under concurrent creations with one tenant id, exactly one customer is created and the others are BAD_USER_INPUT on tenantId', async () => {
    const before = await rowCounts(gw);
    const token = await aPartnerToken(direct, Role.AGENT);
    const results = await Promise.all([1, 2, 3, 4].map(() => gw.gql(CREATE, { input: input({ tenantId: 'raced-tenant' }) }, token)));
    expect(results.filter((r) => !r.errors).length).toBe(1);
    for (const r of results.filter((r) => r.errors)) expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tenantId' });
    expect(await rowCounts(gw)).toEqual({ ...before, customers: before.customers + 1, relationships: before.relationships + 1 });
  });

  it.each([
    ['primaryContact.email', { primaryContact: { ...contact, email: 'not-an-email' } }],
    ['primaryContact.phoneNumber', { primaryContact: { ...contact, phoneNumber: 'call me' } }],
    ['primaryContact.phoneNumber', { primaryContact: { ...contact, phoneNumber: '+10000000000' } }],
    ['primaryContact.firstName', { primaryContact: { ...contact, firstName: '   ' } }],
    ['primaryContact.lastName', { primaryContact: { ...contact, lastName: '' } }],
    ['country', { country: 'XX' }],
    ['country', { country: 'USA' }],
    ['companyName', { companyName: '   ' }],
    ['domain', { domain: 'not a domain' }],
    ['domain', { domain: 'localhost' }],
    ['tenantId', { tenantId: '' }],
    ['tenantId', { tenantId: 'bad tenant id' }],
    ['cloud', { cloud: 'MARS' }],
  ])('bad input is BAD_USER_INPUT on %s (%j), nothing written', async (field, data) => {
    const before = await rowCounts(gw);
    const res = await gw.gql(CREATE, { input: input(data) }, await aPartnerToken(direct, Role.AGENT));
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await rowCounts(gw)).toEqual(before);
  });

  it.each([
    ['an unknown partner', '3f1b2c4d-0000-4000-8000-000000000000'],
    ['a malformed id', 'not-an-id'],
  ])('%s as billing partner is NOT_FOUND on partnerId, nothing written', async (_what, partnerId) => {
    const before = await rowCounts(gw);
    const res = await gw.gql(CREATE, { input: input({ partnerId }) }, admin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'partnerId' });
    expect(await rowCounts(gw)).toEqual(before);
  });
});

describe('reading customers', () => {
  it("another tenant's customer is answered as missing", async () => {
    const theirs = await aCustomer(gw, { partners: [{ partner: stranger }] });
    const token = await aPartnerToken(direct, Role.ADMIN);
    const res = await gw.gql(CUSTOMER, { id: theirs.id }, token);
    expect(res.errors).toBeUndefined();
    expect(res.data.customer).toBeNull();
    const missing = await gw.gql(CUSTOMER, { id: '00000000-0000-4000-8000-000000000001' }, token);
    expect(missing).toEqual({ ...res, data: { customer: null } });
    expect((await gw.gql(CUSTOMER, { id: 'nonsense' }, token)).data.customer).toBeNull();
  });

  it('a partner user sees only customers its partner serves; a provider also those of its resellers', async () => {
    const own = await aCustomer(gw, { companyName: 'Only Mine', partners: [{ partner: stranger }] });
    const viaReseller = await aCustomer(gw, { companyName: 'Via Reseller', partners: [{ partner: provider, resellers: [reseller2] }] });
    const strangerToken = await aPartnerToken(stranger, Role.VIEWER);
    const strangers = await gw.gql(CUSTOMERS, { first: 100 }, strangerToken);
    expect(strangers.data.customers.edges.map((e: any) => e.node.id)).toContain(own.id);
    expect(strangers.data.customers.edges.map((e: any) => e.node.id)).not.toContain(viaReseller.id);

    const providerView = await gw.gql(CUSTOMER, { id: viaReseller.id }, await aPartnerToken(provider, Role.VIEWER));
    expect(providerView.data.customer.id).toBe(viaReseller.id);
    const resellerView = await gw.gql(CUSTOMER, { id: viaReseller.id }, await aPartnerToken(reseller2, Role.VIEWER));
    expect(resellerView.data.customer.id).toBe(viaReseller.id);
    const otherReseller = await gw.gql(CUSTOMER, { id: viaReseller.id }, await aPartnerToken(reseller, Role.VIEWER));
    expect(otherReseller.data.customer).toBeNull();
  });

  it('a partner user sees only relationships involving its own partner; platform roles see all', async () => {
    const shared = await aCustomer(gw, { partners: [{ partner: direct }, { partner: provider, resellers: [reseller, reseller2] }] });
    const view = async (token: string) => rels((await gw.gql(CUSTOMER, { id: shared.id }, token)).data.customer);
    const all = [
      { partner: direct.id, resellers: [] },
      { partner: provider.id, resellers: ids([reseller, reseller2]) },
    ].sort((a, b) => a.partner.localeCompare(b.partner));
    expect(await view(admin)).toEqual(all);
    expect(await view(await analystToken())).toEqual(all);
    expect(await view(await aPartnerToken(direct, Role.VIEWER))).toEqual([{ partner: direct.id, resellers: [] }]);
    expect(await view(await aPartnerToken(provider, Role.VIEWER))).toEqual([{ partner: provider.id, resellers: ids([reseller, reseller2]) }]);
    // A reseller sees its provider's relationship, naming only itself: the other reseller is another tenant.
    expect(await view(await aPartnerToken(reseller, Role.VIEWER))).toEqual([{ partner: provider.id, resellers: [reseller.id] }]);
  });

  it('relationships name their partners', async () => {
    const c = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
    const res = await gw.gql(CUSTOMER, { id: c.id }, admin);
    expect(res.data.customer.relationships).toEqual([
      { partner: { id: provider.id, name: 'Provider', type: 'INDIRECT_PROVIDER' }, resellers: [{ id: reseller.id, name: 'Reseller A' }] },
    ]);
  });
});

describe('the customer list', () => {
  let lister: Partner;
  let token: string;
  beforeAll(async () => {
    lister = await aPartner(gw, { name: 'Lister', type: PartnerType.INDIRECT_PROVIDER });
    const listed = await aPartner(gw, { name: 'Listed Reseller', type: PartnerType.INDIRECT_RESELLER });
    await aLink(gw, listed, lister);
    token = await aPartnerToken(lister, Role.VIEWER);
    await aCustomer(gw, { companyName: 'Alpha Inc', domain: 'alpha.example', country: 'US', partners: [{ partner: lister }] });
    await aCustomer(gw, { companyName: 'Beta GmbH', domain: 'beta.example', country: 'DE', partners: [{ partner: lister, resellers: [listed] }] });
    await aCustomer(gw, { companyName: 'Gamma 100% Ltd', domain: 'gamma.example', country: 'GB', partners: [{ partner: lister }] });
    await aCustomer(gw, { companyName: 'Delta SA', domain: 'alpha.de', country: 'FR', partners: [{ partner: lister, resellers: [listed] }] });
    await aCustomer(gw, { companyName: 'epsilon', domain: 'epsilon.example', country: 'US', partners: [{ partner: lister }] });
  });

  const names = (res: any) => res.data.customers.edges.map((e: any) => e.node.companyName);

  it('pages by company name with Relay cursors and a total count', async () => {
    const first = await gw.gql(CUSTOMERS, { first: 2 }, token);
    expect(first.data.customers.totalCount).toBe(5);
    expect(names(first)).toEqual(['Alpha Inc', 'Beta GmbH']);
    expect(first.data.customers.pageInfo.hasNextPage).toBe(true);
    const second = await gw.gql(CUSTOMERS, { first: 2, after: first.data.customers.pageInfo.endCursor }, token);
    expect(names(second)).toEqual(['Delta SA', 'epsilon']);
    const third = await gw.gql(CUSTOMERS, { first: 2, after: second.data.customers.pageInfo.endCursor }, token);
    expect(names(third)).toEqual(['Gamma 100% Ltd']);
    expect(third.data.customers.pageInfo).toEqual({ hasNextPage: false, endCursor: third.data.customers.edges[0].cursor });
  });

  it('a page after the last customer is empty and still counts every customer', async () => {
    const last = await gw.gql(CUSTOMERS, { first: 5 }, token);
    const after = await gw.gql(CUSTOMERS, { first: 2, after: last.data.customers.pageInfo.endCursor }, token);
    expect(names(after)).toEqual([]);
    expect(after.data.customers.totalCount).toBe(5);
    expect(after.data.customers.pageInfo).toEqual({ hasNextPage: false, endCursor: null });
  });

  it('filters by country (any case)', async () => {
    expect(names(await gw.gql(CUSTOMERS, { filter: { country: 'us' } }, token))).toEqual(['Alpha Inc', 'epsilon']);
  });

  it('pages by company name ignoring case', async () => {
    // Byte order would put 'epsilon' after 'Gamma 100% Ltd'.
    expect(names(await gw.gql(CUSTOMERS, {}, token))).toEqual(['Alpha Inc', 'Beta GmbH', 'Delta SA', 'epsilon', 'Gamma 100% Ltd']);
  });

  it('searches the start of the company name, or the domain as a whole or by its first labels, ignoring case, with wildcards taken literally', async () => {
    const search = async (text: string) => names(await gw.gql(CUSTOMERS, { filter: { search: text } }, token));
    // Alpha Inc by its name, Delta SA by its domain alpha.de.
    expect(await search('ALPHA')).toEqual(['Alpha Inc', 'Delta SA']);
    expect(await search('alpha.DE')).toEqual(['Delta SA']);
    expect(await search('  alp ')).toEqual(['Alpha Inc']);
    expect(await search('EPS')).toEqual(['epsilon']);
    expect(await search('gamma 100% l')).toEqual(['Gamma 100% Ltd']);
    // Not the middle of a name or domain, nor a part of a domain label.
    expect(await search('lpha')).toEqual([]);
    expect(await search('Inc')).toEqual([]);
    expect(await search('example')).toEqual([]);
    expect(await search('alpha.d')).toEqual([]);
    // Wildcards are themselves.
    expect(await search('%')).toEqual([]);
    expect(await search('gamma 100_')).toEqual([]);
    expect(await search('_amma')).toEqual([]);
  });

  it('filters by a partner serving the customer, as billing partner or reseller', async () => {
    const [{ id: listedId }] = await gw.orm.em.getConnection().execute(`select id from partners where name = 'Listed Reseller'`);
    const res = await gw.gql(CUSTOMERS, { filter: { partnerId: listedId } }, token);
    expect(names(res)).toEqual(['Beta GmbH', 'Delta SA']);
    expect(res.data.customers.totalCount).toBe(2);
    const foreign = await gw.gql(CUSTOMERS, { filter: { partnerId: stranger.id } }, token);
    expect(foreign.data.customers.totalCount).toBe(0);
    const malformed = await gw.gql(CUSTOMERS, { filter: { partnerId: 'nope' } }, token);
    expect(malformed.data.customers.totalCount).toBe(0);
  });

  it('combines filters', async () => {
    expect(names(await gw.gql(CUSTOMERS, { filter: { country: 'FR', search: 'delta' } }, token))).toEqual(['Delta SA']);
    expect(names(await gw.gql(CUSTOMERS, { filter: { country: 'DE', search: 'delta' } }, token))).toEqual([]);
  });

  it('a bad page size, cursor or country filter is BAD_USER_INPUT on that field', async () => {
    expect((await gw.gql(CUSTOMERS, { first: 0 }, token)).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    expect((await gw.gql(CUSTOMERS, { first: 101 }, token)).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    expect((await gw.gql(CUSTOMERS, { after: 'garbage' }, token)).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    expect((await gw.gql(CUSTOMERS, { filter: { country: 'XX' } }, token)).errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'filter.country',
    });
  });

  it('without a token the list is UNAUTHENTICATED', async () => {
    expect((await gw.gql(CUSTOMERS, {})).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('adding relationships', () => {
  it("a billing partner adds its own linked resellers to its customers' relationships, without duplicates", async () => {
    const c = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
    const token = await aPartnerToken(provider, Role.AGENT);
    const res = await gw.gql(ADD, { input: { customerId: c.id, partnerId: provider.id, resellerId: reseller2.id } }, token);
    expect(res.errors).toBeUndefined();
    expect(rels(res.data.addCustomerRelationship.customer)).toEqual([{ partner: provider.id, resellers: ids([reseller, reseller2]) }]);
    const before = await rowCounts(gw);
    const again = await gw.gql(ADD, { input: { customerId: c.id, partnerId: provider.id, resellerId: reseller2.id } }, token);
    expect(rels(again.data.addCustomerRelationship.customer)).toEqual([{ partner: provider.id, resellers: ids([reseller, reseller2]) }]);
    expect(await rowCounts(gw)).toEqual(before);
  });

  it('concurrent identical additions end with one relationship and one reseller entry, without errors', async () => {
    const c = await aCustomer(gw, { partners: [{ partner: direct }] });
    const before = await rowCounts(gw);
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => gw.gql(ADD, { input: { customerId: c.id, partnerId: provider.id, resellerId: reseller.id } }, admin)),
    );
    for (const r of results) expect(r.errors).toBeUndefined();
    expect(await rowCounts(gw)).toEqual({ ...before, relationships: before.relationships + 1, resellers: before.resellers + 1 });
  });

  it('a billing partner cannot add a reseller that is not linked to it, nor act for another partner', async () => {
    const c = await aCustomer(gw, { partners: [{ partner: provider }] });
    const token = await aPartnerToken(provider, Role.ADMIN);
    const before = await rowCounts(gw);
    const unlinked = await gw.gql(ADD, { input: { customerId: c.id, partnerId: provider.id, resellerId: loneReseller.id } }, token);
    expect(unlinked.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'resellerId' });
    const other = await gw.gql(ADD, { input: { customerId: c.id, partnerId: direct.id } }, token);
    expect(other.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'partnerId' });
    expect(await rowCounts(gw)).toEqual(before);
  });

  it('a platform admin adds a new billing partner to a customer', async () => {
    const c = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
    const res = await gw.gql(ADD, { input: { customerId: c.id, partnerId: direct.id } }, admin);
    expect(res.errors).toBeUndefined();
    expect(rels(res.data.addCustomerRelationship.customer)).toEqual(
      [
        { partner: direct.id, resellers: [] },
        { partner: provider.id, resellers: [reseller.id] },
      ].sort((a, b) => a.partner.localeCompare(b.partner)),
    );
    const withReseller = await gw.gql(ADD, { input: { customerId: c.id, partnerId: provider2.id, resellerId: reseller.id } }, admin);
    expect(rels(withReseller.data.addCustomerRelationship.customer)).toContainEqual({ partner: provider2.id, resellers: [reseller.id] });
  });

  it('a reseller opens a relationship for its customer with another provider it is linked to, naming itself', async () => {
    const c = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
    const res = await gw.gql(ADD, { input: { customerId: c.id, partnerId: provider2.id } }, await aPartnerToken(reseller, Role.AGENT));
    expect(res.errors).toBeUndefined();
    expect(rels(res.data.addCustomerRelationship.customer)).toEqual(
      [
        { partner: provider.id, resellers: [reseller.id] },
        { partner: provider2.id, resellers: [reseller.id] },
      ].sort((a, b) => a.partner.localeCompare(b.partner)),
    );
  });

  it("a reseller cannot add itself to a provider's existing relationship: that is the provider's to do", async () => {
    const c = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }, { partner: provider2 }] });
    const before = await rowCounts(gw);
    const res = await gw.gql(ADD, { input: { customerId: c.id, partnerId: provider2.id } }, await aPartnerToken(reseller, Role.AGENT));
    expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(await rowCounts(gw)).toEqual(before);
  });

  it("another tenant's customer is answered as missing, also when adding a relationship", async () => {
    const theirs = await aCustomer(gw, { partners: [{ partner: stranger }] });
    const before = await rowCounts(gw);
    const res = await gw.gql(ADD, { input: { customerId: theirs.id, partnerId: direct.id } }, await aPartnerToken(direct, Role.ADMIN));
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'customerId' });
    const unknown = await gw.gql(ADD, { input: { customerId: '00000000-0000-4000-8000-000000000002', partnerId: direct.id } }, admin);
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'customerId' });
    const unknownPartner = await gw.gql(ADD, { input: { customerId: theirs.id, partnerId: '00000000-0000-4000-8000-000000000003' } }, admin);
    expect(unknownPartner.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'partnerId' });
    expect(await rowCounts(gw)).toEqual(before);
  });

  it('VIEWER and ANALYST may not add relationships', async () => {
    const c = await aCustomer(gw, { partners: [{ partner: provider }] });
    for (const token of [await aPartnerToken(provider, Role.VIEWER), await analystToken()]) {
      const res = await gw.gql(ADD, { input: { customerId: c.id, partnerId: provider.id, resellerId: reseller.id } }, token);
      expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
  });
});
