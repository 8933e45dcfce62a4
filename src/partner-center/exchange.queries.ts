import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';

/**
 * The upstream exchange log (`partner_center_exchanges`, /work/notes/pc-spec.md): one row
 * per HTTP exchange with Partner Center or its token endpoint, written by the one call
 * primitive (src/partner-center/upstream.ts). It keeps ids, the operation, the status,
 * the upstream code and how the exchange ended; never a token, a secret, a body or a
 * contact value (the path carries ids only; its query string is dropped unless it is
 * one of the documented filters).
 */

export type ExchangeOperation =
  | 'token'
  | 'confirm'
  | 'metadata'
  | 'agreements'
  | 'direct_status'
  | 'attestation_create'
  | 'attestation_status'
  | 'attestation_cancel'
  | 'document';

export type ExchangeOutcome = 'ok' | 'retry' | 'failed' | 'throttled' | 'unauthorized' | 'transport' | 'already_exists';

export interface ExchangeRow {
  partnerId: string;
  customerId?: string | null;
  acceptanceId?: string | null;
  attestationId?: string | null;
  operation: ExchangeOperation;
  method: string;
  path: string;
  requestId?: string | null;
  correlationId?: string | null;
  /** Null: no answer (timeout, dropped connection). */
  httpStatus?: number | null;
  code?: string | null;
  outcome: ExchangeOutcome;
}

export interface Exchange extends Required<ExchangeRow> {
  id: string;
  at: Date;
}

/** Query parameters kept in the logged path: the documented filters, never anything else. */
const KEPT_PARAMS = new Set(['agreementType', 'language', 'country']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The path as logged: no origin, no query but the documented filters. */
export function loggedPath(pathOrUrl: string): string {
  const url = new URL(pathOrUrl, 'http://upstream.invalid');
  const kept = new URLSearchParams();
  for (const [k, v] of url.searchParams) if (KEPT_PARAMS.has(k) && /^[A-Za-z*_-]{1,64}$/.test(v)) kept.set(k, v);
  const query = kept.toString();
  return `${url.pathname}${query ? `?${query}` : ''}`;
}

const uuidOrNull = (v: string | null | undefined) => (v && UUID.test(v) ? v : null);

/** Appends one exchange (its own statement: the log survives the caller's rollback when `em` is not in a transaction). */
export async function recordExchange(em: EntityManager, row: ExchangeRow): Promise<void> {
  await queryRows(
    em,
    `insert into partner_center_exchanges
       (partner_id, customer_id, acceptance_id, attestation_id, at, operation, method, path, request_id, correlation_id, http_status, code, outcome)
     values (?, ?, ?, ?, clock_timestamp(), ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      row.partnerId,
      uuidOrNull(row.customerId),
      uuidOrNull(row.acceptanceId),
      uuidOrNull(row.attestationId),
      row.operation,
      row.method.toUpperCase(),
      loggedPath(row.path),
      uuidOrNull(row.requestId),
      uuidOrNull(row.correlationId),
      row.httpStatus ?? null,
      row.code && /^[A-Za-z0-9_.:-]{1,64}$/.test(row.code) ? row.code : null,
      row.outcome,
    ],
  );
}

interface ExchangeDbRow {
  id: string;
  partner_id: string;
  customer_id: string | null;
  acceptance_id: string | null;
  attestation_id: string | null;
  at: Date;
  operation: ExchangeOperation;
  method: string;
  path: string;
  request_id: string | null;
  correlation_id: string | null;
  http_status: number | null;
  code: string | null;
  outcome: ExchangeOutcome;
}

const exchangeOf = (r: ExchangeDbRow): Exchange => ({
  id: String(r.id),
  partnerId: r.partner_id,
  customerId: r.customer_id,
  acceptanceId: r.acceptance_id,
  attestationId: r.attestation_id,
  at: new Date(r.at),
  operation: r.operation,
  method: r.method,
  path: r.path,
  requestId: r.request_id,
  correlationId: r.correlation_id,
  httpStatus: r.http_status,
  code: r.code,
  outcome: r.outcome,
});

export interface ExchangeFilter {
  partnerId?: string;
  customerId?: string;
  acceptanceId?: string;
  attestationId?: string;
  operation?: ExchangeOperation;
  /** Only exchanges at or after this instant. */
  since?: Date;
  /** At most this many, oldest first (default 1000). */
  limit?: number;
}

/** Exchanges matching every given filter, oldest first. */
export async function exchangesOf(em: EntityManager, filter: ExchangeFilter): Promise<Exchange[]> {
  const where: string[] = [];
  const values: unknown[] = [];
  const eq = (column: string, value: unknown) => {
    if (value === undefined) return;
    where.push(`${column} = ?`);
    values.push(value);
  };
  eq('partner_id', filter.partnerId);
  eq('customer_id', filter.customerId);
  eq('acceptance_id', filter.acceptanceId);
  eq('attestation_id', filter.attestationId);
  eq('operation', filter.operation);
  if (filter.since) {
    where.push('at >= ?::timestamptz');
    values.push(filter.since.toISOString());
  }
  values.push(Math.min(Math.max(1, filter.limit ?? 1000), 100_000));
  const rows = await queryRows<ExchangeDbRow>(
    em,
    `select id::text, partner_id, customer_id, acceptance_id, attestation_id, at, operation, method, path, request_id, correlation_id, http_status, code, outcome
       from partner_center_exchanges ${where.length ? `where ${where.join(' and ')}` : ''} order by id limit ?`,
    values,
  );
  return rows.map(exchangeOf);
}
