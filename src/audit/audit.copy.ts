import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Knex } from '@mikro-orm/postgresql';
import { EXPORT_BEGIN } from './audit.queries';

/**
 * The export read with `COPY (...) TO STDOUT (FORMAT binary)` instead of a cursor:
 * PostgreSQL sends the rows as bytes in the socket's chunks, and nothing is held across
 * a round trip. COPY takes no bind parameters, so the statement's values are written
 * into it as literals by knex (`literalSql`).
 *
 * - Unmasked CSV: PostgreSQL writes each record as one text value (copyCsvRecord in
 *   src/audit/audit.queries.ts); `BinaryRecordBytes` passes their bytes on as they are.
 *   No value becomes a JS string.
 * - Everything else: each row's values as PostgreSQL's text. `BinaryRowLines` cuts the
 *   frames and formats each row with the export's own line function (masking included)
 *   while the chunk is at hand, so the row strings die young.
 */

/** The export's connections, by name in pg_stat_activity. */
export const EXPORT_APPLICATION_NAME = 'consent-gateway export';

/** A statement with `?` placeholders, its values written in as literals (knex's escaping). */
export const literalSql = (knex: Knex, sql: string, params: unknown[]): string => knex.raw(sql, params as Knex.RawBinding[]).toQuery();

/**
 * The export's connection, opened in one place: its own (not the ORM pool's, which GraphQL
 * needs), named for pg_stat_activity, in one read-only repeatable-read transaction. The caller
 * holds an export slot (src/audit/export-slots.ts) for as long, which bounds their number.
 */
export async function openExportConnection(connectionString: string): Promise<Client> {
  const client = new Client({ connectionString, application_name: EXPORT_APPLICATION_NAME, connectionTimeoutMillis: 3_000 });
  // A connection cut on abort is expected; its error reaches the COPY stream (and pipeline) too.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(EXPORT_BEGIN);
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/**
 * Streams `statement` (a COPY ... TO STDOUT) through `through` into `out` on the export's
 * connection, then ends the connection. pipeline applies backpressure end to end (the COPY
 * stream reads the socket only when asked); when `out` fails or goes away, ending the
 * connection cuts it (a COPY cannot be interrupted by a rollback), which ends the backend's COPY.
 */
export async function streamCopy(client: Client, statement: string, through: Transform, out: Writable): Promise<void> {
  let finished = false;
  try {
    const rows = client.query(copyTo(statement));
    rows.on('error', () => undefined); // may come after pipeline has settled (the connection cut on abort)
    await pipeline(rows, through, out);
    await client.query('commit');
    finished = true;
  } finally {
    // With the COPY still running, end() destroys the socket; otherwise it says goodbye.
    if (!finished) await client.end().catch(() => undefined);
    else await client.end();
  }
}

/** COPY's binary signature, flags and header extension length (PostgreSQL docs, "Binary Format"). */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = SIGNATURE.length + 8;

/**
 * `COPY ... (FORMAT binary)` in: each complete row of a chunk is handed to `row` before the
 * next chunk is read. A row cut by a chunk's end waits, as bytes, for the next one.
 */
abstract class CopyBinaryRows extends Transform {
  private rest: Buffer | null = null;
  private headerRead = false;
  private ended = false;

  constructor() {
    super({ readableObjectMode: false, writableObjectMode: false, decodeStrings: true });
  }

  /** One complete row: `fields` values framed from `pos` (a 4-byte length, -1 for NULL, then the bytes). */
  protected abstract row(buf: Buffer, pos: number, fields: number): void;
  /** After the trailer: push what is left. */
  protected abstract finish(): void;
  /** After each chunk's complete rows. */
  protected afterChunk(): void {}

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.parse(this.rest ? Buffer.concat([this.rest, chunk]) : chunk);
      this.afterChunk();
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (!this.ended || this.rest) return done(new Error('COPY ended without its trailer'));
    this.finish();
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
      if (end - pos < 2) break;
      const fields = buf.readInt16BE(pos);
      if (fields === -1) {
        pos += 2;
        this.ended = true;
        continue;
      }
      // Complete? Walk the lengths first; the row is handed on only whole.
      let next = pos + 2;
      for (let i = 0; i < fields && next <= end; i++) {
        if (end - next < 4) {
          next = end + 1;
          break;
        }
        const length = buf.readInt32BE(next);
        next += 4 + (length === -1 ? 0 : length);
      }
      if (next > end) break;
      this.row(buf, pos + 2, fields);
      pos = next;
    }
    // Copied: a view would keep the whole chunk alive.
    this.rest = pos < end ? Buffer.from(buf.subarray(pos)) : null;
  }
}

/**
 * Text chunks of about this many characters: even as a two-byte string, below V8's
 * large-object size (128 KiB), so a pushed chunk dies young.
 */
const CHUNK_CHARS = 16 * 1024;

/** Rows of text columns in, the export's text out: each row formatted by `line`. */
export class BinaryRowLines<Row extends (string | null)[]> extends CopyBinaryRows {
  private out: string;

  constructor(
    private readonly line: (row: Row) => string,
    header = '',
  ) {
    super();
    this.out = header;
  }

  protected row(buf: Buffer, pos: number, fields: number): void {
    const row = new Array<string | null>(fields);
    for (let i = 0; i < fields; i++) {
      const length = buf.readInt32BE(pos);
      pos += 4;
      if (length === -1) {
        row[i] = null;
        continue;
      }
      row[i] = buf.toString('utf8', pos, pos + length);
      pos += length;
    }
    this.out += this.line(row as Row);
    if (this.out.length >= CHUNK_CHARS) {
      this.push(this.out);
      this.out = '';
    }
  }

  protected finish(): void {
    if (this.out) this.push(this.out);
    this.out = '';
  }
}

/** Rows of one text column (records PostgreSQL wrote) in, their bytes out as they are, after `header`. */
export class BinaryRecordBytes extends CopyBinaryRows {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(header = '') {
    super();
    if (header) this.add(Buffer.from(header, 'utf8'));
  }

  private add(part: Buffer): void {
    this.parts.push(part);
    this.size += part.length;
  }

  protected row(buf: Buffer, pos: number, fields: number): void {
    if (fields !== 1) throw new Error(`expected one column of records, got ${fields}`);
    const length = buf.readInt32BE(pos);
    if (length > 0) this.add(buf.subarray(pos + 4, pos + 4 + length));
  }

  /** The chunk's records in one copy (views would keep the whole chunk alive). */
  protected override afterChunk(): void {
    this.finish();
  }

  protected finish(): void {
    if (this.size) this.push(Buffer.concat(this.parts, this.size));
    this.parts = [];
    this.size = 0;
  }
}
