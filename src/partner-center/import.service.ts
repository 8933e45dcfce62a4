import { policyRules } from '../policy/policy.queries';
import { assertRecordableWithoutAttestation } from '../policy/policy.rules';
import type { Readable } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../errors';
import { RouteError } from '../auth/route-auth';
import type { Viewer } from '../auth/viewer';
import { DateScalar } from '../common/scalars';
import { recordConfirmations, type ConfirmationRow } from '../acceptance/acceptance.service';
import { checkConfirmationDetails, templateIdOf } from '../acceptance/acceptance.rules';
import { Channel, EvidenceSource } from '../acceptance/acceptance.enums';
import { AgreementTemplate } from '../agreements/agreement.entity';
import type { SpooledUpload } from './import.spool';
import { claimImport, customersByTenant, importByKey, recordImportResult } from './import.queries';
import { appendAuditChain } from '../audit/audit.chain';

/** The bulk file Partner Center refuses, accepted here line by line (DESIGN.md section 8). */

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

const badRequest = (message: string) => new RouteError(400, 'BAD_REQUEST', message);

/** Input field names of the confirmation mapped back to the file's columns. */
function columnOf(field: string | undefined): string {
  if (!field) return 'line';
  if (field === 'customerId' || field === 'partnerId') return 'customerTenantId';
  return field.replace(/^contact\./, '');
}

/** The header row must name exactly the documented columns (any order). */
function checkHeader(header: string[]): string[] {
  const names = header.map((h) => h.trim());
  const missing = IMPORT_COLUMNS.filter((c) => !names.includes(c));
  const unknown = names.filter((n) => !(IMPORT_COLUMNS as readonly string[]).includes(n));
  if (missing.length || unknown.length || new Set(names).size !== names.length) {
    throw badRequest(`The header row must be ${IMPORT_COLUMNS.join(',')}${missing.length ? `; missing: ${missing.join(', ')}` : ''}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`);
  }
  return names;
}

/**
 * Parses the file and records each valid line as confirmCustomerAcceptance would: the
 * same pure checks (checkConfirmationDetails) and the same writer and outbox
 * (recordConfirmations), a chunk of lines at a time in a few set-based statements, all in
 * the caller's ONE transaction: a file refused half-way (malformed) leaves nothing behind.
 * Lines for the same customer are recorded in file order, each superseding the one before.
 * `signal` (the gateway stopping) ends it between chunks, and the transaction rolls back.
 */
async function importLines(
  file: Readable,
  bytes: number,
  tx: EntityManager,
  viewer: Viewer,
  signal: AbortSignal | undefined,
  /** Customers whose confirmations were recorded (their pairs are chained at the end). */
  chained: Set<string>,
): Promise<Omit<ImportResult, 'importId'>> {
  // The policy decides which lines need an attestation instead (read once per file, before the parser starts).
  const rules = await policyRules(tx);
  const parser = file.pipe(parse({ bom: true, columns: checkHeader, skip_empty_lines: true, trim: true, info: true }));
  file.on('error', (err) => parser.destroy(err));
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
    signal?.throwIfAborted();
    // As in the API (src/server/limits.ts), a NUL character refuses the value first; it never reaches SQL.
    const nulOf = (record: Line) => IMPORT_COLUMNS.find((c) => record[c].includes('\u0000'));
    const clean = chunk.filter((c) => !nulOf(c.record)).map((c) => c.record);
    const customers = await customersByTenant(tx, viewer, [...new Set(clean.map((r) => r.customerTenantId).filter(Boolean))]);
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
        assertRecordableWithoutAttestation(rules, Channel.API, now, details.dateAgreed);
        valid.push({
          line,
          row: { customerId: customer.id, templateId: details.template.templateId, dateAgreed: details.dateAgreed, contact: details.contact, onBehalfOf: null, channel: Channel.API, source: EvidenceSource.BULK_IMPORT },
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
      false,
    );
    for (const v of valid) chained.add(v.row.customerId);
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
    if (err instanceof CsvError) throw badRequest(`Malformed CSV: ${err.message}`);
    throw err;
  } finally {
    file.destroy();
  }
  if (!parser.info.records && parser.info.lines <= 1 && bytes === 0) throw badRequest(`The file is empty; its first row must be ${IMPORT_COLUMNS.join(',')}`);
  return result;
}

export type ImportOutcome = { replayed: false; result: ImportResult } | { replayed: true; result: ImportResult };

/**
 * Imports a spooled file for the viewer's partner in one transaction, or answers the first
 * import's result when `key` was used before for the same bytes (CONFLICT for other bytes).
 */
export async function importAcceptances(em: EntityManager, viewer: Viewer, upload: SpooledUpload, key: string | null, signal?: AbortSignal): Promise<ImportOutcome> {
  const outcome = await em.transactional(async (t) => {
    const tx = t as EntityManager;
    const importId = await claimImport(tx, viewer.partnerId!, key, viewer.userId);
    if (!importId) return null;
    const chained = new Set<string>();
    const lines = await importLines(upload.open(), upload.bytes, tx, viewer, signal, chained);
    const result: ImportResult = { importId, ...lines };
    await recordImportResult(tx, importId, result, upload.hash);
    // The audit chain of every pair imported, once, as the transaction's last lock (src/audit/audit.chain.ts).
    await appendAuditChain(
      tx,
      [...chained].map((customerId) => ({ customerId, partnerId: viewer.partnerId! })),
      { partnerWide: true },
    );
    return { replayed: false as const, result };
  });
  if (outcome) return outcome;
  const first = (await importByKey<ImportResult>(em, viewer.partnerId!, key!))!;
  if (first.file_hash !== upload.hash) throw new RouteError(409, 'CONFLICT', 'This Idempotency-Key was used for a different file');
  return { replayed: true, result: first.result };
}
