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
  /**
   * Run by the HTTP server once the response is written (shared with Apollo's copy of the
   * context): what a request held is let go then, not when the next full collection finds it.
   * Contexts built by `buildContext` have it.
   */
  readonly afterResponse?: (() => void)[];
}

/**
 * A request's context. Its EntityManager is forked on first use: a context that never reads
 * through the ORM (a live subscription between deliveries) holds none.
 *
 * A class, with `em` an accessor of its prototype, for two reasons of V8's heap:
 * - An object literal's accessor pair is allocated in the old generation, and a getter there
 *   kept this context (its loaders, their rows and promises, the fork) reachable through every
 *   young collection until the next full one, whatever became of the context: each request's
 *   objects were promoted (see docs/benchmark-history.md, twentieth session).
 * - Apollo copies the context for each operation (`Object.assign` onto the same prototype):
 *   the fork lives in `lazy`, an object the copy shares, so both read through one EntityManager.
 */
class RequestContext implements Context {
  viewer: Viewer | null = null;
  authError?: string;
  loaders: Loaders;
  readonly afterResponse: (() => void)[] = [];
  private readonly lazy: { em?: EntityManager } = {};

  constructor(
    readonly services: Services,
    readonly requestId: string,
  ) {
    this.loaders = new Loaders(() => this);
  }

  get em(): EntityManager {
    return (this.lazy.em ??= this.services.orm.em.fork() as EntityManager);
  }

  set em(value: EntityManager | undefined) {
    this.lazy.em = value;
  }
}

export async function buildContext(services: Services, authorization: string | undefined | null, requestId: string = randomUUID()): Promise<Context> {
  const ctx = new RequestContext(services, requestId);
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
