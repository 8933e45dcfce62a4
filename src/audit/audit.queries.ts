import type { Viewer } from '../auth/viewer';
import { visibleCustomerCondition } from '../auth/tenancy';
import { auditEventsByTimeSql, auditEventsSql } from './audit.sql';
import { CORRECTIONS_WITH_ACCEPTANCE } from '../acceptance/acceptance.queries';

/**
 * The export's hand-written SQL (src/audit/audit.export.ts): its statement, the choice of
 * its plan, the select lists its COPY writes, and the row type they read. `?` placeholders
 * throughout, as queryRows takes them; COPY takes no parameters, so the export has knex
 * write them as literals (`raw(sql, params).toQuery()`, in src/audit/audit.copy.ts).
 */

/** What an export asks for (parsed from the request's query string). */
export interface ExportRequest {
  partnerId: string;
  from: Date | null;
  to: Date | null;
  format: 'csv' | 'jsonl';
}

/** The columns of the sorted statement's rows (ExportDbRow), in its order. */
const ROW_COLUMNS = `e.at, e.event, e.customer_id, e.partner_id, e.acceptance_id, e.actor_id, e.field, e.old_value, e.new_value, e.note,
           c.tenant_id as customer_tenant_id, c.company_name as customer_name, pt.name as partner_name, u.display_name as actor_name`;
/** The same columns from `auditEventsByTimeSql`, whose branches carry the lookups. */
const BY_TIME_COLUMNS = `e.at, e.event, e.customer_id, e.partner_id, e.acceptance_id, e.actor_id, e.field, e.old_value, e.new_value, e.note,
           e.customer_tenant_id, e.customer_name, e.partner_name, e.actor_name`;

/**
 * The export's one statement: every event of the partner's visible customers in the period, oldest first.
 * `columns` is a select list over the ordered rows (alias r, the columns of ROW_COLUMNS): it is
 * computed after the sort, so the sort carries the raw values, not their text. `byTime` reads the
 * events in time order (auditEventsByTimeSql) instead of sorting them all: the same rows in the
 * same order, the first of them at once, but every partner's corrections are read
 * (`byTimeFor` decides). Instants are passed as ISO text (their literals are then exact).
 */
