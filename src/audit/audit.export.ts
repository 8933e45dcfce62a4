import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Client, types } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { buildContext, type Context, type Services } from '../kernel/context';
import { sendJson, type Route } from '../kernel/routes';
import { isLinked, isUuid, partnerExists, visibleCustomerCondition } from '../auth/tenancy';
import { seesAllPartners, type Viewer } from '../auth/viewer';
import { PartnerType } from '../auth/roles';
import { CONTACT_FIELDS } from '../acceptance/acceptance.rules';
import { auditEventsByTimeSql, auditEventsSql, maskedValue } from './audit.sql';
import { BinaryRowLines, copyCsvColumns, copyRowColumns, inlineParams } from './audit.copy';

/**
 * GET /exports/acceptances?partnerId=&from=&to=&format=csv|jsonl: the audit trail of
 * every customer the caller sees with one partner, for a regulator or an auditor.
 * Streamed with `COPY (<the statement>) TO STDOUT` (src/audit/audit.copy.ts), with
 * backpressure end to end, so memory stays flat however many rows: for viewers who see
 * contact values unmasked, CSV is written by PostgreSQL and only its bytes pass through;
 * otherwise each row's text values are formatted here (and masked, through the one
 * helper) as the socket's chunks arrive. Rows are never held across a round trip.
 */

export const EXPORT_PATH = '/exports/acceptances';
/** The export's connections, by name in pg_stat_activity. */
export const EXPORT_APPLICATION_NAME = 'consent-gateway export';

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

/** The columns of the cursor's rows (ExportDbRow), in its order. */
const ROW_COLUMNS = `e.at, e.event, e.customer_id, e.partner_id, e.acceptance_id, e.actor_id, e.field, e.old_value, e.new_value, e.note,
           c.tenant_id as customer_tenant_id, c.company_name as customer_name, pt.name as partner_name, u.display_name as actor_name`;
/** The same columns from `auditEventsByTimeSql`, whose branches carry the lookups. */
const BY_TIME_COLUMNS = `e.at, e.event, e.customer_id, e.partner_id, e.acceptance_id, e.actor_id, e.field, e.old_value, e.new_value, e.note,
           e.customer_tenant_id, e.customer_name, e.partner_name, e.actor_name`;

/**
 * The export's one statement: every event of the partner's visible customers in the period, oldest first.
 * `columns` is a select list over the ordered rows (alias r, the columns of ROW_COLUMNS): it is
 * computed after the sort, so the sort carries the raw values, not their text; `inline` writes the
 * parameters into the statement as literals (for COPY, which takes none). `byTime` reads the
 * events in time order (auditEventsByTimeSql) instead of sorting them all: the same rows in the
 * same order, the first of them at once, but every partner's corrections are read
 * (`byTimeFor` decides).
 */
export function exportSql(
  viewer: Viewer,
  req: ExportRequest,
  options: { columns?: string; inline?: boolean; byTime?: boolean } = {},
): { sql: string; params: unknown[] } {
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
  const where = period.length ? period.join(' and ') : 'true';
  const ordered = options.byTime
    ? `select ${BY_TIME_COLUMNS}
      from (${auditEventsByTimeSql()}) e
     where ${where}
     order by e.at, e.customer_id, e.rank, e.key`
    : `select ${ROW_COLUMNS}
      from (${auditEventsSql()}) e
      join customers c on c.id = e.customer_id
      join partners pt on pt.id = e.partner_id
      left join users u on u.id = e.actor_id
     where ${where}
     order by e.at, e.customer_id, e.rank, e.key`;
  // A subquery with ORDER BY is not pulled up: the outer list is evaluated on the sorted rows, in their order.
  const sql = `with pairs as materialized (select c.id as customer_id, ?::uuid as partner_id from customers c where ${visible.sql})
    ${options.columns ? `select ${options.columns} from (${ordered}) r` : ordered}`.replace(/\$from|\$to/g, '?');
  if (options.inline) return { sql: inlineParams(sql, params), params: [] };
  let n = 0;
  // pg's own placeholders: the cursor runs on a plain pg Client.
  return { sql: sql.replace(/\?/g, () => `$${++n}`), params };
}

/**
 * Whether the export reads events in time order (`exportSql`'s byTime): when the partner has at
 * least an eighth of all corrections. The time-ordered plan reads every partner's corrections
 * through the `corrected_at` index; for a partner with few, sorting its own events costs less.
 * Counts at most that eighth, through the acceptance_id index. The table's size is PostgreSQL's
 * estimate from the last analyze.
 */
export async function byTimeFor(client: Client, partnerId: string): Promise<boolean> {
  const { rows } = await client.query<{ enough: boolean }>(
    // reltuples is -1 until the table is first analyzed: then count, or every partner would look large.
    `with share as (select greatest(1, ((case when c.reltuples >= 0 then c.reltuples else (select count(*) from acceptance_corrections) end) / 8)::bigint) as n
                      from pg_class c where c.oid = 'acceptance_corrections'::regclass)
     select count(*) >= (select n from share) as enough
       from (select 1 from acceptance_corrections k join acceptances a on a.id = k.acceptance_id
              where a.partner_id = $1 limit (select n from share)) x`,
    [partnerId],
  );
  return rows[0].enough;
}

/** The columns of `exportSql` (and `copyRowColumns`), in its order, as PostgreSQL's text (`at` in UTC, ISO date style). */
type ExportDbRow = [
  at: string,
  event: string,
  customerId: string,
  partnerId: string,
  acceptanceId: string | null,
  actorId: string | null,
  field: string | null,
  oldValue: string | null,
  newValue: string | null,
  note: string | null,
  customerTenantId: string,
  customerName: string,
  partnerName: string,
  actorName: string | null,
];

