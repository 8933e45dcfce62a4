import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from 'pg';
import type { Services } from '../kernel/context';
import type { Route } from '../kernel/routes';
import { authenticateRoute, RouteError } from '../auth/route-auth';
import { isLinked, isUuid, partnerExists } from '../auth/tenancy';
import { seesAllPartners, type Viewer } from '../auth/viewer';
import { PartnerType } from '../auth/roles';
import { InFlight } from '../common/in-flight';
import { refusalOf, sendRefusal } from '../common/route-answer';
import { copyCsvRecord, copyRowColumns, copyStatement, exportSql, type ExportDbRow, type ExportRequest } from './audit.queries';
import { CSV_HEADER, csvLine, jsonLine, masksContacts } from './audit.format';
import { BinaryRecordBytes, BinaryRowLines, literalSql, openExportConnection, streamCopy } from './audit.copy';
import { ExportSlots } from './export-slots';

/**
 * GET /exports/acceptances?partnerId=&from=&to=&format=csv|jsonl: the audit trail of
 * every customer the caller sees with one partner, for a regulator or an auditor.
 * Streamed with `COPY (<the statement>) TO STDOUT` (src/audit/audit.copy.ts), with
 * backpressure end to end, so memory stays flat however many rows. Each export holds a
 * connection of its own while its client reads, so their number is bounded (ExportSlots),
 * and a client that stops reading is cut after the write timeout.
 */

export const EXPORT_PATH = '/exports/acceptances';
export { EXPORT_APPLICATION_NAME } from './audit.copy';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;
const badInput = (message: string, field: string) => new RouteError(400, 'BAD_USER_INPUT', message, field);

/** An ISO 8601 date (midnight UTC; for `to`, the whole day is included) or date-time with offset. */
function parseInstant(raw: string | null, field: 'from' | 'to'): Date | null {
  if (raw === null || raw === '') return null;
  const date = DATE.test(raw);
  if (!date && !DATE_TIME.test(raw)) throw badInput(`${field} must be an ISO 8601 date (YYYY-MM-DD) or date-time with offset`, field);
  const at = new Date(date ? `${raw}T00:00:00Z` : raw);
  if (Number.isNaN(at.getTime()) || (date && at.toISOString().slice(0, 10) !== raw)) throw badInput(`${field} is not a valid date`, field);
  if (date && field === 'to') at.setUTCDate(at.getUTCDate() + 1);
  return at;
}

export function parseExportRequest(url: URL): ExportRequest {
  const format = url.searchParams.get('format') ?? 'csv';
  if (format !== 'csv' && format !== 'jsonl') throw badInput('format must be csv or jsonl', 'format');
  const partnerId = url.searchParams.get('partnerId') ?? '';
  if (!partnerId) throw badInput('partnerId is required', 'partnerId');
  const from = parseInstant(url.searchParams.get('from'), 'from');
  const to = parseInstant(url.searchParams.get('to'), 'to');
  if (from && to && from >= to) throw badInput('from must be before to', 'to');
  return { partnerId, from, to, format };
}

/** The same rule as `Customer.auditTrail`: platform roles any partner, a partner itself, a reseller its linked providers. */
async function mayExport(em: EntityManager, v: Viewer, partnerId: string): Promise<boolean> {
  if (!isUuid(partnerId)) return false;
  if (seesAllPartners(v)) return partnerExists(em, partnerId);
  if (partnerId === v.partnerId) return true;
  return v.partnerType === PartnerType.INDIRECT_RESELLER && isLinked(em, v.partnerId!, partnerId);
}

function fileName(req: ExportRequest): string {
  const day = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : 'all');
  return `acceptance-audit-${req.partnerId}-${day(req.from)}-${day(req.to)}.${req.format}`;
}

/**
 * Ends `res` when its client has taken nothing for `ms` while the stream waits on it (the
 * response's buffer is full). Answers a function that stops watching.
 */
