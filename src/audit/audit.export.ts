import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Client } from 'pg';
import { stringify } from 'csv-stringify';
import { buildContext, type Context, type Services } from '../server/context';
import { sendJson, type Route } from '../server/routes';
import { isLinked, isUuid, partnerExists, visibleCustomerCondition } from '../auth/tenancy';
import { seesAllPartners, type Viewer } from '../auth/viewer';
import { PartnerType } from '../partners/partner.enums';
import { auditEventsSql, maskedValues, type AuditRow } from './audit.sql';

/**
 * GET /exports/acceptances?partnerId=&from=&to=&format=csv|jsonl: the audit trail of
 * every customer the caller sees with one partner, for a regulator or an auditor.
 * Streamed from a server-side cursor (DECLARE ... FETCH in batches) through a
 * streaming writer with backpressure, so memory stays flat however many rows.
 */

export const EXPORT_PATH = '/exports/acceptances';
/** Rows per FETCH from the cursor. */
export const FETCH_SIZE = 1_000;

export const EXPORT_COLUMNS = [
  'at',
  'event',
  'customerId',
  'customerTenantId',
  'customerName',
  'partnerId',
  'partnerName',
  'acceptanceId',
  'actorId',
  'actorName',
  'field',
  'oldValue',
  'newValue',
  'note',
] as const;
export type ExportRow = Record<(typeof EXPORT_COLUMNS)[number], string | null>;

class ExportError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 date (midnight UTC; for `to`, the whole day is included) or date-time with offset. */
function parseInstant(raw: string | null, field: 'from' | 'to'): Date | null {
  if (raw === null || raw === '') return null;
  const date = DATE.test(raw);
  if (!date && !DATE_TIME.test(raw)) throw new ExportError(400, 'BAD_USER_INPUT', `${field} must be an ISO 8601 date (YYYY-MM-DD) or date-time with offset`, field);
  const at = new Date(date ? `${raw}T00:00:00Z` : raw);
  if (Number.isNaN(at.getTime()) || (date && at.toISOString().slice(0, 10) !== raw)) {
    throw new ExportError(400, 'BAD_USER_INPUT', `${field} is not a valid date`, field);
  }
  if (date && field === 'to') at.setUTCDate(at.getUTCDate() + 1);
  return at;
}

export interface ExportRequest {
  partnerId: string;
  from: Date | null;
  to: Date | null;
  format: 'csv' | 'jsonl';
}

export function parseExportRequest(url: URL): ExportRequest {
  const format = url.searchParams.get('format') ?? 'csv';
  if (format !== 'csv' && format !== 'jsonl') throw new ExportError(400, 'BAD_USER_INPUT', 'format must be csv or jsonl', 'format');
  const partnerId = url.searchParams.get('partnerId') ?? '';
  if (!partnerId) throw new ExportError(400, 'BAD_USER_INPUT', 'partnerId is required', 'partnerId');
  const from = parseInstant(url.searchParams.get('from'), 'from');
  const to = parseInstant(url.searchParams.get('to'), 'to');
  if (from && to && from >= to) throw new ExportError(400, 'BAD_USER_INPUT', 'from must be before to', 'to');
  return { partnerId, from, to, format };
}

/** The same rule as `Customer.auditTrail`: platform roles any partner, a partner itself, a reseller its linked providers. */
async function assertMayExport(ctx: Context, partnerId: string): Promise<void> {
  const v = ctx.viewer!;
  const missing = new ExportError(404, 'NOT_FOUND', 'Partner not found', 'partnerId');
  if (!isUuid(partnerId)) throw missing;
  if (seesAllPartners(v)) {
    if (!(await partnerExists(ctx.em, partnerId))) throw missing;
    return;
  }
  if (partnerId === v.partnerId) return;
  if (v.partnerType === PartnerType.INDIRECT_RESELLER && (await isLinked(ctx.em, v.partnerId!, partnerId))) return;
  throw missing;
}