export function exportSql(viewer: Viewer, req: ExportRequest, options: { columns?: string; byTime?: boolean } = {}): { sql: string; params: unknown[] } {
  const visible = visibleCustomerCondition(viewer, 'c.id');
  const params: unknown[] = [req.partnerId, ...visible.params];
  const period: string[] = [];
  if (req.from) {
    period.push('e.at >= ?::timestamptz');
    params.push(req.from.toISOString());
  }
  if (req.to) {
    period.push('e.at < ?::timestamptz');
    params.push(req.to.toISOString());
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
    ${options.columns ? `select ${options.columns} from (${ordered}) r` : ordered}`;
  return { sql, params };
}

/**
 * Whether the export reads events in time order (`exportSql`'s byTime): when the partner has at
 * least an eighth of all corrections. The time-ordered plan reads every partner's corrections
 * through the `corrected_at` index; for a partner with few, sorting its own events costs less.
 * Counts at most that eighth, through the acceptance_id index. The table's size is PostgreSQL's
 * estimate from the last analyze. Run on the export's own connection (its snapshot).
 */
export const BY_TIME_SQL =
  // reltuples is -1 until the table is first analyzed: then count, or every partner would look large.
  `with share as (select greatest(1, ((case when c.reltuples >= 0 then c.reltuples else (select count(*) from acceptance_corrections) end) / 8)::bigint) as n
                    from pg_class c where c.oid = 'acceptance_corrections'::regclass)
   select count(*) >= (select n from share) as enough
     from (select 1 from ${CORRECTIONS_WITH_ACCEPTANCE}
            where a.partner_id = $1 limit (select n from share)) x`;

/** The part of a pg client byTimeFor uses (the export's connection, or a test's client). */
export interface Queryable {
  query<R>(text: string, values: unknown[]): Promise<{ rows: R[] }>;
}

export async function byTimeFor(client: Queryable, partnerId: string): Promise<boolean> {
  const { rows } = await client.query<{ enough: boolean }>(BY_TIME_SQL, [partnerId]);
  return rows[0].enough;
}

/** The columns of `copyRowColumns`, in its order, as PostgreSQL's text (`at` in UTC, ISO date style). */
export type ExportDbRow = [
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

/**
 * `at` (timestamptz) as `Date#toISOString` writes it: UTC, milliseconds truncated, the
 * year as four digits, or as six with a sign outside years 0 to 9999 (1 BC is year 0).
 */
export function isoInstantSql(at: string): string {
  const utc = `(${at} at time zone 'UTC')`;
  const year = `(case when extract(year from ${utc}) < 0 then extract(year from ${utc}) + 1 else extract(year from ${utc}) end)::int`;
  return `case when ${at} >= '0001-01-01 00:00:00Z' and ${at} < '10000-01-01 00:00:00Z'
      then to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      else (case when ${year} > 9999 then '+' || lpad(${year}::text, 6, '0')
                 when ${year} >= 0 then lpad(${year}::text, 4, '0')
                 else '-' || lpad((-${year})::text, 6, '0') end) || to_char(${utc}, '-MM-DD"T"HH24:MI:SS.MS"Z"') end`;
}

/**
 * One text value as a CSV field, as the export's line writer writes it (src/audit/audit.format.ts):
 * NULL and '' empty; a value a spreadsheet would read as a formula (starting with =, +, -, @, tab
 * or carriage return) quoted with a leading apostrophe (OWASP, CSV injection); else quoted only
 * when it holds a quote, comma or line break (RFC 4180).
 */
const csvField = (column: string) => {
  const v = `${column}::text`;
  return `case when left(${v}, 1) in ('=', '+', '-', '@', chr(9), chr(13)) then '"''' || replace(${v}, '"', '""') || '"'
            when ${v} ~ '[",\\r\\n]' then '"' || replace(${v}, '"', '""') || '"'
            else coalesce(${v}, '') end`;
};

/**
 * The export's CSV record (line break included) for COPY, over the export's ordered rows
 * (alias r), one text column per row: PostgreSQL writes the records and only their bytes
 * pass through the gateway. Contact values unmasked: only for viewers who see them so.
 * Every column but `at` (an instant, which may start with '-') is a text column.
 */
export const copyCsvRecord = (): string =>
  `${isoInstantSql('r.at')} || ',' || ${[
    'r.event',
    'r.customer_id',
    'r.customer_tenant_id',
    'r.customer_name',
    'r.partner_id',
    'r.partner_name',
    'r.acceptance_id',
    'r.actor_id',
    'r.actor_name',
    'r.field',
    'r.old_value',
    'r.new_value',
    'r.note',
  ]
    .map(csvField)
    .join(` || ',' || `)} || chr(10)`;

/** The select list of the rows the gateway formats itself (ExportDbRow), every value as text. */
export const copyRowColumns = (): string =>
  ['at', 'event', 'customer_id', 'partner_id', 'acceptance_id', 'actor_id', 'field', 'old_value', 'new_value', 'note', 'customer_tenant_id', 'customer_name', 'partner_name', 'actor_name']
    .map((c) => `r.${c}::text`)
    .join(', ');

/** `COPY (<the statement, its values as literals>) TO STDOUT` in COPY's binary framing. */
export const copyStatement = (literalSql: string): string => `copy (${literalSql}) to stdout (format binary)`;

/**
 * The export's transaction: `at` as ISO text in UTC; no parallel workers (a stream paced by its
 * client would hold them); no statement timeout, whatever the role's default: a whole export is
 * one long COPY, bounded by the write timeout and the export slots instead.
 */
export const EXPORT_BEGIN =
  "begin isolation level repeatable read read only; set local time zone 'UTC'; set local datestyle = 'ISO'; set local max_parallel_workers_per_gather = 0; set local statement_timeout = 0";
