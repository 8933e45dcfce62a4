import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Services } from '../kernel/context';
import { sendJson, type Route } from '../kernel/routes';
import { authenticateRoute, RouteError } from '../auth/route-auth';
import type { Viewer } from '../auth/viewer';
import { Role, PartnerType } from '../auth/roles';
import { InFlight } from '../common/in-flight';
import { refusalOf, sendRefusal } from '../common/route-answer';
import { importAcceptances } from './import.service';
import { spoolUpload, type SpooledUpload } from './import.spool';

/**
 * POST /imports/acceptances (text/csv): the bulk file, read whole (src/partner-center/import.spool.ts)
 * before the transaction that records it (src/partner-center/import.service.ts), so no
 * connection waits on the client.
 */

export const IMPORT_PATH = '/imports/acceptances';

/** Only a billing partner's AGENT or ADMIN records confirmations in bulk. */
function assertMayImport(viewer: Viewer): void {
  if (!viewer.partnerId || !viewer.roles.some((r) => r === Role.AGENT || r === Role.ADMIN)) {
    throw new RouteError(403, 'FORBIDDEN', "Only a billing partner's AGENT or ADMIN imports acceptances");
  }
  if (viewer.partnerType === PartnerType.INDIRECT_RESELLER) {
    throw new RouteError(403, 'FORBIDDEN', 'A reseller cannot record confirmations; submit them to your provider');
  }
}

/** The import route of one gateway, with its in-flight imports (ended at stop). */
export function createImportRoute(): { route: Route; stop(): Promise<void> } {
  const inFlight = new InFlight();

  async function handle(req: IncomingMessage, res: ServerResponse, services: Services): Promise<void> {
    const started = Date.now();
    const requestId = String(res.getHeader('x-request-id') ?? '');
    const log = services.log.child({ component: 'partner-center-import', requestId });
    const maxBytes = services.config.bulkImport.maxBytes;
    let upload: SpooledUpload | undefined;
    try {
      await inFlight.run(async (signal) => {
        const viewer = await authenticateRoute(services, req.headers.authorization, 'A bearer token of the billing partner (AGENT or ADMIN) is required');
        assertMayImport(viewer);
        const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (type !== 'text/csv') throw new RouteError(415, 'UNSUPPORTED_MEDIA_TYPE', `The file must be sent as text/csv, not ${type || 'without a content type'}`);
        const declared = Number(req.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) throw new RouteError(413, 'PAYLOAD_TOO_LARGE', `The file is over the ${Math.round((maxBytes / 1024 / 1024) * 100) / 100} MB limit`, undefined, { connection: 'close' });
        const rawKey = req.headers['idempotency-key'];
        const key = typeof rawKey === 'string' && rawKey.trim() ? rawKey.trim() : null;
        if (key && key.length > 200) throw new RouteError(400, 'BAD_REQUEST', 'Idempotency-Key is longer than 200 characters');

        upload = await spoolUpload(req, maxBytes, signal);
        const { replayed, result } = await importAcceptances(services.orm.em.fork() as EntityManager, viewer, upload, key, signal);
        log.info(
          { partnerId: viewer.partnerId, userId: viewer.userId, importId: result.importId, accepted: result.accepted, rejected: result.rejected, replayed, durationMs: Date.now() - started },
          'acceptance import',
        );
        sendJson(res, 200, { ...result, replayed });
      });
    } catch (err) {
      // A client that went away (or a stop) mid-upload: nothing was recorded, and there is no one to answer.
      if (res.destroyed || (req.destroyed && !req.complete)) return void log.info({ reason: (err as Error).message }, 'acceptance import abandoned');
      const refusal = refusalOf(err);
      if (!refusal) throw err;
      // The rest of an unread body is drained so the answer reaches the client.
      req.unpipe();
      req.resume();
      log.info({ status: refusal.status, code: refusal.code }, 'acceptance import refused');
      return sendRefusal(res, refusal);
    } finally {
      await upload?.dispose();
    }
  }

  return {
    route: { method: 'POST', path: IMPORT_PATH, handle: (req, res, services) => handle(req, res, services) },
    stop: () => inFlight.abortAll(),
  };
}
