import type { AuthChecker } from 'type-graphql';
import { ForbiddenError, UnauthenticatedError } from '../errors';
import type { Role } from './roles';
import type { Viewer } from './viewer';

/** What the checker reads of a request's context (src/kernel/context.ts). */
interface Caller {
  viewer: Viewer | null;
  /** Why the presented token was refused, for the UNAUTHENTICATED message. */
  authError?: string;
}

/**
 * type-graphql's auth checker: no viewer is UNAUTHENTICATED, a role outside the
 * field's list is FORBIDDEN. Tenancy is the services' job (src/auth/tenancy.ts).
 */
export const authChecker: AuthChecker<Caller, Role> = ({ context }, roles) => {
  if (!context.viewer) throw new UnauthenticatedError(context.authError);
  if (roles.length === 0) return true;
  if (context.viewer.roles.some((r) => roles.includes(r))) return true;
  throw new ForbiddenError();
};
