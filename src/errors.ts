import { GraphQLError } from 'graphql';

/** The stable error codes of DESIGN.md section 7. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'NOT_APPLICABLE'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE';

/** Base of every error a client may see: a message meant for people and a code meant for programs. */
export class AppError extends GraphQLError {
  constructor(message: string, readonly code: ErrorCode, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extensions } });
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'A valid bearer token is required') {
    super(message, 'UNAUTHENTICATED');
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed for your role') {
    super(message, 'FORBIDDEN');
  }
}

/** Also the answer for another tenant's record, so ids leak nothing. */
export class NotFoundError extends AppError {
  constructor(what: string, id?: string, field?: string) {
    super(id === undefined ? `${what} not found` : `${what} ${id} not found`, 'NOT_FOUND', field ? { field } : {});
  }
}

export class BadUserInputError extends AppError {
  constructor(message: string, readonly field: string) {
    super(message, 'BAD_USER_INPUT', { field });
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super(message, 'CONFLICT');
  }
}

export class NotApplicableError extends AppError {
  constructor(message: string) {
    super(message, 'NOT_APPLICABLE');
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number) {
    super(`Too many requests; retry after ${retryAfterSeconds} s`, 'RATE_LIMITED', { retryAfter: retryAfterSeconds });
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message = 'The database is unavailable; try again shortly') {
    super(message, 'SERVICE_UNAVAILABLE');
  }
}
