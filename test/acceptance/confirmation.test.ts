import { aCustomer, aLink, anAgreement, aPartner, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import { CloudInstance } from '../../src/customers/customer.enums';
import { AgreementType } from '../../src/agreements/agreement.enums';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { CONFIRM, CUSTOMER, contact, tomorrow, yesterday } from './ops';

/** DESIGN.md section 4: who confirms, superseding, validation. */

let gw: TestGateway;
let direct: Partner;
let provider: Partner;
let reseller: Partner;
let mca: AgreementTemplate;

beforeAll(async () => {
  gw = await startGateway();
  direct = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  mca = await anAgreement(gw, { versionRank: 1, effectiveFrom: '2019-01-01' });
});
afterAll(() => gw?.stop());

const input = (customerId: string, over: Record<string, unknown> = {}) => ({ customerId, templateId: mca.templateId, dateAgreed: yesterday(), contact, ...over });

describe('who may confirm', () => {
  it('a direct-bill partner confirms for its own customer', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    const res = await gw.gql(CONFIRM, { input: input(customer.id, { onBehalfOf: ' alice@partner ', channel: 'DASHBOARD' }) }, await aPartnerToken(direct));
    expect(res.errors).toBeUndefined();
    expect(res.data.confirmCustomerAcceptance).toEqual({
      acceptance: {
        id: expect.any(String),
        status: 'ACTIVE',
        dateAgreed: yesterday(),
        channel: 'DASHBOARD',
        onBehalfOf: 'alice@partner',
        agreement: { templateId: mca.templateId, version: 'v1' },
        contact,
      },
      superseded: null,
    });
  });

  it("the indirect provider confirms for its resellers' customers", async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
    const res = await gw.gql(CONFIRM, { input: input(customer.id) }, await aPartnerToken(provider, Role.ADMIN));
    expect(res.errors).toBeUndefined();
    expect(res.data.confirmCustomerAcceptance.acceptance.status).toBe('ACTIVE');
  });

  it('a reseller cannot confirm, whatever ids it sends: FORBIDDEN', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
    const token = await aPartnerToken(reseller, Role.ADMIN);
    for (const partnerId of [undefined, provider.id, reseller.id, direct.id]) {
      const res = await gw.gql(CONFIRM, { input: input(customer.id, { partnerId }) }, token);
      expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    const view = await gw.gql(CUSTOMER, { id: customer.id, partnerId: provider.id }, await aPartnerToken(provider));
    expect(view.data.customer.acceptanceHistory).toEqual([]);
  });

  it('VIEWER and ANALYST may read but never confirm: FORBIDDEN', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    for (const token of [await aPartnerToken(direct, Role.VIEWER), await analystToken()]) {
      const res = await gw.gql(CONFIRM, { input: input(customer.id, { partnerId: direct.id }) }, token);
      expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
  });

  it("another tenant's customer is NOT_FOUND", async () => {
    const stranger = await aPartner(gw);
    const customer = await aCustomer(gw, { partners: [{ partner: stranger }] });
    const res = await gw.gql(CONFIRM, { input: input(customer.id) }, await aPartnerToken(direct));
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'customerId' });
  });

  it('a partner cannot confirm in the name of another partner: NOT_FOUND', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }, { partner: provider }] });
    const res = await gw.gql(CONFIRM, { input: input(customer.id, { partnerId: provider.id }) }, await aPartnerToken(direct));
    expect(res.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('a platform admin confirms for a named billing partner, and must name one', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    const admin = await platformAdminToken();
    const missing = await gw.gql(CONFIRM, { input: input(customer.id) }, admin);
    expect(missing.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'partnerId' });
    const notBilling = await gw.gql(CONFIRM, { input: input(customer.id, { partnerId: provider.id }) }, admin);
    expect(notBilling.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const ok = await gw.gql(CONFIRM, { input: input(customer.id, { partnerId: direct.id }) }, admin);
    expect(ok.data.confirmCustomerAcceptance.acceptance.status).toBe('ACTIVE');
  });

  it('each partner confirms for itself: one confirmation leaves the other partner MISSING', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }, { partner: provider }] });
    await gw.gql(CONFIRM, { input: input(customer.id) }, await aPartnerToken(direct));
    const admin = await platformAdminToken();
    const forDirect = await gw.gql(CUSTOMER, { id: customer.id, partnerId: direct.id }, admin);
    const forProvider = await gw.gql(CUSTOMER, { id: customer.id, partnerId: provider.id }, admin);
    expect(forDirect.data.customer.complianceStatus).toBe('CONFIRMED');
    expect(forProvider.data.customer.complianceStatus).toBe('MISSING');
    expect(forProvider.data.customer.acceptance).toBeNull();
  });
});