const UTC_TEXT = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00$/;
const parseTimestamptz = types.getTypeParser(types.builtins.TIMESTAMPTZ) as (text: string) => Date;

/**
 * `2026-11-25 00:01:02.123456+00` (timestamptz text in UTC) as `Date#toISOString` writes
 * it: `2026-11-25T00:01:02.123Z` (milliseconds truncated, as pg's own parser does).
 * Anything else (years past 9999, BC) goes through pg's parser.
 */
export function isoInstant(text: string): string {
  const m = UTC_TEXT.exec(text);
  if (!m) return parseTimestamptz(text).toISOString();
  return `${m[1]}T${m[2]}.${(m[3] ?? '').slice(0, 3).padEnd(3, '0')}Z`;
}

/** One row in the order of EXPORT_COLUMNS, contact values masked for analysts as in GraphQL. */
function exportValues(viewer: Viewer, r: ExportDbRow): (string | null)[] {
  const field = r[6];
  return [isoInstant(r[0]), r[1], r[2], r[10], r[11], r[3], r[12], r[4], r[5], r[13], field, maskedValue(viewer, field, r[7]), maskedValue(viewer, field, r[8]), r[9]];
}

const NEEDS_QUOTES = /[",\r\n]/;
/** RFC 4180, as csv-stringify writes it by default: quoted only when it holds a quote, comma or line break; null is empty. */
const csvField = (v: string | null) => (v === null ? '' : NEEDS_QUOTES.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export const CSV_HEADER = `${EXPORT_COLUMNS.join(',')}\n`;

/** A row as a CSV record. */
function csvLine(viewer: Viewer, r: ExportDbRow): string {
  const v = exportValues(viewer, r);
  let line = csvField(v[0]);
  for (let i = 1; i < v.length; i++) line += `,${csvField(v[i])}`;
  return `${line}\n`;
}

const JSON_KEYS = EXPORT_COLUMNS.map((c, i) => `${i ? ',' : '{'}${JSON.stringify(c)}:`);
/** A row as a JSON line: `JSON.stringify` of an object with the keys of EXPORT_COLUMNS, in that order. */
function jsonLine(viewer: Viewer, r: ExportDbRow): string {
  const v = exportValues(viewer, r);
  let line = '';
  for (let i = 0; i < v.length; i++) line += JSON_KEYS[i] + JSON.stringify(v[i]);
  return `${line}}\n`;
}

/** Whether the one masking helper changes any contact value for this viewer (analysts). */
function masksContacts(viewer: Viewer): boolean {
  const probe = 'probe@example.com';
  return CONTACT_FIELDS.some((field) => maskedValue(viewer, field, probe) !== probe);
}

/**
 * Streams `COPY (<the export's statement>) TO STDOUT` through `through` into the response, on a
 * connection of its own in one read-only transaction. pipeline applies backpressure end to end
 * (the COPY stream reads the socket only when asked); when the client goes away, `end` cuts the
 * connection (a COPY cannot be interrupted by a rollback), which ends the backend's COPY.
 */
async function streamCopy(services: Services, copyOf: (client: Client) => Promise<string>, through: Transform, res: ServerResponse): Promise<void> {
  const client = new Client({ connectionString: services.orm.config.get('clientUrl'), application_name: EXPORT_APPLICATION_NAME });
  // A connection cut on abort is expected; its error reaches the COPY stream (and pipeline) too.
  client.on('error', () => undefined);
  let finished = false;
  try {
    await client.connect();
    // `at` as ISO text in UTC, for isoInstant (FORMAT binary of text columns). No parallel workers:
    // a stream paced by its client would hold them (and their connections) for as long.
    await client.query(
      "begin isolation level repeatable read read only; set local time zone 'UTC'; set local datestyle = 'ISO'; set local max_parallel_workers_per_gather = 0",
    );
    const rows = client.query(copyTo(await copyOf(client)));
    rows.on('error', () => undefined); // may come after pipeline has settled (the connection cut on abort)
    await pipeline(rows, through, res);
    await client.query('commit');
    finished = true;
  } finally {
    // With the COPY still running, end() destroys the socket; otherwise it says goodbye.
    if (!finished) await client.end().catch(() => undefined);
    else await client.end();
  }
}

/** The export's header (CSV) ahead of COPY's bytes, passed on as they come. */
class Headed extends Transform {
  private header: string;
  constructor(header: string) {
    super();
    this.header = header;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.header) this.push(this.header);
    this.header = '';
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    done(null, this.header || undefined);
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
  res.writeHead(200, {
    'content-type': request.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'content-disposition': `attachment; filename="${fileName(request)}"`,
    'cache-control': 'no-store',
  });
  const csv = request.format === 'csv';
  const header = csv ? CSV_HEADER : '';
  // Unmasked CSV: PostgreSQL writes the records. Otherwise its rows as text, formatted (and masked) here.
  const native = csv && !masksContacts(viewer);
  const columns = native ? copyCsvColumns() : copyRowColumns();
  const copyOf = async (client: Client) => {
    const { sql } = exportSql(viewer, request, { columns, inline: true, byTime: await byTimeFor(client, request.partnerId) });
    return `copy (${sql}) to stdout (format ${native ? 'csv' : 'binary'})`;
  };
  const line = csv ? (r: ExportDbRow) => csvLine(viewer, r) : (r: ExportDbRow) => jsonLine(viewer, r);
  const through = native ? new Headed(header) : new BinaryRowLines<ExportDbRow>(line, header);
  try {
    await streamCopy(services, copyOf, through, res);
  } catch (err) {
    if (!res.destroyed) res.destroy(err as Error);
    if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') services.log.warn({ err }, 'acceptance export failed midway');
  }
}

export const exportRoute: Route = { method: 'GET', path: EXPORT_PATH, handle: handleExport };
