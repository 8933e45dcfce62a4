import type { AuthChecker } from 'type-graphql';
import { ForbiddenError, UnauthenticatedError } from '../errors';
import { Role } from '../partners/partner.enums';
import type { Context } from '../server/context';

/** Role groups for `@Authorized(...)`. */
export const ANY_ROLE = [Role.PLATFORM_ADMIN, Role.ANALYST, Role.ADMIN, Role.AGENT, Role.VIEWER];
/** May change data: never an analyst or a partner VIEWER. */
export const WRITERS = [Role.PLATFORM_ADMIN, Role.ADMIN, Role.AGENT];
export const PARTNER_ADMINS = [Role.PLATFORM_ADMIN, Role.ADMIN];
export const PLATFORM_ADMIN = [Role.PLATFORM_ADMIN];

/**
 * type-graphql's auth checker: no viewer is UNAUTHENTICATED, a role outside the
 * field's list is FORBIDDEN. Tenancy is the services' job (src/auth/tenancy.ts).
 */
export const authChecker: AuthChecker<Context, Role> = ({ context }, roles) => {
  if (!context.viewer) throw new UnauthenticatedError(context.authError);
  if (roles.length === 0) return true;
  if (context.viewer.roles.some((r) => roles.includes(r))) return true;
  throw new ForbiddenError();
};
