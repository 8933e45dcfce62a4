import type { ServerResponse } from 'node:http';
import { RouteError } from '../auth/route-auth';
import { sendJson } from '../kernel/routes';
import { isConnectionFailure } from '../db/failure';
import { GatewayStoppingError } from './in-flight';

/** Seconds a client is asked to wait while the database is down (as GraphQL answers). */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * What a plain HTTP route answers for an error: a RouteError as itself, a database that
 * cannot be reached as 503 SERVICE_UNAVAILABLE with Retry-After (as GraphQL answers);
 * undefined for anything else (a bug: the server answers 500).
 */
export function refusalOf(err: unknown): RouteError | undefined {
  if (err instanceof RouteError) return err;
  if (err instanceof GatewayStoppingError) return new RouteError(503, 'SERVICE_UNAVAILABLE', err.message, undefined, { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS), connection: 'close' });
  if (isConnectionFailure(err)) {
    return new RouteError(503, 'SERVICE_UNAVAILABLE', 'The database is unavailable; try again shortly', undefined, { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) });
  }
  return undefined;
}

/** `{ errors: [{ message, extensions: { code, field? } }] }` with the refusal's status and headers. */
export function sendRefusal(res: ServerResponse, refusal: RouteError, headers: Record<string, string> = {}): void {
  const extensions = { code: refusal.code, ...(refusal.field ? { field: refusal.field } : {}) };
  sendJson(res, refusal.status, { errors: [{ message: refusal.message, extensions }] }, { ...refusal.headers, ...headers });
}
