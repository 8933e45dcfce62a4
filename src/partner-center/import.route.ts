import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../errors';
import { bearer, InvalidTokenError } from '../auth/token';
import { UnknownPartnerError, type Viewer } from '../auth/viewer';
import { visibleCustomerExists } from '../auth/tenancy';
import { DateScalar } from '../common/scalars';
import { Role, PartnerType } from '../auth/roles';
import { recordConfirmations, type ConfirmationRow } from '../acceptance/acceptance.service';
import { checkConfirmationDetails, templateIdOf } from '../acceptance/acceptance.rules';
import { Channel } from '../acceptance/acceptance.enums';
import { AgreementTemplate } from '../agreements/agreement.entity';
import type { Services } from '../kernel/context';
import { sendJson, type Route } from '../kernel/routes';

/** The bulk file Partner Center refuses, accepted here line by line (DESIGN.md section 8). */

export const MAX_IMPORT_BYTES = 50 * 1024 * 1024;
export const IMPORT_COLUMNS = ['customerTenantId', 'firstName', 'lastName', 'email', 'phoneNumber', 'dateAgreed', 'templateId'] as const;
/** Invalid lines reported in the answer; the count covers them all. */
const MAX_REPORTED = 1000;
/** Lines validated together and recorded in a few set-based statements. */
const CHUNK = 1000;

type Line = Record<(typeof IMPORT_COLUMNS)[number], string>;

export interface LineError {
  line: number;
  field: string;
  code: string;
  message: string;
}

export interface ImportResult {
  importId: string;
  accepted: number;
  rejected: number;
  errors: LineError[];
  errorsTruncated: boolean;
}

/** A refusal of the whole file: nothing of it is recorded. */
class ImportRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const refuse = (res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  sendJson(res, status, { errors: [{ message, extensions: { code } }] }, headers);

/** Input field names of the confirmation mapped back to the file's columns. */
function columnOf(field: string | undefined): string {
  if (!field) return 'line';
  if (field === 'customerId' || field === 'partnerId') return 'customerTenantId';
  return field.replace(/^contact\./, '');
}

/** Counts and hashes the bytes on their way to the parser; past the limit the file is refused. */
class Meter extends Transform {
  bytes = 0;
  readonly hash = createHash('sha256');
  constructor(private readonly limit: number) {
    super();
  }
  _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return done(new ImportRefused(413, 'PAYLOAD_TOO_LARGE', `The file is over the ${this.limit / 1024 / 1024} MB limit`));
    this.hash.update(chunk);
    done(null, chunk);
  }
}

async function authenticate(req: IncomingMessage, services: Services, em: EntityManager): Promise<Viewer> {
  const token = bearer(req.headers.authorization);
  if (!token) throw new ImportRefused(401, 'UNAUTHENTICATED', 'A bearer token of the billing partner (AGENT or ADMIN) is required');
  let viewer: Viewer;
  try {
    viewer = await services.viewers.resolve(em, await services.tokens.verify(token));
  } catch (err) {
    if (err instanceof InvalidTokenError || err instanceof UnknownPartnerError) throw new ImportRefused(401, 'UNAUTHENTICATED', `Invalid token: ${err.message}`);
    throw err;
  }
  if (!viewer.partnerId || !viewer.roles.some((r) => r === Role.AGENT || r === Role.ADMIN)) {
    throw new ImportRefused(403, 'FORBIDDEN', "Only a billing partner's AGENT or ADMIN imports acceptances");
  }
  if (viewer.partnerType === PartnerType.INDIRECT_RESELLER) {
    throw new ImportRefused(403, 'FORBIDDEN', 'A reseller cannot record confirmations; submit them to your provider');
  }
  return viewer;
}

/** The header row must name exactly the documented columns (any order). */
function checkHeader(header: string[]): string[] {
  const names = header.map((h) => h.trim());
  const missing = IMPORT_COLUMNS.filter((c) => !names.includes(c));
  const unknown = names.filter((n) => !(IMPORT_COLUMNS as readonly string[]).includes(n));
  if (missing.length || unknown.length || new Set(names).size !== names.length) {
    throw new ImportRefused(400, 'BAD_REQUEST', `The header row must be ${IMPORT_COLUMNS.join(',')}${missing.length ? `; missing: ${missing.join(', ')}` : ''}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`);
  }
  return names;
}

/** A chunk's customers by tenant id (visible to the viewer), with what the rules need. */
async function customersOf(tx: EntityManager, viewer: Viewer, tenantIds: string[]): Promise<Map<string, { id: string; cloud: string; country: string }>> {
  if (tenantIds.length === 0) return new Map();
  const visible = visibleCustomerExists(viewer, 'c.id');
  const rows = await tx
    .getConnection()
    .execute<{ id: string; tenant_id: string; cloud: string; country: string }[]>(
      `select c.id, c.tenant_id, c.cloud, c.country from customers c where c.tenant_id in (?) and ${visible.sql}`,
      [tenantIds, ...visible.params],
      'all',
      tx.getTransactionContext(),
    );
  return new Map(rows.map((r) => [r.tenant_id, r]));
}

