import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { bearer, InvalidTokenError, type TokenVerifier } from './token';
import { UnknownPartnerError, type Viewer, type ViewerDirectory } from './viewer';

/**
 * Authentication of the plain HTTP routes beside /graphql (the export, the bulk
 * import): the same bearer token, verifier and viewer directory as GraphQL, answered
 * as an HTTP refusal instead of a GraphQL error.
 */

/** A refusal a route answers as `{ errors: [{ message, extensions: { code, field? } }] }` with its status. */
export class RouteError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** What authentication needs of the gateway's services. */
export interface RouteAuthDeps {
  orm: MikroORM;
  tokens: TokenVerifier;
  viewers: ViewerDirectory;
}

const unauthenticated = (message: string) => new RouteError(401, 'UNAUTHENTICATED', message, undefined, { 'www-authenticate': 'Bearer' });

/**
 * The viewer of a route's request, or a 401 RouteError: `missing` is the message for a
 * request without a bearer token (each route says what it needs). A database failure
 * while resolving the viewer is thrown as it is (the route answers it as 503).
 */
export async function authenticateRoute(deps: RouteAuthDeps, authorization: string | undefined, missing = 'A bearer token is required'): Promise<Viewer> {
  const token = bearer(authorization);
  if (!token) throw unauthenticated(authorization ? 'The authorization header must be "Bearer <token>"' : missing);
  try {
    // Only its connection is used: no fork for it.
    return await deps.viewers.resolve(deps.orm.em as EntityManager, await deps.tokens.verify(token));
  } catch (err) {
    if (err instanceof InvalidTokenError || err instanceof UnknownPartnerError) throw unauthenticated(`Invalid token: ${err.message}`);
    throw err;
  }
}
