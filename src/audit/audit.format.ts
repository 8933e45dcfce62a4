import { types } from 'pg';
import type { Viewer } from '../auth/viewer';
import { CONTACT_FIELDS } from '../acceptance/acceptance.rules';
import { maskedValue } from './audit.sql';
import type { ExportDbRow } from './audit.queries';

/** The export's records as text (CSV or JSON Lines), for rows the gateway formats itself (src/audit/audit.copy.ts). */

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
/** What a spreadsheet reads as a formula (OWASP, CSV injection). */
const FORMULA = /^[=+\-@\t\r]/;

/**
 * A text value as a CSV field: null is empty; a value a spreadsheet would read as a formula
 * is quoted with a leading apostrophe inside the quotes (OWASP's CSV-injection guidance);
 * otherwise RFC 4180 as csv-stringify writes it by default, quoted only when it holds a quote,
 * comma or line break. PostgreSQL writes the same (src/audit/audit.queries.ts, copyCsvRecord).
 */
export function csvField(v: string | null): string {
  if (v === null) return '';
  if (FORMULA.test(v)) return `"'${v.replace(/"/g, '""')}"`;
  return NEEDS_QUOTES.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export const CSV_HEADER = `${EXPORT_COLUMNS.join(',')}\n`;

/** A row as a CSV record; `at` is an instant (ISO text, which may start with '-'), every other column text. */
export function csvLine(viewer: Viewer, r: ExportDbRow): string {
  const v = exportValues(viewer, r);
  let line = v[0]!;
  for (let i = 1; i < v.length; i++) line += `,${csvField(v[i])}`;
  return `${line}\n`;
}

const JSON_KEYS = EXPORT_COLUMNS.map((c, i) => `${i ? ',' : '{'}${JSON.stringify(c)}:`);
/** A row as a JSON line: `JSON.stringify` of an object with the keys of EXPORT_COLUMNS, in that order. */
export function jsonLine(viewer: Viewer, r: ExportDbRow): string {
  const v = exportValues(viewer, r);
  let line = '';
  for (let i = 0; i < v.length; i++) line += JSON_KEYS[i] + JSON.stringify(v[i]);
  return `${line}}\n`;
}

/** Whether the one masking helper changes any contact value for this viewer (analysts). */
export function masksContacts(viewer: Viewer): boolean {
  const probe = 'probe@example.com';
  return CONTACT_FIELDS.some((field) => maskedValue(viewer, field, probe) !== probe);
}
