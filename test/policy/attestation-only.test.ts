import { randomUUID } from 'node:crypto';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { PartnerType, Role } from '../../src/auth/roles';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import type { Partner } from '../../src/partners/partner.entity';
import { aCustomer, aLink, anAgreement, aPartner, aPartnerToken } from '../factories';
import { CONFIRM, REVIEW, SUBMIT, contact, yesterday } from '../acceptance/ops';
import { startGateway, type TestGateway } from '../support/gateway';

/**
 * Attestation-only confirmations (issue 18): under today's default rule (2026-01-05,
 * attestationRequired), partner confirmations, reseller approvals and imported lines dated
 * from that day are refused with CONFLICT; earlier acceptances may still be recorded.
 */

let gw: TestGateway;
let direct: Partner;
let provider: Partner;
let reseller: Partner;
let template: AgreementTemplate;
beforeAll(async () => {
  gw = await startGateway({}, undefined, { foundingRules: false });
  direct = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  template = await anAgreement(gw, { country: 'PT', type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-10-01' });
});
afterAll(() => gw?.stop());

const count = async (partner: Partner) =>
  Number((await gw.orm.em.fork().getConnection().execute('select count(*)::int as n from acceptances where partner_id = ?', [partner.id]))[0].n);

describe('attestation-only confirmations', () => {
  it('confirmCustomerAcceptance dated from the rule\'s effectiveFrom is CONFLICT saying to request an attestation; an earlier date is recorded', async () => {
    const customer = await aCustomer(gw, { country: 'PT', partners: [{ partner: direct }] });
    const token = await aPartnerToken(direct, Role.AGENT);
    const refused = await gw.gql(CONFIRM, { input: { customerId: customer.id, templateId: template.templateId, dateAgreed: yesterday(), contact } }, token);
    expect(refused.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(refused.errors?.[0].message).toMatch(/request an attestation/);
    expect(await count(direct)).toBe(0);
    const earlier = await gw.gql(CONFIRM, { input: { customerId: customer.id, templateId: template.templateId, dateAgreed: '2025-12-01', contact } }, token);
    expect(earlier.errors).toBeUndefined();
    expect(earlier.data.confirmCustomerAcceptance.acceptance).toMatchObject({ status: 'ACTIVE', dateAgreed: '2025-12-01' });
  });

  it("a provider's approval of a reseller's submission dated from then is CONFLICT, and the submission stays pending", async () => {
    const customer = await aCustomer(gw, { country: 'PT', partners: [{ partner: provider, resellers: [reseller] }] });
    const submitted = await gw.gql(SUBMIT, { input: { customerId: customer.id, providerId: provider.id, templateId: template.templateId, dateAgreed: yesterday(), contact } }, await aPartnerToken(reseller, Role.AGENT));
    expect(submitted.errors).toBeUndefined();
    const id = submitted.data.submitAcceptanceToProvider.submission.id;
    const review = await gw.gql(REVIEW, { input: { submissionId: id, decision: 'APPROVE' } }, await aPartnerToken(provider, Role.AGENT));
    expect(review.errors?.[0].extensions?.code).toBe('CONFLICT');
    const status = await gw.orm.em.fork().getConnection().execute('select status from acceptance_submissions where id = ?', [id]);
    expect(status[0].status).toBe('PENDING');
    expect(await count(provider)).toBe(0);
  });

  it('imported lines dated from then are refused with CONFLICT; earlier lines are recorded', async () => {
    const customers = [await aCustomer(gw, { country: 'PT', partners: [{ partner: direct }] }), await aCustomer(gw, { country: 'PT', partners: [{ partner: direct }] })];
    const before = await count(direct);
    const body = [
      'customerTenantId,firstName,lastName,email,phoneNumber,dateAgreed,templateId',
      `${customers[0].tenantId},Ada,Lovelace,ada@example.com,,${yesterday()},${template.templateId}`,
      `${customers[1].tenantId},Ada,Lovelace,ada@example.com,,2025-11-01,${template.templateId}`,
    ].join('\n');
    const res = await fetch(gw.url.replace('/graphql', '/imports/acceptances'), {
      method: 'POST',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${await aPartnerToken(direct, Role.ADMIN)}`, 'idempotency-key': randomUUID() },
      body,
    });
    const result = (await res.json()) as { accepted: number; rejected: number; errors: { line: number; code: string; message: string }[] };
    expect(result).toMatchObject({ accepted: 1, rejected: 1 });
    expect(result.errors[0]).toMatchObject({ line: 2, code: 'CONFLICT' });
    expect(await count(direct)).toBe(before + 1);
  });
});