describe('one active confirmation per customer and partner', () => {
  it('a new confirmation supersedes the active one, which stays in acceptanceHistory with supersededAt', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    const token = await aPartnerToken(direct);
    const first = await gw.gql(CONFIRM, { input: input(customer.id) }, token);
    const second = await gw.gql(CONFIRM, { input: input(customer.id, { contact: { ...contact, firstName: 'Grace' } }) }, token);
    const firstId = first.data.confirmCustomerAcceptance.acceptance.id;
    expect(second.data.confirmCustomerAcceptance.superseded).toEqual({ id: firstId, status: 'SUPERSEDED', supersededAt: expect.any(String) });

    const view = await gw.gql(CUSTOMER, { id: customer.id }, token);
    const c = view.data.customer;
    expect(c.acceptance).toMatchObject({ id: second.data.confirmCustomerAcceptance.acceptance.id, status: 'ACTIVE', contact: { firstName: 'Grace' } });
    expect(c.acceptance.partner).toEqual({ id: direct.id });
    expect(c.acceptance.confirmedBy.id).toBe(`agent-${direct.id}`);
    expect(c.acceptanceHistory.map((a: any) => a.status)).toEqual(['ACTIVE', 'SUPERSEDED']);
    expect(c.acceptanceHistory[1]).toMatchObject({ id: firstId, supersededAt: expect.any(String) });
  });

  it('twenty concurrent confirmations end with exactly one active; every other is superseded or a clean CONFLICT', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    const token = await aPartnerToken(direct);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => gw.gql(CONFIRM, { input: input(customer.id, { onBehalfOf: `agent ${i}` }) }, token)),
    );
    for (const r of results) {
      expect(r.status).toBe(200);
      if (r.errors) expect(r.errors[0].extensions?.code).toBe('CONFLICT');
    }
    const recorded = results.filter((r) => !r.errors).map((r) => r.data.confirmCustomerAcceptance.acceptance.id);
    expect(recorded.length).toBeGreaterThan(0);
    const rows = await gw.orm.em
      .getConnection()
      .execute<{ id: string; status: string }[]>('select id, status from acceptances where customer_id = ?', [customer.id]);
    expect(rows.filter((r) => r.status === 'ACTIVE')).toHaveLength(1);
    expect(rows.filter((r) => r.status === 'SUPERSEDED')).toHaveLength(recorded.length - 1);
    expect(rows.map((r) => r.id).sort()).toEqual([...recorded].sort());
  });
});

