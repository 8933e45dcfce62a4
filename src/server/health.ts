import type { Route } from '../kernel/routes';
import { sendJson } from '../kernel/routes';

/** /healthz: the process is up. /readyz: the database answers. */
export const healthRoutes: Route[] = [
  {
    method: 'GET',
    path: '/healthz',
    handle: async (_req, res) => sendJson(res, 200, { status: 'ok' }),
  },
  {
    method: 'GET',
    path: '/readyz',
    handle: async (_req, res, services) => {
      try {
        await Promise.race([
          services.orm.em.getConnection().execute('select 1'),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
        ]);
        sendJson(res, 200, { status: 'ready' });
      } catch {
        sendJson(res, 503, { status: 'unavailable', reason: 'database unreachable' });
      }
    },
  },
];
