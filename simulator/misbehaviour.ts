import type { ServerResponse } from 'node:http';
import { sleep, type Exchange } from './http';
import type { SimState } from './state';

/**
 * The switches of sim.misbehave() that act before a request is processed: latency, dropped
 * connections, hung requests, 5xx bursts. They apply to API and token requests, never to the
 * browser pages (the customer's acceptance page, the agreement documents).
 * Answers true when the request was taken care of (dropped, hung or failed).
 */
export async function misbehaveBefore(state: SimState, ex: Exchange, hanging: Set<ServerResponse>): Promise<boolean> {
  const m = state.misbehaviour;
  if (m.latencyMs && m.latencyMs > 0) await sleep(m.latencyMs);
  if (m.dropNext && m.dropNext > 0) {
    m.dropNext--;
    ex.drop();
    return true;
  }
  if (m.hangNext && m.hangNext > 0) {
    m.hangNext--;
    ex.answered = true;
    hanging.add(ex.res);
    ex.res.on('close', () => hanging.delete(ex.res));
    return true;
  }
  if (m.failNext && m.failNext.count > 0) {
    const status = m.failNext.status ?? 500;
    m.failNext = m.failNext.count > 1 ? { ...m.failNext, count: m.failNext.count - 1 } : undefined;
    ex.json(status, { code: String(status), description: 'The service is temporarily unavailable (simulated failure).', data: [], source: 'PartnerFD' });
    return true;
  }
  if (m.dropAfterNext && m.dropAfterNext > 0) {
    m.dropAfterNext--;
    ex.dropAfterAnswer = true;
  }
  return false;
}

/**
 * Throttling per partner tenant (the tenant the access token was issued for), fixed windows:
 * answers the seconds to wait when the tenant is over its limit, else counts the call.
 */
export function throttled(state: SimState, tenantId: string): number | undefined {
  const t = state.misbehaviour.throttle;
  if (!t) return undefined;
  const now = state.now();
  let w = state.throttleWindows.get(tenantId);
  if (!w || now >= w.start + t.windowMs) state.throttleWindows.set(tenantId, (w = { start: now, count: 0 }));
  if (w.count >= t.limit) return Math.max(1, Math.ceil((w.start + t.windowMs - now) / 1000));
  w.count++;
  return undefined;
}
