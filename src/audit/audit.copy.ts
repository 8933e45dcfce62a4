import { Transform, type TransformCallback } from 'node:stream';
import { escapeLiteral } from 'pg';

/**
 * The export read with `COPY (...) TO STDOUT` instead of a cursor: PostgreSQL sends
 * the rows as bytes in the socket's chunks, and nothing is held across a round trip.
 *
 * - `FORMAT csv` (viewers who see contact values unmasked, CSV): PostgreSQL writes the
 *   records itself and the bytes go to the response as they are. No value becomes a
 *   JS string. Its quoting is the export's (RFC 4180: quoted only when a value holds a
 *   quote, comma or line break), once an empty string is sent as NULL (both are empty
 *   fields) and `at` is written as `Date#toISOString` writes it (`copyCsvColumns`).
 * - `FORMAT binary` (everything else): each row's values as PostgreSQL's text, framed
 *   by lengths. `BinaryRowLines` cuts the frames and formats each row with the
 *   export's own line function (masking included) while the chunk is at hand, so the
 *   row strings die young instead of waiting for the next FETCH.
 */

/** A literal for a statement that cannot take bind parameters (COPY): strings and instants only. */
export function sqlLiteral(value: unknown): string {
  if (value instanceof Date) return `'${value.toISOString()}'::timestamptz`;
  if (typeof value === 'string') return escapeLiteral(value);
  throw new Error(`no literal for ${typeof value}`);
}

/** `?` placeholders of a statement replaced by the literals of its parameters, in order. */
export function inlineParams(sql: string, params: unknown[]): string {
  let i = 0;
  const out = sql.replace(/\?/g, () => {
    if (i >= params.length) throw new Error('more placeholders than parameters');
    return sqlLiteral(params[i++]);
  });
  if (i !== params.length) throw new Error('more parameters than placeholders');
  return out;
}

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

/** An empty string as NULL: COPY's CSV writes it as `""`, the export as an empty field. */
const text = (expr: string) => `nullif(${expr}::text, '')`;

/**
 * The select list of the export's CSV for COPY, in the order of EXPORT_COLUMNS, over the
 * export's ordered rows (alias r). Contact values unmasked: only for viewers who see them so.
 */
export const copyCsvColumns = (): string =>
  [
    isoInstantSql('r.at'),
    text('r.event'),
    text('r.customer_id'),
    text('r.customer_tenant_id'),
    text('r.customer_name'),
    text('r.partner_id'),
    text('r.partner_name'),
    text('r.acceptance_id'),
    text('r.actor_id'),
    text('r.actor_name'),
    text('r.field'),
    text('r.old_value'),
    text('r.new_value'),
    text('r.note'),
  ].join(', ');

/** The select list of the cursor's rows (ExportDbRow), every value as text for FORMAT binary. */
export const copyRowColumns = (): string =>
  [
    'at',
    'event',
    'customer_id',
    'partner_id',
    'acceptance_id',
    'actor_id',
    'field',
    'old_value',
    'new_value',
    'note',
    'customer_tenant_id',
    'customer_name',
    'partner_name',
    'actor_name',
  ]
    .map((c) => `r.${c}::text`)
    .join(', ');

/** COPY's binary signature, flags and header extension length (PostgreSQL docs, "Binary Format"). */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = SIGNATURE.length + 8;

/**
 * Text chunks of about this many characters: even as a two-byte string, below V8's
 * large-object size (128 KiB), so a pushed chunk dies young.
 */
const CHUNK_CHARS = 16 * 1024;

/**
 * `COPY ... (FORMAT binary)` of text columns in, the export's text out: every complete
 * row of a chunk is decoded and formatted by `line` before the next chunk is read. A
 * row cut by a chunk's end waits, as bytes, for the next one.
 */
export class BinaryRowLines<Row extends (string | null)[]> extends Transform {
  private rest: Buffer | null = null;
  private headerRead = false;
  private ended = false;
  private out: string;

  constructor(
    private readonly line: (row: Row) => string,
    header = '',
  ) {
    super({ readableObjectMode: false, writableObjectMode: false, decodeStrings: true });
    this.out = header;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.parse(this.rest ? Buffer.concat([this.rest, chunk]) : chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (!this.ended || this.rest) return done(new Error('COPY ended without its trailer'));
    if (this.out) this.push(this.out);
    this.out = '';
    done();
  }

  private parse(buf: Buffer): void {
    let pos = 0;
    if (!this.headerRead) {
      if (buf.length < HEADER_BYTES) return void (this.rest = buf);
      if (!buf.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('not COPY binary data');
      const extension = buf.readUInt32BE(SIGNATURE.length + 4);
      if (buf.length < HEADER_BYTES + extension) return void (this.rest = buf);
      pos = HEADER_BYTES + extension;
      this.headerRead = true;
    }
    const end = buf.length;
    for (;;) {
      if (this.ended) {
        if (pos < end) throw new Error('data after the COPY trailer');
        break;
      }
      const start = pos;
      if (end - pos < 2) break;
      const fields = buf.readInt16BE(pos);
      pos += 2;
      if (fields === -1) {
        this.ended = true;
        continue;
      }
      const row = new Array<string | null>(fields);
      let complete = true;
      for (let i = 0; i < fields; i++) {
        if (end - pos < 4) {
          complete = false;
          break;
        }
        const length = buf.readInt32BE(pos);
        pos += 4;
        if (length === -1) {
          row[i] = null;
          continue;
        }
        if (end - pos < length) {
          complete = false;
          break;
        }
        row[i] = buf.toString('utf8', pos, pos + length);
        pos += length;
      }
      if (!complete) {
        pos = start;
        break;
      }
      this.out += this.line(row as Row);
      if (this.out.length >= CHUNK_CHARS) {
        this.push(this.out);
        this.out = '';
      }
    }
    // Copied: a view would keep the whole chunk alive.
    this.rest = pos < end ? Buffer.from(buf.subarray(pos)) : null;
  }
}
