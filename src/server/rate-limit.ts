import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { RateLimitedError } from '../errors';
import type { Context, Services } from '../kernel/context';
import { RuntimeSlot } from '../kernel/feature';
import type { Viewer } from '../auth/viewer';

const WINDOW_SECONDS = 60;

/** The bucket a caller's mutations count against: its partner, or itself for platform users. */
export const rateLimitKey = (viewer: Viewer): string => (viewer.partnerId ? `partner:${viewer.partnerId}` : `user:${viewer.userId}`);

/**
 * Mutations per partner per minute. Counters live in Redis when REDIS_URL is set, so
 * every instance shares them; while Redis is unreachable an in-memory limiter with the
 * same budget stands in (per instance), so mutations are neither all refused nor unlimited.
 */
export class MutationRateLimiter {
  readonly store: 'memory' | 'redis';
  private readonly limiter: RateLimiterAbstract;
  private readonly redis?: Redis;

  /** `refused` counts the mutations refused with RATE_LIMITED. */
  constructor(
    config: Config['rateLimit'],
    log: Logger,
    private readonly refused?: { inc(): void },
    keyPrefix = 'cg-mutations',
  ) {
    const options = { points: config.mutationsPerMinute, duration: WINDOW_SECONDS, keyPrefix };
    if (config.redisUrl) {
      this.redis = new Redis(config.redisUrl, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 2000,
        lazyConnect: false,
        // Keep retrying in the background; the memory limiter covers meanwhile.
        retryStrategy: (times) => Math.min(times * 200, 5000),
      });
      this.redis.on('error', (err) => log.warn({ err: err.message }, 'rate limit store (Redis) unavailable; using in-memory limits'));
      this.limiter = new RateLimiterRedis({
        ...options,
        storeClient: this.redis,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(options),
      });
      this.store = 'redis';
    } else {
      this.limiter = new RateLimiterMemory(options);
      this.store = 'memory';
    }
  }

  /** Counts one mutation; throws RATE_LIMITED with the seconds to wait when the budget is spent. */
  async consume(key: string): Promise<void> {
    try {
      await this.limiter.consume(key, 1);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        this.refused?.inc();
        throw new RateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
      }
      throw rejection;
    }
  }

  /** Whether counters are in Redis right now (false while it is unreachable, or without REDIS_URL). */
  get shared(): boolean {
    return this.redis?.status === 'ready';
  }

  async close(): Promise<void> {
    if (!this.redis) return;
    this.redis.disconnect();
  }
}

/** Each gateway's limiter, for the wrapped mutations of the schema its gateways share. */
const limiters = new RuntimeSlot<MutationRateLimiter>('mutation rate limit');

export const useRateLimiter = (services: Services, limiter: MutationRateLimiter) => limiters.set(services, limiter);
export const rateLimiterOf = (services: Services) => limiters.find(services);

const wrapped = new WeakSet<GraphQLSchema>();

/**
 * Wraps every Mutation root field so it first counts against the caller's budget, on
 * HTTP and graphql-ws alike. The schema is shared by the gateways of a process, so
 * the limiter is found per request through the context's services. Unauthenticated
 * calls pass through to the authorization check, which refuses them.
 */
export function applyMutationRateLimit(schema: GraphQLSchema): void {
  if (wrapped.has(schema)) return;
  wrapped.add(schema);
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const resolve: GraphQLFieldResolver<unknown, Context> = field.resolve ?? defaultFieldResolver;
    field.resolve = async (source, args, context: Context, info) => {
      const limiter = rateLimiterOf(context.services);
      if (limiter && context.viewer) await limiter.consume(rateLimitKey(context.viewer));
      return resolve(source, args, context, info);
    };
  }
}
