import { registerEnumType } from 'type-graphql';

/** Roles carried in the token: two platform roles, three partner roles. */
export enum Role {
  PLATFORM_ADMIN = 'PLATFORM_ADMIN',
  ANALYST = 'ANALYST',
  ADMIN = 'ADMIN',
  AGENT = 'AGENT',
  VIEWER = 'VIEWER',
}
registerEnumType(Role, { name: 'Role', description: 'A role from the identity provider' });

/** How a partner does CSP business; with the roles it decides what a partner's user may see and do. */
export enum PartnerType {
  DIRECT_BILL = 'DIRECT_BILL',
  INDIRECT_PROVIDER = 'INDIRECT_PROVIDER',
  INDIRECT_RESELLER = 'INDIRECT_RESELLER',
}
registerEnumType(PartnerType, { name: 'PartnerType', description: 'How a partner does CSP business' });

/** Role groups for `@Authorized(...)`. */
export const ANY_ROLE = [Role.PLATFORM_ADMIN, Role.ANALYST, Role.ADMIN, Role.AGENT, Role.VIEWER];
/** May change data: never an analyst or a partner VIEWER. */
export const WRITERS = [Role.PLATFORM_ADMIN, Role.ADMIN, Role.AGENT];
export const PARTNER_ADMINS = [Role.PLATFORM_ADMIN, Role.ADMIN];
export const PLATFORM_ADMIN = [Role.PLATFORM_ADMIN];