function writeDeadline(res: ServerResponse, ms: number): () => void {
  let stalledSince: number | null = null;
  const timer = setInterval(
    () => {
      if (!res.writableNeedDrain) return void (stalledSince = null);
      const now = Date.now();
      stalledSince ??= now;
      if (now - stalledSince >= ms) res.destroy(new Error(`the client took nothing for ${ms} ms`));
    },
    Math.max(25, Math.floor(ms / 4)),
  );
  timer.unref();
  return () => clearInterval(timer);
}

/** The export route of one gateway, with its slots and its in-flight exports (ended at stop). */
export function createExportRoute(): { route: Route; stop(): Promise<void> } {
  let slots: ExportSlots | undefined;
  const inFlight = new InFlight();

  async function handle(req: IncomingMessage, res: ServerResponse, services: Services, url: URL): Promise<void> {
    const limits = services.config.auditExport;
    slots ??= new ExportSlots({ total: limits.maxConcurrent, perPartner: limits.maxPerPartner });
    let viewer: Viewer;
    let request: ExportRequest;
    let client: Client | undefined;
    let release: (() => void) | null = null;
    try {
      viewer = await authenticateRoute(services, req.headers.authorization);
      request = parseExportRequest(url);
      if (!(await mayExport(services.orm.em.fork() as EntityManager, viewer, request.partnerId))) throw new RouteError(404, 'NOT_FOUND', 'Partner not found', 'partnerId');
      release = slots.tryAcquire(request.partnerId);
      if (!release) {
        const retryAfter = Math.max(1, Math.ceil(limits.writeTimeoutMs / 1000));
        throw new RouteError(429, 'RATE_LIMITED', `Too many exports in progress; retry after ${retryAfter} s`, undefined, { 'retry-after': String(retryAfter) });
      }
      // Connected (and the plan chosen) before the answer starts, so a database that is down is a 503.
      client = await openExportConnection(services.orm.config.get('clientUrl')!);
    } catch (err) {
      release?.();
      const refusal = refusalOf(err);
      if (!refusal) throw err;
      if (refusal.status === 503) services.log.warn({ err }, 'database unavailable');
      return sendRefusal(res, refusal);
    }
    const exportClient = client;
    const releaseSlot = release;
    try {
      await inFlight.run(async (signal) => {
        const csv = request.format === 'csv';
        // Unmasked CSV: PostgreSQL writes the records. Otherwise its rows as text, formatted (and masked) here.
        const native = csv && !masksContacts(viewer);
        const { sql, params } = exportSql(viewer, request, { columns: native ? copyCsvRecord() : copyRowColumns() });
        const statement = copyStatement(literalSql(services.orm.em.getConnection().getKnex(), sql, params));
        const header = csv ? CSV_HEADER : '';
        const line = csv ? (r: ExportDbRow) => csvLine(viewer, r) : (r: ExportDbRow) => jsonLine(viewer, r);
        const through = native ? new BinaryRecordBytes(header) : new BinaryRowLines<ExportDbRow>(line, header);
        res.writeHead(200, {
          'content-type': csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
          'content-disposition': `attachment; filename="${fileName(request)}"`,
          'cache-control': 'no-store',
        });
        const stopWatching = writeDeadline(res, services.config.auditExport.writeTimeoutMs);
        const onAbort = () => res.destroy(signal.reason as Error);
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          await streamCopy(exportClient, statement, through, res);
        } finally {
          stopWatching();
          signal.removeEventListener('abort', onAbort);
        }
      });
    } catch (err) {
      await exportClient.end().catch(() => undefined);
      if (!res.headersSent) {
        const refusal = refusalOf(err);
        if (!refusal) throw err;
        return sendRefusal(res, refusal);
      }
      if (!res.destroyed) res.destroy(err as Error);
      if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') services.log.warn({ err }, 'acceptance export ended midway');
    } finally {
      releaseSlot();
    }
  }

  return {
    route: { method: 'GET', path: EXPORT_PATH, handle },
    stop: () => inFlight.abortAll(),
  };
}
