import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { bearer, InvalidTokenError, type TokenVerifier } from '../auth/token';
import { UnknownPartnerError, type Viewer, type ViewerDirectory } from '../auth/viewer';
import { Loaders } from './loaders';
import type { Metrics } from './metrics';

/**
 * Long-lived pieces of one gateway that resolvers, services and routes may reach.
 * What a feature starts (the alert hub, job queues) is found through that feature's
 * runtime slot (src/kernel/feature.ts), not here.
 */
export interface Services {
  config: Config;
  orm: MikroORM;
  log: Logger;
  tokens: TokenVerifier;
  viewers: ViewerDirectory;
  metrics: Metrics;
}

/** One per HTTP request and per WebSocket operation. */
export interface Context {
  requestId: string;
  viewer: Viewer | null;
  /** Why the presented token was refused, for the UNAUTHENTICATED message. */
  authError?: string;
  em: EntityManager;
  loaders: Loaders;
  services: Services;
}

export async function buildContext(services: Services, authorization: string | undefined | null, requestId: string = randomUUID()): Promise<Context> {
  let em: EntityManager | undefined;
  const ctx: Context = {
    requestId,
    viewer: null,
    // Forked on first use: a context that never reads through the ORM (a live subscription between deliveries) holds none.
    get em() {
      return (em ??= services.orm.em.fork() as EntityManager);
    },
    set em(value: EntityManager) {
      em = value;
    },
    loaders: undefined as unknown as Loaders,
    services,
  };
  ctx.loaders = new Loaders(() => ctx);
  const token = bearer(authorization);
  if (authorization && !token) ctx.authError = 'The authorization header must be "Bearer <token>"';
  if (token) {
    try {
      const claims = await services.tokens.verify(token);
      // Only its connection is used: no fork for it.
      ctx.viewer = await services.viewers.resolve(services.orm.em as EntityManager, claims);
    } catch (err) {
      if (err instanceof InvalidTokenError || err instanceof UnknownPartnerError) {
        ctx.authError = `Invalid token: ${err.message}`;
      } else {
        throw err;
      }
    }
  }
  return ctx;
}

/**
 * Lets a context built by `buildContext` that outlives its work (a live subscription
 * between deliveries) drop its EntityManager and loaders with what they cached; the
 * next use forks a fresh EntityManager.
 */
export function releaseContextState(ctx: Context): void {
  (ctx as { em: EntityManager | undefined }).em = undefined;
  ctx.loaders = new Loaders(() => ctx);
}
