import { Pool } from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * One request budget per partner tenant, shared by every gateway instance: the vendor
 * throttles per partner tenant (PARTNER-CENTER.md section 5), so a per-process counter
 * would let N instances spend N budgets. rate-limiter-flexible's PostgreSQL store keeps
 * the count in `partner_center_throttle` (created by migration), on a small pool of its
 * own. A 429 blocks the tenant's key until Retry-After has passed, for every instance.
 */
export class SharedThrottle {
  private readonly pool: Pool;
  private readonly limiter: RateLimiterPostgres;

  constructor(databaseUrl: string, perMinute: number) {
    this.pool = new Pool({ connectionString: databaseUrl, max: 2, application_name: 'consent-gateway partner-center throttle' });
    this.pool.on('error', () => undefined);
    this.limiter = new RateLimiterPostgres({
      storeClient: this.pool,
      storeType: 'pool',
      tableName: 'partner_center_throttle',
      tableCreated: true,
      keyPrefix: 'pc-tenant',
      points: perMinute,
      duration: 60,
      clearExpiredByTimeout: false,
    });
  }

  /**
   * Takes one call from the tenant's budget, waiting while it is spent or blocked. When the
   * wait would pass `maxWaitMs`, answers the wait instead (the caller gives up as throttled).
   */
  async take(tenantId: string, maxWaitMs: number, signal?: AbortSignal): Promise<{ ok: true } | { ok: false; waitMs: number }> {
    const until = Date.now() + maxWaitMs;
    for (;;) {
      try {
        await this.limiter.consume(tenantId, 1);
        return { ok: true };
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
        const wait = Math.max(10, err.msBeforeNext);
        if (Date.now() + wait > until) return { ok: false, waitMs: wait };
        await sleep(wait, signal);
      }
    }
  }

  /** Blocks the tenant's budget for `ms` (a 429's Retry-After), on every instance. */
  async block(tenantId: string, ms: number): Promise<void> {
    if (ms <= 0) return;
    // Whole seconds (Retry-After is in seconds): the store keeps the expiry as a bigint of ms.
    await this.limiter.block(tenantId, Math.ceil(ms / 1000));
  }

  /** How long the tenant's budget is still blocked or spent (0: calls may go). */
  async waitOf(tenantId: string): Promise<number> {
    const res = await this.limiter.get(tenantId);
    return res && res.consumedPoints > this.limiter.points ? res.msBeforeNext : 0;
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
