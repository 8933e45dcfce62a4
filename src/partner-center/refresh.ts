import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { connectionSecrets, connectionsDueForRefresh } from './partner-center.queries';
import { UpstreamError, type PartnerCenterUpstream } from './upstream';

/** The pg-boss queue of the refresh sweep (singleton: one sweep at a time across instances). */
export const TOKEN_REFRESH_QUEUE = 'partner-center-token-refresh';

/**
 * Refresh tokens expire after 90 days unused (AADSTS700082, PARTNER-CENTER.md section 6).
 * The sweep asks a delegated token for every connection whose grant was not used for
 * `days`: the token endpoint answers a new refresh token, stored encrypted (sync.tokens.ts),
 * and the grant's clock starts again. A grant found dead here is handled as anywhere else
 * (NEEDS_REAUTHORIZATION, deliveries PAUSED, the partner's admins alerted).
 */
export async function refreshIdleGrants(
  engine: { upstream: PartnerCenterUpstream },
  em: EntityManager,
  days: number,
  log?: Logger,
): Promise<{ due: number; refreshed: number; failed: number }> {
  const due = await connectionsDueForRefresh(em, days);
  let refreshed = 0;
  let failed = 0;
  for (const partnerId of due) {
    const secrets = await connectionSecrets(em, partnerId);
    if (!secrets || secrets.reauthorizationRequired) continue;
    try {
      await engine.upstream.accessToken(em, secrets, 'delegated', true);
      refreshed++;
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      failed++;
      log?.warn({ partnerId, kind: err.kind, error: err.message }, 'partner center grant refresh failed');
    }
  }
  return { due: due.length, refreshed, failed };
}
