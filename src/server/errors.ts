import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, Kind, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import type { ValidationError } from 'class-validator';
import { DriverException, UniqueConstraintViolationException, NotFoundError as OrmNotFound } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { isTokenLimitError, QUERY_TOO_COMPLEX } from './limits';
import { isConnectionFailure } from '../db/failure';

export { isConnectionFailure };

/** Codes a client may see as they are; anything else is masked. */
const PUBLIC_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONFLICT',
  'NOT_APPLICABLE',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'OPERATION_RESOLUTION_FAILURE',
  'QUERY_TOO_COMPLEX',
]);

function firstViolation(errors: ValidationError[], prefix = ''): { field: string; message: string } | undefined {
  for (const e of errors) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints && Object.keys(e.constraints).length) {
      return { field, message: Object.values(e.constraints)[0] };
    }
    const nested = e.children && firstViolation(e.children, field);
    if (nested) return nested;
  }
  return undefined;
}

/** "…at "input.contact.email"…" → "contact.email": the offending field of a variable coercion error. */
function fieldOfCoercionError(message: string): string | undefined {
  const at = /at "([^"]+)"/.exec(message)?.[1];
  if (at) return at.split('.').slice(1).join('.') || at;
  const variable = /Variable "\$(\w+)"/.exec(message)?.[1];
  return variable;
}

/** Apollo's words for an automatic persisted query whose sha256Hash is not its query's. */
const APQ_HASH_MISMATCH = 'provided sha does not match query';

/** A variable's value that does not coerce to its type, as graphql-js reports it (Apollo's own test). */
const isVariableCoercionError = (e: GraphQLError) => e.nodes?.length === 1 && e.nodes[0].kind === Kind.VARIABLE_DEFINITION && /^Variable "\$/.test(e.message);


/**
 * The one place errors become what a client sees: coded errors pass, validation
 * errors name their field, database outages are SERVICE_UNAVAILABLE, and anything
 * unexpected is logged with the request id and answered without internals.
 */
export function formatError(log: Logger, production: boolean) {
  const format = formatErrorOnce(log, production);
  if (!production) return format;
  // graphql-js suggests names of the schema ("Did you mean …?") in validation and variable
  // errors; in production they would leak the schema that introspection hides.
  return (formatted: GraphQLFormattedError, error: unknown, requestId?: string): GraphQLFormattedError => {
    const answer = format(formatted, error, requestId);
    return answer.message.includes('Did you mean') ? { ...answer, message: withoutSuggestions(answer.message) } : answer;
  };
}

/** The message without graphql-js's "Did you mean …?" sentences. */
export const withoutSuggestions = (message: string) => message.replace(/ ?Did you mean [^?]*\?/g, '');

function formatErrorOnce(log: Logger, production: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown, requestId?: string): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof ArgumentValidationError) {
      const v = firstViolation(original.extensions.validationErrors as unknown as ValidationError[]);
      return { message: v ? `${v.field}: ${v.message}` : 'Invalid input', path: formatted.path, locations: formatted.locations, extensions: { code: 'BAD_USER_INPUT', field: v?.field } };
    }
    if (original instanceof UniqueConstraintViolationException) {
      return { message: 'This conflicts with an existing record', path: formatted.path, extensions: { code: 'CONFLICT' } };
    }
    const sqlState = (original as { code?: unknown } | null)?.code;
    // A MikroORM DriverException, or pg's own error from a raw statement: both carry the SQLSTATE.
    if ((original instanceof DriverException || (original as { severity?: unknown })?.severity) && typeof sqlState === 'string' && /^22[0-9A-Z]{3}$/.test(sqlState)) {
      // PostgreSQL's data exceptions (a number out of range, a malformed value, a string too
      // long, a NUL byte): input the feature should have validated. Logged so it gets a rule
      // and a field; answered as bad input rather than an internal error meanwhile.
      log.warn({ err: original, requestId, path: formatted.path }, 'input reached the database unvalidated');
      return { message: 'A value in the input is out of range or malformed', path: formatted.path, extensions: { code: 'BAD_USER_INPUT', requestId } };
    }
    if (original instanceof OrmNotFound) {
      return { message: 'Not found', path: formatted.path, extensions: { code: 'NOT_FOUND' } };
    }
    if (isConnectionFailure(original)) {
      log.warn({ err: original, requestId }, 'database unavailable');
      return { message: 'The database is unavailable; try again shortly', path: formatted.path, extensions: { code: 'SERVICE_UNAVAILABLE', requestId } };
    }
    if (original instanceof GraphQLError && !original.originalError && original.message === APQ_HASH_MISMATCH) {
      // Apollo answers it with status 400 but no code; Apollo Router's code for the same refusal.
      return { message: original.message, extensions: { code: 'PERSISTED_QUERY_HASH_MISMATCH' } };
    }
    if (isTokenLimitError(formatted.message)) {
      return { message: formatted.message.replace(/^Syntax Error: /, ''), extensions: { code: QUERY_TOO_COMPLEX, limit: 'tokens' } };
    }
    let code = formatted.extensions?.code as string | undefined;
    if (!code && original instanceof GraphQLError && !original.path && (!original.originalError || isVariableCoercionError(original))) {
      // graphql-ws reports parse, validation and variable errors uncoded (a variable's carries
      // the scalar's own error as originalError); give them Apollo's codes.
      code = /^Syntax Error/.test(original.message) ? 'GRAPHQL_PARSE_FAILED' : /^Variable "\$/.test(original.message) ? 'BAD_USER_INPUT' : 'GRAPHQL_VALIDATION_FAILED';
      formatted = { ...formatted, extensions: { ...formatted.extensions, code } };
    }
    if (code && PUBLIC_CODES.has(code) && !(original instanceof DriverException)) {
      if (code === 'BAD_USER_INPUT' && !formatted.extensions?.field) {
        const field = fieldOfCoercionError(formatted.message);
        const { stacktrace: _s, ...extensions } = formatted.extensions ?? {};
        return { ...formatted, extensions: { ...extensions, ...(field ? { field } : {}) } };
      }
      if (production) {
        const { stacktrace: _s, ...extensions } = formatted.extensions ?? {};
        return { ...formatted, extensions };
      }
      return formatted;
    }
    if (original instanceof GraphQLError && !original.originalError && !code) {
      return formatted;
    }
    log.error({ err: original, requestId }, 'unexpected error');
    return {
      message: 'Internal error; quote the request id when reporting it',
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
    };
  };
}
