import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Gateway } from '../src/gateway';
import { Partner, ResellerLink, User } from '../src/partners/partner.entity';
import { PartnerType, Role } from '../src/partners/partner.enums';
import { Customer, CustomerRelationship } from '../src/customers/customer.entity';
import { CloudInstance } from '../src/customers/customer.enums';
import { AgreementTemplate } from '../src/agreements/agreement.entity';
import { AgreementType, GLOBAL } from '../src/agreements/agreement.enums';
import { tokenFor } from './support/gateway';

/** Fixtures by factory: each test makes what it needs, straight through the ORM. */

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
const em = (gw: Gateway) => gw.orm.em.fork() as EntityManager;

export async function aPartner(gw: Gateway, data: Partial<Pick<Partner, 'name' | 'tenantId' | 'type'>> = {}): Promise<Partner> {
  const e = em(gw);
  const partner = e.create(Partner, {
    name: data.name ?? unique('Partner'),
    tenantId: data.tenantId ?? unique('tenant'),
    type: data.type ?? PartnerType.DIRECT_BILL,
  });
  await e.flush();
  return partner;
}

export async function aLink(gw: Gateway, reseller: Partner, provider: Partner): Promise<void> {
  const e = em(gw);
  e.create(ResellerLink, { reseller: e.getReference(Partner, reseller.id), provider: e.getReference(Partner, provider.id) });
  await e.flush();
}

/** A token for a user of `partner` with `role`; the user record appears when the token is first used. */
export function aPartnerToken(partner: Partner, role: Role = Role.AGENT, sub = `${role.toLowerCase()}-${partner.id}`): Promise<string> {
  return tokenFor({ sub, name: `${partner.name} ${role}`, partnerId: partner.id, roles: [role] });
}

/** A user record, for entities that need one (confirmedBy, placedBy). */
export async function aUser(gw: Gateway, data: { id?: string; partner?: Partner | null; roles?: Role[] } = {}): Promise<User> {
  const e = em(gw);
  const user = e.create(User, {
    id: data.id ?? unique('user'),
    displayName: 'Test User',
    partner: data.partner ? e.getReference(Partner, data.partner.id) : null,
    roles: data.roles ?? [Role.AGENT],
  });
  await e.flush();
  return user;
}

export interface CustomerFixture {
  country?: string;
  cloud?: CloudInstance;
  companyName?: string;
  domain?: string;
  tenantId?: string;
  /** Billing partners, each optionally with resellers. */
  partners?: { partner: Partner; resellers?: Partner[] }[];
}

export async function aCustomer(gw: Gateway, data: CustomerFixture = {}): Promise<Customer> {
  const e = em(gw);
  const customer = e.create(Customer, {
    tenantId: data.tenantId ?? unique('cust'),
    companyName: data.companyName ?? unique('Company'),
    domain: data.domain ?? `${unique('d')}.example`,
    country: data.country ?? 'US',
    cloud: data.cloud ?? CloudInstance.PUBLIC,
    primaryContact: { firstName: 'Jane', lastName: 'Doe', email: 'jane.doe@example.com', phoneNumber: '+14255550100' },
  });
  for (const { partner, resellers = [] } of data.partners ?? []) {
    const rel = e.create(CustomerRelationship, { customer, partner: e.getReference(Partner, partner.id) });
    for (const r of resellers) rel.resellers.add(e.getReference(Partner, r.id));
  }
  await e.flush();
  return customer;
}

export async function anAgreement(
  gw: Gateway,
  data: Partial<Pick<AgreementTemplate, 'templateId' | 'type' | 'version' | 'versionRank' | 'country' | 'language' | 'effectiveFrom' | 'displayUri'>> = {},
): Promise<AgreementTemplate> {
  const e = em(gw);
  const rank = data.versionRank ?? 1;
  const template = e.create(AgreementTemplate, {
    templateId: data.templateId ?? unique('mca'),
    type: data.type ?? AgreementType.MICROSOFT_CLOUD_AGREEMENT,
    version: data.version ?? `v${rank}`,
    versionRank: rank,
    country: data.country ?? GLOBAL,
    language: data.language ?? 'en-US',
    displayUri: data.displayUri ?? 'https://example.com/mca.pdf',
    effectiveFrom: data.effectiveFrom ?? '2018-11-07',
  });
  await e.flush();
  return template;
}
