import type { Route } from '../kernel/routes';
import { sendJson } from '../kernel/routes';
import type { Services } from '../kernel/context';

/** Gateways shutting down: their /readyz answers 503 first, so a balancer sends them nothing new. */
const draining = new WeakSet<Services>();

export function markDraining(services: Services): void {
  draining.add(services);
}

/** /healthz: the process is up. /readyz: the database answers and the gateway is not draining. */
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
      if (draining.has(services)) return sendJson(res, 503, { status: 'unavailable', reason: 'draining' });
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
