import type { Viewer } from '../auth/viewer';
import { seenByPartnerSql } from '../auth/tenancy';
import { seesAllPartners } from '../auth/viewer';
import { auditEventsByTimeSql, exportPairs } from './audit.sql';

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

/** The columns of the export's rows (ExportDbRow), in its order, from `auditEventsByTimeSql`, whose branches carry the lookups. */
const EXPORT_COLUMNS = `e.at, e.event, e.customer_id, e.partner_id, e.acceptance_id, e.actor_id, e.field, e.old_value, e.new_value, e.note,
           e.customer_tenant_id, e.customer_name, e.partner_name, e.actor_name`;

/**
 * The export's one statement: every event of the partner's visible customers in the period,
 * oldest first, read in time order from the partner's indexes (auditEventsByTimeSql), each row's
 * customer tested by index probes, so the first row comes at once however long the trail.
 * `columns` is a select list over the ordered rows (alias r, the columns of EXPORT_COLUMNS),
 * evaluated on the merged rows in their order. Instants are passed as ISO text (their literals
 * are then exact). Run in EXPORT_BEGIN's transaction: with sorts disabled, the planner reads
 * every branch from its index instead of sorting it, which would hold the first row until the
 * branch was read whole.
 */
export function exportSql(viewer: Viewer, req: ExportRequest, options: { columns?: string } = {}): { sql: string; params: unknown[] } {
  const period: string[] = [];
  const params: unknown[] = [req.partnerId, viewer.partnerId ?? null];
  if (req.from) {
    period.push('e.at >= ?::timestamptz');
    params.push(req.from.toISOString());
  }
  if (req.to) {
    period.push('e.at < ?::timestamptz');
    params.push(req.to.toISOString());
  }
  // Platform roles see every customer; a partner user those of its relationships and its resellers', probed per row.
  const visible = seesAllPartners(viewer) ? () => 'true' : (customer: string) => seenByPartnerSql(customer, '(select s.viewer_partner_id from export_scope s)');
  const ordered = `select ${EXPORT_COLUMNS}
      from (${auditEventsByTimeSql(exportPairs(visible))}) e
     where ${period.length ? period.join(' and ') : 'true'}
     order by e.at, e.customer_id, e.rank, e.key`;
  // A subquery with ORDER BY is not pulled up: the outer list is evaluated on the merged rows, in their order.
  const sql = `with export_scope as materialized (select ?::uuid as partner_id, ?::uuid as viewer_partner_id)
    ${options.columns ? `select ${options.columns} from (${ordered}) r` : ordered}`;
  return { sql, params };
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
 * client would hold them); no sorts where an index gives the order (`exportSql`: COPY plans for
 * the whole result, and would sort a partner's rows of a large table before the first byte); no
 * statement timeout, whatever the role's default: a whole export is one long COPY, bounded by
 * the write timeout and the export slots instead.
 */
export const EXPORT_BEGIN =
  "begin isolation level repeatable read read only; set local time zone 'UTC'; set local datestyle = 'ISO'; set local max_parallel_workers_per_gather = 0; set local enable_sort = off; set local statement_timeout = 0";
