import { aCustomer, aLink, anAgreement, aPartner, aPartnerToken } from '../factories';
import type { TestGateway } from '../support/gateway';
import { CONFIRM, CORRECT, REVIEW, SUBMIT, WITHDRAW, contact } from '../acceptance/ops';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';

/** The contract's AcceptanceAudit query. */
export const ACCEPTANCE_AUDIT = `query AcceptanceAudit($customerId: ID!, $partnerId: ID) {
  customer(id: $customerId) {
    id
    auditTrail(partnerId: $partnerId) {
      at event actor { id displayName } acceptance { id } field oldValue newValue note
    }
  }
}`;

export interface AuditWorld {
  provider: Partner;
  reseller: Partner;
  other: Partner;
  customer: Customer;
  /** A second customer of the provider, with a shorter story. */
  second: Customer;
  /** Users (token subjects) by role in the story. */
  users: { resellerAgent: string; providerAgent: string; providerAdmin: string };
}

/**
 * A customer's whole acceptance story with its provider, through the contract: a
 * reseller submits, the provider rejects with a note, the reseller submits again,
 * the provider approves (a confirmation), confirms again itself (superseding it),
 * corrects the contact, and withdraws.
 */
export async function buildStory(gw: TestGateway): Promise<AuditWorld> {
  const provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  const other = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  await aLink(gw, reseller, provider);
  const template = await anAgreement(gw, { country: 'GLOBAL', versionRank: 1, effectiveFrom: '2018-01-01' });
  const customer = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }, { partner: other }] });
  const second = await aCustomer(gw, { partners: [{ partner: provider }] });
  const resellerAgent = await aPartnerToken(reseller, Role.AGENT);
  const providerAgent = await aPartnerToken(provider, Role.AGENT);
  const providerAdmin = await aPartnerToken(provider, Role.ADMIN);
  const send = async (query: string, input: Record<string, unknown>, token: string) => {
    const res = await gw.gql(query, { input }, token);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data;
  };
  const details = { templateId: template.templateId, dateAgreed: '2024-05-02', contact };

  const s1 = await send(SUBMIT, { customerId: customer.id, providerId: provider.id, ...details }, resellerAgent);
  await send(REVIEW, { submissionId: s1.submitAcceptanceToProvider.submission.id, decision: 'REJECT', note: 'The phone number is the reception desk' }, providerAgent);
  const s2 = await send(SUBMIT, { customerId: customer.id, providerId: provider.id, ...details, contact: { ...contact, phoneNumber: '+14255550199' } }, resellerAgent);
  await send(REVIEW, { submissionId: s2.submitAcceptanceToProvider.submission.id, decision: 'APPROVE' }, providerAgent);
  const c = await send(CONFIRM, { customerId: customer.id, templateId: template.templateId, dateAgreed: '2024-06-01', contact, onBehalfOf: 'j.smith@provider.example' }, providerAdmin);
  await send(CORRECT, { acceptanceId: c.confirmCustomerAcceptance.acceptance.id, contact: { ...contact, lastName: 'King', email: 'ada.king@example.com' } }, providerAgent);
  await send(WITHDRAW, { customerId: customer.id, reason: 'The customer asked to withdraw' }, providerAdmin);
  // The other partner's own acceptance is never part of the provider's trail.
  await send(CONFIRM, { customerId: customer.id, ...details }, await aPartnerToken(other, Role.AGENT));
  await send(CONFIRM, { customerId: second.id, ...details }, providerAgent);

  const sub = (partner: Partner, role: Role) => `${role.toLowerCase()}-${partner.id}`;
  return {
    provider,
    reseller,
    other,
    customer,
    second,
    users: { resellerAgent: sub(reseller, Role.AGENT), providerAgent: sub(provider, Role.AGENT), providerAdmin: sub(provider, Role.ADMIN) },
  };
}