/**
 * Streams the file through the parser and records each valid line as
 * confirmCustomerAcceptance would: the same pure checks (checkConfirmationDetails) and
 * the same writer and outbox (recordConfirmations), a chunk of lines at a time in a few
 * set-based statements, all in ONE transaction: a file refused half-way (malformed, too
 * large) leaves nothing behind. Lines for the same customer are recorded in file order,
 * each superseding the one before.
 */
async function importLines(req: IncomingMessage, tx: EntityManager, viewer: Viewer, meter: Meter): Promise<Omit<ImportResult, 'importId'>> {
  const parser = parse({ bom: true, columns: checkHeader, skip_empty_lines: true, trim: true, info: true });
  req.pipe(meter);
  pipeline(meter, parser, () => {});
  const partnerId = viewer.partnerId!;
  const result = { accepted: 0, rejected: 0, errors: [] as LineError[], errorsTruncated: false };
  const reject = (e: LineError) => {
    result.rejected++;
    if (result.errors.length < MAX_REPORTED) result.errors.push(e);
    else result.errorsTruncated = true;
  };
  const rejectError = (line: number, err: unknown) => {
    if (!(err instanceof AppError)) throw err;
    return { line, field: columnOf(err.extensions.field as string | undefined), code: err.code, message: err.message };
  };
  // Templates by id for the whole file (null: none of that id), looked up once per new id.
  const templates = new Map<string, AgreementTemplate | null>();
  // Each chunk records after the instants the one before used.
  let at = new Date();
  let chunk: { line: number; record: Line }[] = [];

  const flush = async () => {
    // As in the API (src/server/limits.ts), a NUL character refuses the value first; it never reaches SQL.
    const nulOf = (record: Line) => IMPORT_COLUMNS.find((c) => record[c].includes('\u0000'));
    const clean = chunk.filter((c) => !nulOf(c.record)).map((c) => c.record);
    const customers = await customersOf(tx, viewer, [...new Set(clean.map((r) => r.customerTenantId).filter(Boolean))]);
    const unknown = [...new Set(clean.map((r) => templateIdOf(r.templateId)))].filter((id) => id && !templates.has(id));
    if (unknown.length) {
      const found = await tx.find(AgreementTemplate, { templateId: { $in: unknown } });
      for (const id of unknown) templates.set(id, found.find((t) => t.templateId === id) ?? null);
    }
    const now = new Date();
    const errors: LineError[] = [];
    const valid: { line: number; row: ConfirmationRow }[] = [];
    for (const { line, record } of chunk) {
      const nul = nulOf(record);
      if (nul) {
        errors.push({ line, field: nul, code: 'BAD_USER_INPUT', message: `${nul} must not contain the NUL character` });
        continue;
      }
      if (!record.customerTenantId) {
        errors.push({ line, field: 'customerTenantId', code: 'BAD_USER_INPUT', message: 'customerTenantId is required' });
        continue;
      }
      const customer = customers.get(record.customerTenantId);
      if (!customer) {
        errors.push({ line, field: 'customerTenantId', code: 'NOT_FOUND', message: `Customer ${record.customerTenantId} not found` });
        continue;
      }
      let dateAgreed: string;
      try {
        dateAgreed = DateScalar.parseValue(record.dateAgreed) as string;
      } catch {
        errors.push({ line, field: 'dateAgreed', code: 'BAD_USER_INPUT', message: 'dateAgreed must be a date YYYY-MM-DD' });
        continue;
      }
      try {
        // The confirmation's own checks, in its order (src/acceptance/acceptance.rules.ts).
        const details = checkConfirmationDetails(
          customer,
          templates.get(templateIdOf(record.templateId)) ?? null,
          {
            templateId: record.templateId,
            dateAgreed,
            contact: { firstName: record.firstName, lastName: record.lastName, email: record.email, phoneNumber: record.phoneNumber || null },
          },
          now,
        );
        valid.push({
          line,
          row: { customerId: customer.id, templateId: details.template.templateId, dateAgreed: details.dateAgreed, contact: details.contact, onBehalfOf: null, channel: Channel.API },
        });
      } catch (err) {
        errors.push(rejectError(line, err));
      }
    }
    const { outcomes, latest } = await recordConfirmations(
      tx,
      partnerId,
      viewer.userId,
      valid.map((v) => v.row),
      new Date(Math.max(Date.now(), at.getTime())),
    );
    at = latest;
    outcomes.forEach((o, i) => {
      if (o instanceof AppError) errors.push(rejectError(valid[i].line, o));
      else result.accepted++;
    });
    // Reported in line order, whichever step refused them.
    errors.sort((x, y) => x.line - y.line).forEach(reject);
    chunk = [];
  };

  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Line; info: { lines: number } }>) {
      chunk.push({ line: info.lines, record });
      if (chunk.length >= CHUNK) await flush();
    }
    if (chunk.length) await flush();
  } catch (err) {
    if (err instanceof ImportRefused) throw err;
    if (err instanceof CsvError) throw new ImportRefused(400, 'BAD_REQUEST', `Malformed CSV: ${err.message}`);
    throw err;
  }
  if (!parser.info.records && parser.info.lines <= 1 && meter.bytes === 0) throw new ImportRefused(400, 'BAD_REQUEST', `The file is empty; its first row must be ${IMPORT_COLUMNS.join(',')}`);
  return result;
}

