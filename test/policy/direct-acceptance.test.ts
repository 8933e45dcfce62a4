import { randomUUID } from 'node:crypto';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { PartnerType } from '../../src/auth/roles';
import { CloudInstance } from '../../src/customers/customer.enums';
import type { Partner } from '../../src/partners/partner.entity';
import { aCustomer, anAgreement, aPartner, aPartnerToken } from '../factories';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';

/** The customer's direct acceptance (DESIGN.md section 10), under today's default rules. */

let gw: TestGateway;
let a: Partner;
let b: Partner;
beforeAll(async () => {
  gw = await startGateway({}, undefined, { foundingRules: false });
  a = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  b = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  await anAgreement(gw, { country: 'DK', type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-10-01' });
});
afterAll(() => gw?.stop());

const RECORD = `mutation RecordDirectAcceptance($input: DirectAcceptanceInput!) {
  recordDirectAcceptance(input: $input) { customer { id directAcceptance { type acceptedOn source } } } }`;
const PREFLIGHT = `query ($input: TransactionInput!) { preflightTransaction(input: $input) { allowed blockReasons requiredAgreement { type } } }`;

const preflight = async (customerId: string, partner: Partner) =>
  (await gw.gql(PREFLIGHT, { input: { customerId, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: randomUUID() } }, await aPartnerToken(partner))).data
    .preflightTransaction;

describe('direct acceptance', () => {
  it("a direct acceptance satisfies every partner's transactions, and shows on the customer", async () => {
    const customer = await aCustomer(gw, { country: 'DK', partners: [{ partner: a }, { partner: b }] });
    expect(await preflight(customer.id, a)).toMatchObject({ allowed: false, blockReasons: ['ACCEPTANCE_NOT_CONFIRMED'] });
    const res = await gw.gql(RECORD, { input: { customerId: customer.id, acceptedOn: '2024-03-01' } }, await platformAdminToken());
    expect(res.errors).toBeUndefined();
    expect(res.data.recordDirectAcceptance.customer.directAcceptance).toEqual({ type: 'MICROSOFT_CUSTOMER_AGREEMENT', acceptedOn: '2024-03-01', source: 'PLATFORM_ADMIN' });
    expect(await preflight(customer.id, a)).toMatchObject({ allowed: true, blockReasons: [], requiredAgreement: { type: 'MICROSOFT_CUSTOMER_AGREEMENT' } });
    expect(await preflight(customer.id, b)).toMatchObject({ allowed: true, blockReasons: [] });
  });

  it("the customer's audit trail shows the direct acceptance in every partner's trail of that customer", async () => {
    const customer = await aCustomer(gw, { country: 'DK', partners: [{ partner: a }, { partner: b }] });
    const TRAIL = `query ($partnerId: ID) { customers(first: 100) { edges { node { id auditTrail(partnerId: $partnerId) { at event note actor { id } acceptance { id } partner { id } } } } } }`;
    const trailOf = async (partner: Partner) => {
      const res = await gw.gql(TRAIL, {}, await aPartnerToken(partner));
      expect(res.errors).toBeUndefined();
      return res.data.customers.edges.find((e: any) => e.node.id === customer.id).node.auditTrail;
    };
    expect(await trailOf(a)).toEqual([]);
    await gw.gql(RECORD, { input: { customerId: customer.id, acceptedOn: '2024-03-01' } }, await platformAdminToken());
    for (const partner of [a, b]) {
      expect(await trailOf(partner)).toEqual([
        { at: '2024-03-01T00:00:00.000Z', event: 'DIRECT_ACCEPTANCE', note: 'MICROSOFT_CUSTOMER_AGREEMENT, learned from PLATFORM_ADMIN', actor: null, acceptance: null, partner: { id: partner.id } },
      ]);
    }
    // A platform admin without a partner argument sees it in each billing partner's trail.
    const all = await gw.gql(`query ($id: ID!) { customer(id: $id) { auditTrail { event partner { id } } } }`, { id: customer.id }, await platformAdminToken());
    expect(all.errors).toBeUndefined();
    expect(all.data.customer.auditTrail.map((e: any) => e.partner.id).sort()).toEqual([a.id, b.id].sort());
  });

  it('a direct acceptance dated before 2023-04-01 is REACCEPTANCE_REQUIRED for a new purchase', async () => {
    const customer = await aCustomer(gw, { country: 'DK', partners: [{ partner: a }] });
    await gw.gql(RECORD, { input: { customerId: customer.id, acceptedOn: '2022-03-01' } }, await platformAdminToken());
    expect(await preflight(customer.id, a)).toMatchObject({ allowed: false, blockReasons: ['REACCEPTANCE_REQUIRED'] });
  });

  it('bad input: a future date is BAD_USER_INPUT on acceptedOn, an unknown customer NOT_FOUND, a national cloud NOT_APPLICABLE; nothing is written', async () => {
    const customer = await aCustomer(gw, { country: 'DK', partners: [{ partner: a }] });
    const token = await platformAdminToken();
    const future = await gw.gql(RECORD, { input: { customerId: customer.id, acceptedOn: '2999-01-01' } }, token);
    expect(future.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'acceptedOn' });
    const missing = await gw.gql(RECORD, { input: { customerId: randomUUID(), acceptedOn: '2024-01-01' } }, token);
    expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const national = await aCustomer(gw, { country: 'DE', cloud: CloudInstance.GERMANY, partners: [{ partner: a }] });
    const refused = await gw.gql(RECORD, { input: { customerId: national.id, acceptedOn: '2024-01-01' } }, token);
    expect(refused.errors?.[0].extensions?.code).toBe('NOT_APPLICABLE');
    const rows = await gw.orm.em.getConnection().execute('select count(*)::int as n from customers where direct_acceptance_type is not null and id in (?, ?)', [customer.id, national.id]);
    expect(rows[0].n).toBe(0);
  });
});
