import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RouteError } from '../auth/route-auth';

/**
 * An upload read whole into a temporary file before the database is touched, so that no
 * transaction (and no pool connection) waits on a client that trickles or goes away.
 * On the way its bytes are counted against the limit, hashed (Idempotency-Key replays
 * compare the hash), and checked to be UTF-8 line by line: a Latin-1 file would otherwise
 * be stored with U+FFFD in place of its letters.
 */
export interface SpooledUpload {
  bytes: number;
  /** sha256 of the bytes, hex. */
  hash: string;
  /** The file again, from its first byte. */
  open(): Readable;
  /** Removes the file. */
  dispose(): Promise<void>;
}

const tooLarge = (limit: number) => new RouteError(413, 'PAYLOAD_TOO_LARGE', `The file is over the ${Math.round((limit / 1024 / 1024) * 100) / 100} MB limit`, undefined, { connection: 'close' });

/** Counts, hashes and checks the encoding of the bytes on their way to the file. */
class Meter extends Transform {
  bytes = 0;
  readonly hash = createHash('sha256');
  private line = 1;
  /** The start of a line whose end has not arrived yet, in pieces (joined once, when it ends). */
  private partial: Buffer[] = [];

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return done(tooLarge(this.limit));
    this.hash.update(chunk);
    try {
      this.checkLines(chunk);
    } catch (err) {
      return done(err as Error);
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.partial.length && !isUtf8(Buffer.concat(this.partial))) return done(this.notUtf8());
    done();
  }

  /** A UTF-8 sequence never holds the byte 0x0A, so each line can be checked alone. */
  private checkLines(chunk: Buffer): void {
    let start = 0;
    for (let end = chunk.indexOf(10, start); end !== -1; end = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, end);
      const whole = this.partial.length ? Buffer.concat([...this.partial, piece]) : piece;
      this.partial = [];
      if (!isUtf8(whole)) throw this.notUtf8();
      this.line++;
      start = end + 1;
    }
    if (start < chunk.length) {
      this.partial.push(chunk.subarray(start));
    }
  }

  private notUtf8(): RouteError {
    return new RouteError(400, 'BAD_USER_INPUT', `Line ${this.line} is not valid UTF-8: the file must be encoded as UTF-8`, 'line');
  }
}

/** Reads `body` whole (at most `limit` bytes) into a temporary file; refusals are RouteErrors. */
export async function spoolUpload(body: Readable, limit: number, signal?: AbortSignal): Promise<SpooledUpload> {
  const dir = await mkdtemp(join(tmpdir(), 'consent-import-'));
  const file = join(dir, 'upload.csv');
  const dispose = () => rm(dir, { recursive: true, force: true });
  const meter = new Meter(limit);
  // Piped, not in the pipeline: a refusal (too large, not UTF-8) must leave the request open for its answer.
  const cut = () => {
    if (!(body as { complete?: boolean }).complete) meter.destroy(new Error('the upload ended before its end (client gone)'));
  };
  body.once('close', cut);
  body.pipe(meter);
  try {
    await pipeline(meter, createWriteStream(file), { signal });
  } catch (err) {
    body.unpipe(meter);
    await dispose();
    throw err;
  } finally {
    body.off('close', cut);
  }
  return { bytes: meter.bytes, hash: meter.hash.digest('hex'), open: () => createReadStream(file), dispose };
}