/** Reads and hashes a body that is not imported (a replayed Idempotency-Key). */
async function hashBody(req: IncomingMessage): Promise<string> {
  const meter = new Meter(MAX_IMPORT_BYTES);
  req.pipe(meter);
  for await (const _ of meter) {
    // consumed for the hash only
  }
  return meter.hash.digest('hex');
}

async function handleImport(req: IncomingMessage, res: ServerResponse, services: Services): Promise<void> {
  const started = Date.now();
  const requestId = String(res.getHeader('x-request-id') ?? '');
  const em = services.orm.em.fork() as EntityManager;
  const log = services.log.child({ component: 'partner-center-import', requestId });
  try {
    const viewer = await authenticate(req, services, em);
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'text/csv') throw new ImportRefused(415, 'UNSUPPORTED_MEDIA_TYPE', `The file must be sent as text/csv, not ${type || 'without a content type'}`);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_IMPORT_BYTES) throw new ImportRefused(413, 'PAYLOAD_TOO_LARGE', `The file is over the ${MAX_IMPORT_BYTES / 1024 / 1024} MB limit`);
    const rawKey = req.headers['idempotency-key'];
    const key = typeof rawKey === 'string' && rawKey.trim() ? rawKey.trim() : null;
    if (key && key.length > 200) throw new ImportRefused(400, 'BAD_REQUEST', 'Idempotency-Key is longer than 200 characters');

    const outcome = await em.transactional(async (t) => {
      const tx = t as EntityManager;
      const conn = tx.getConnection();
      const ctx = tx.getTransactionContext();
      // First, so a concurrent import with the same key waits for this one and then replays it.
      const [created] = await conn.execute<{ id: string }[]>(
        `insert into acceptance_imports (id, partner_id, idempotency_key, imported_by_id, created_at) values (gen_random_uuid(), ?, ?, ?, now())
         on conflict (partner_id, idempotency_key) do nothing returning id`,
        [viewer.partnerId, key, viewer.userId],
        'all',
        ctx,
      );
      if (!created) return { replayed: true as const };
      const meter = new Meter(MAX_IMPORT_BYTES);
      const lines = await importLines(req, tx, viewer, meter);
      const result: ImportResult = { importId: created.id, ...lines };
      await conn.execute('update acceptance_imports set result = ?, file_hash = ? where id = ?', [JSON.stringify(result), meter.hash.digest('hex'), created.id], 'all', ctx);
      return { replayed: false as const, result };
    });

    if (outcome.replayed) {
      const hash = await hashBody(req);
      const [first] = await em
        .getConnection()
        .execute<{ file_hash: string; result: ImportResult }[]>('select file_hash, result from acceptance_imports where partner_id = ? and idempotency_key = ?', [viewer.partnerId, key]);
      if (first.file_hash !== hash) throw new ImportRefused(409, 'CONFLICT', 'This Idempotency-Key was used for a different file');
      log.info({ partnerId: viewer.partnerId, importId: first.result.importId, replayed: true }, 'acceptance import');
      return sendJson(res, 200, { ...first.result, replayed: true });
    }
    const { result } = outcome;
    log.info({ partnerId: viewer.partnerId, userId: viewer.userId, importId: result.importId, accepted: result.accepted, rejected: result.rejected, durationMs: Date.now() - started }, 'acceptance import');
    return sendJson(res, 200, { ...result, replayed: false });
  } catch (err) {
    if (!(err instanceof ImportRefused)) throw err;
    // The rest of an unread body is drained so the answer reaches the client.
    req.unpipe();
    req.resume();
    log.info({ status: err.status, code: err.code }, 'acceptance import refused');
    return refuse(res, err.status, err.code, err.message, err.status === 413 ? { connection: 'close' } : {});
  }
}

export const importRoute: Route = {
  method: 'POST',
  path: '/imports/acceptances',
  handle: (req, res, services) => handleImport(req, res, services),
};