/** The export's one statement: every event of the partner's visible customers in the period, oldest first. */
export function exportSql(viewer: Viewer, req: ExportRequest): { sql: string; params: unknown[] } {
  const visible = visibleCustomerCondition(viewer, 'c.id');
  const params: unknown[] = [req.partnerId, ...visible.params];
  const period: string[] = [];
  if (req.from) {
    period.push('e.at >= $from');
    params.push(req.from);
  }
  if (req.to) {
    period.push('e.at < $to');
    params.push(req.to);
  }
  let n = 0;
  const sql = `with pairs as materialized (select c.id as customer_id, ?::uuid as partner_id from customers c where ${visible.sql})
    select e.at, e.event, e.customer_id, e.partner_id, e.acceptance_id, e.actor_id, e.field, e.old_value, e.new_value, e.note,
           c.tenant_id as customer_tenant_id, c.company_name as customer_name, pt.name as partner_name, u.display_name as actor_name
      from (${auditEventsSql()}) e
      join customers c on c.id = e.customer_id
      join partners pt on pt.id = e.partner_id
      left join users u on u.id = e.actor_id
     where ${period.length ? period.join(' and ') : 'true'}
     order by e.at, e.customer_id, e.rank, e.key`
    .replace(/\$from|\$to/g, '?')
    // pg's own placeholders: the cursor runs on a plain pg Client.
    .replace(/\?/g, () => `$${++n}`);
  return { sql, params };
}

interface ExportDbRow extends AuditRow {
  customer_tenant_id: string;
  customer_name: string;
  partner_name: string;
  actor_name: string | null;
}

function toExportRow(viewer: Viewer, r: ExportDbRow): ExportRow {
  const { oldValue, newValue } = maskedValues(viewer, r);
  return {
    at: new Date(r.at).toISOString(),
    event: r.event,
    customerId: r.customer_id,
    customerTenantId: r.customer_tenant_id,
    customerName: r.customer_name,
    partnerId: r.partner_id,
    partnerName: r.partner_name,
    acceptanceId: r.acceptance_id,
    actorId: r.actor_id,
    actorName: r.actor_name,
    field: r.field,
    oldValue,
    newValue,
    note: r.note,
  };
}

/** Rows from a server-side cursor, one FETCH at a time; the transaction ends when the stream does (also on abort). */
async function* cursorRows(services: Services, sql: string, params: unknown[]): AsyncGenerator<ExportDbRow[]> {
  const client = new Client({ connectionString: services.orm.config.get('clientUrl'), application_name: 'consent-gateway export' });
  await client.connect();
  let open = false;
  try {
    await client.query('begin isolation level repeatable read read only');
    open = true;
    await client.query(`declare audit_export no scroll cursor for ${sql}`, params);
    for (;;) {
      const { rows } = await client.query<ExportDbRow>(`fetch forward ${FETCH_SIZE} from audit_export`);
      if (rows.length) yield rows;
      if (rows.length < FETCH_SIZE) break;
    }
    await client.query('commit');
    open = false;
  } finally {
    if (open) await client.query('rollback').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

function fileName(req: ExportRequest): string {
  const day = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : 'all');
  return `acceptance-audit-${req.partnerId}-${day(req.from)}-${day(req.to)}.${req.format}`;
}

async function handleExport(req: IncomingMessage, res: ServerResponse, services: Services, url: URL): Promise<void> {
  let ctx: Context;
  let request: ExportRequest;
  try {
    ctx = await buildContext(services, req.headers.authorization);
    if (!ctx.viewer) throw new ExportError(401, 'UNAUTHENTICATED', ctx.authError ?? 'A bearer token is required');
    request = parseExportRequest(url);
    await assertMayExport(ctx, request.partnerId);
  } catch (err) {
    if (!(err instanceof ExportError)) throw err;
    const extensions = { code: err.code, ...(err.field ? { field: err.field } : {}) };
    return sendJson(res, err.status, { errors: [{ message: err.message, extensions }] }, err.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
  }
  const viewer = ctx.viewer!;
  const { sql, params } = exportSql(viewer, request);
  res.writeHead(200, {
    'content-type': request.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'content-disposition': `attachment; filename="${fileName(request)}"`,
    'cache-control': 'no-store',
  });
  const rows = Readable.from(
    (async function* () {
      for await (const batch of cursorRows(services, sql, params)) for (const r of batch) yield toExportRow(viewer, r);
    })(),
  );
  const writer =
    request.format === 'csv'
      ? stringify({ header: true, columns: [...EXPORT_COLUMNS], cast: { date: (d) => d.toISOString() } })
      : new Transform({
          writableObjectMode: true,
          transform(row: ExportRow, _enc, done) {
            done(null, JSON.stringify(row) + '\n');
          },
        });
  try {
    // pipeline applies backpressure end to end and, when the client goes away, ends the cursor's transaction.
    await pipeline(rows, writer, res);
  } catch (err) {
    if (!res.destroyed) res.destroy(err as Error);
    if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') services.log.warn({ err }, 'acceptance export failed midway');
  }
}

export const exportRoute: Route = { method: 'GET', path: EXPORT_PATH, handle: handleExport };
