import { GraphQLError } from 'graphql';
import { ConnectionException } from '@mikro-orm/core';

/** Whether an error means the database could not be reached (down, restarting, pool exhausted). */
export const isConnectionFailure = (err: unknown): boolean => {
  if (err instanceof ConnectionException) return true;
  // A GraphQL error is the gateway's own words (possibly quoting input); only its cause counts.
  if (err instanceof GraphQLError) return err.originalError ? isConnectionFailure(err.originalError) : false;
  const cause = (err as { originalError?: unknown; cause?: unknown } | null)?.originalError ?? (err as { cause?: unknown } | null)?.cause;
  if (cause && cause !== err && isConnectionFailure(cause)) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return (
    (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08006', '08001', '08003'].includes(code)) ||
    (err instanceof Error &&
      /Connection terminated|timeout exceeded when trying to connect|Knex: Timeout acquiring a connection|is not queryable|Connection refused|terminating connection|the database system is (shutting down|starting up|in recovery mode)|ECONNREFUSED|ECONNRESET/i.test(
        String((err as Error).message),
      )) ||
    // Node's connection attempts to several addresses fail together as an AggregateError.
    (Array.isArray((err as { errors?: unknown[] } | null)?.errors) && (err as { errors: unknown[] }).errors.some(isConnectionFailure))
  );
};
