import { registerEnumType } from 'type-graphql';

export enum PartnerType {
  DIRECT_BILL = 'DIRECT_BILL',
  INDIRECT_PROVIDER = 'INDIRECT_PROVIDER',
  INDIRECT_RESELLER = 'INDIRECT_RESELLER',
}
registerEnumType(PartnerType, { name: 'PartnerType', description: 'How a partner does CSP business' });

/** Roles carried in the token: two platform roles, three partner roles. */
export enum Role {
  PLATFORM_ADMIN = 'PLATFORM_ADMIN',
  ANALYST = 'ANALYST',
  ADMIN = 'ADMIN',
  AGENT = 'AGENT',
  VIEWER = 'VIEWER',
}
registerEnumType(Role, { name: 'Role', description: 'A role from the identity provider' });

export const PARTNER_ROLES: readonly Role[] = [Role.ADMIN, Role.AGENT, Role.VIEWER];
