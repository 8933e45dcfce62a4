import type { ServerResponse } from 'node:http';
import { sleep, type Exchange } from './http';
import type { SimState } from './state';
import type { MisbehaviourTarget, RecordedRequest } from './types';

/** Whether a request is in the switches' scope (`target`); `isToken` tells token requests from API calls. */
function targeted(target: MisbehaviourTarget | null | undefined, rec: RecordedRequest, isToken: boolean): boolean {
  if (target === undefined || target === null) return true;
  if (target === 'api') return !isToken;
  if (target === 'token') return isToken;
  if (target instanceof RegExp) return target.test(`${rec.method} ${rec.path}`);
  return target(rec);
}

/**
 * The switches of sim.misbehave() that act before a request is processed: latency, dropped
 * connections, hung requests, canned answers, 5xx bursts. They apply to API and token requests
 * in `target`, never to the browser pages (the customer's acceptance page, the agreement documents).
 * Answers true when the request was taken care of (dropped, hung or answered).
 */
export async function misbehaveBefore(state: SimState, ex: Exchange, isToken: boolean, hanging: Set<ServerResponse>): Promise<boolean> {
  const m = state.misbehaviour;
  if (!targeted(m.target, ex.rec, isToken)) return false;
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
  if (m.answerNext && (m.answerNext.count ?? 1) > 0) {
    const a = m.answerNext;
    const left = (a.count ?? 1) - 1;
    m.answerNext = left > 0 ? { ...a, count: left } : undefined;
    if (typeof a.body === 'string') ex.send(a.status, a.body, a.headers?.['content-type'] ?? 'text/plain; charset=utf-8', a.headers);
    else ex.json(a.status, a.body, a.headers);
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
 * Throttling per partner tenant (the tenant the access token was issued for), or per partner
 * tenant and customer, in fixed windows: answers the seconds to wait when over the limit, else
 * counts the call.
 */
export function throttled(state: SimState, tenantId: string, customerTenantId: string | undefined): number | undefined {
  const t = state.misbehaviour.throttle;
  if (!t) return undefined;
  const key = t.scope === 'partner+customer' && customerTenantId ? `${tenantId}/${customerTenantId}` : tenantId;
  const now = state.now();
  let w = state.throttleWindows.get(key);
  if (!w || now >= w.start + t.windowMs) state.throttleWindows.set(key, (w = { start: now, count: 0 }));
  if (w.count >= t.limit) return Math.max(1, Math.ceil((w.start + t.windowMs - now) / 1000));
  w.count++;
  return undefined;
}