describe('validation of a confirmation', () => {
  let customerId: string;
  let token: string;
  beforeAll(async () => {
    customerId = (await aCustomer(gw, { country: 'DE', partners: [{ partner: direct }] })).id;
    token = await aPartnerToken(direct);
  });

  const rejects = async (over: Record<string, unknown>, code: string, field?: string) => {
    const res = await gw.gql(CONFIRM, { input: input(customerId, over) }, token);
    expect(res.errors?.[0].extensions).toMatchObject({ code, ...(field ? { field } : {}) });
    const rows = await gw.orm.em.getConnection().execute('select 1 from acceptances where customer_id = ?', [customerId]);
    expect(rows).toHaveLength(0);
  };

  it('the email must be of valid format', () => rejects({ contact: { ...contact, email: 'not-an-email' } }, 'BAD_USER_INPUT', 'contact.email'));
  it('names are required', () => rejects({ contact: { ...contact, lastName: '   ' } }, 'BAD_USER_INPUT', 'contact.lastName'));
  it('the phone, when given, must be a valid number', () => rejects({ contact: { ...contact, phoneNumber: '+1555' } }, 'BAD_USER_INPUT', 'contact.phoneNumber'));
  it('the acceptance date may not lie in the future', () => rejects({ dateAgreed: tomorrow() }, 'BAD_USER_INPUT', 'dateAgreed'));
  it("the acceptance date may not lie before the template's effectiveFrom", () => rejects({ dateAgreed: '2018-12-31' }, 'BAD_USER_INPUT', 'dateAgreed'));
  it('the template must exist', () => rejects({ templateId: 'no-such-template' }, 'BAD_USER_INPUT', 'templateId'));

  it("either agreement type may be confirmed: a Customer Agreement confirmation supersedes a Cloud Agreement one, history kept, and its type is its template's", async () => {
    const mcus = await anAgreement(gw, { type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-01-01' });
    const customer = await aCustomer(gw, { country: 'DE', partners: [{ partner: direct }] });
    const first = await gw.gql(CONFIRM, { input: input(customer.id) }, token);
    expect(first.errors).toBeUndefined();
    const second = await gw.gql(CONFIRM, { input: input(customer.id, { templateId: mcus.templateId }) }, token);
    expect(second.errors).toBeUndefined();
    expect(second.data.confirmCustomerAcceptance.superseded).toMatchObject({ id: first.data.confirmCustomerAcceptance.acceptance.id, status: 'SUPERSEDED' });
    const types = await gw.orm.em.fork().getConnection().execute(
      `select a.status, t.type from acceptances a join agreement_templates t on t.template_id = a.template_id where a.customer_id = ? order by a.recorded_at`,
      [customer.id],
    );
    expect(types).toEqual([{ status: 'SUPERSEDED', type: 'MICROSOFT_CLOUD_AGREEMENT' }, { status: 'ACTIVE', type: 'MICROSOFT_CUSTOMER_AGREEMENT' }]);
  });

  it("the template must be of the customer's country or GLOBAL", async () => {
    const french = await anAgreement(gw, { country: 'FR', effectiveFrom: '2019-01-01' });
    await rejects({ templateId: french.templateId }, 'BAD_USER_INPUT', 'templateId');
    const german = await anAgreement(gw, { country: 'DE', effectiveFrom: '2019-01-01' });
    const ok = await gw.gql(CONFIRM, { input: input(customerId, { templateId: german.templateId }) }, token);
    expect(ok.data.confirmCustomerAcceptance.acceptance.agreement.templateId).toBe(german.templateId);
  });

  it('names are trimmed', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    const res = await gw.gql(CONFIRM, { input: input(customer.id, { contact: { ...contact, firstName: '  Ada ', phoneNumber: null } }) }, token);
    expect(res.data.confirmCustomerAcceptance.acceptance.contact).toEqual({ ...contact, firstName: 'Ada', phoneNumber: null });
  });

  it('national-cloud customers: confirmation refused with NOT_APPLICABLE', async () => {
    for (const cloud of [CloudInstance.US_GOVERNMENT, CloudInstance.GERMANY, CloudInstance.CHINA]) {
      const customer = await aCustomer(gw, { cloud, partners: [{ partner: direct }] });
      const res = await gw.gql(CONFIRM, { input: input(customer.id) }, token);
      expect(res.errors?.[0].extensions?.code).toBe('NOT_APPLICABLE');
      const view = await gw.gql(CUSTOMER, { id: customer.id }, token);
      expect(view.data.customer.complianceStatus).toBe('NOT_APPLICABLE');
    }
  });
});
