import PgBoss from 'pg-boss';
import { withStartupLock } from '../db/migrate';
import { sessionUrl } from '../db/topology';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { PartnerCenterConfig } from '../config';
import type { Services } from '../kernel/context';
import { RuntimeSlot } from '../kernel/feature';
import { PartnerCenterClient, type IssuedToken, type TokenKind } from './client';
import { BOSS_SCHEMA, SYNC_QUEUE, type SyncJobData } from './outbox';
import type { ConnectionSecrets } from './partner-center.queries';
import { deliver, type DeliveryDeps } from './sync.delivery';
import { SyncMetrics } from './sync.metrics';
import { PartnerSlots } from './sync.slots';
import { TokenCache } from './sync.tokens';
import { SharedThrottle } from './throttle';
import type { AlertHub } from '../alerts/alert.hub';
import type { PartnerCenterConnectionAlert } from './connection-alert';
import { refreshIdleGrants, TOKEN_REFRESH_QUEUE } from './refresh';
import { PartnerCenterUpstream } from './upstream';

/** Workers per instance, each fetching up to BATCH due jobs per poll; the per-partner slots bound the upstream calls. */
const WORKERS = 4;
const BATCH = 50;

/**
 * Delivers queued confirmations to Partner Center. pg-boss hands each job to one
 * worker of one gateway instance at a time (SKIP LOCKED); the sync row's `job_id`
 * makes every other job for the acceptance stale, so a confirmation is delivered by
 * exactly one job at a time, always with its own MS-RequestId. A gateway that dies
 * mid-delivery leaves its job active: pg-boss expires it and another worker retries
 * it, same job, same row, same MS-RequestId. One delivery is `sync.delivery.ts`, the
 * token cache `sync.tokens.ts`, the per-partner concurrency `sync.slots.ts`.
 */
export class SyncEngine {
  private boss?: PgBoss;
  private readonly stopping = new AbortController();
  private readonly tokens: TokenCache;
  private readonly slots: PartnerSlots;
  private readonly delivery: DeliveryDeps;
  private readonly throttle: SharedThrottle;
  readonly client: PartnerCenterClient;
  /** The one way to call Partner Center (upstream.ts). */
  readonly upstream: PartnerCenterUpstream;
  /** Connection alerts on the process's alert hub (set by the feature at start). */
  alerts?: AlertHub<PartnerCenterConnectionAlert>;
  readonly metrics: SyncMetrics;
  private readonly config: PartnerCenterConfig;
  private readonly log: Logger;

  constructor(private readonly services: Services) {
    this.config = services.config.partnerCenter;
    this.log = services.log.child({ component: 'partner-center' });
    this.metrics = new SyncMetrics(services, () => this.queueDepth());
    this.client = new PartnerCenterClient(this.config);
    this.tokens = new TokenCache(
      this.client,
      this.config.credentialsKey,
      this.log,
      this.stopping.signal,
      (row) => this.upstream.exchange(row),
      (operation, seconds) => this.metrics.upstream.observe({ operation }, seconds),
    );
    this.slots = new PartnerSlots(this.config.concurrency);
    this.throttle = new SharedThrottle(sessionUrl(services.orm), this.config.budgetPerMinute ?? 300);
    this.upstream = new PartnerCenterUpstream({
      orm: services.orm,
      config: this.config,
      client: this.client,
      tokens: this.tokens,
      throttle: this.throttle,
      log: this.log,
      stopping: this.stopping.signal,
      observe: (operation, seconds) => this.metrics.upstream.observe({ operation }, seconds),
    });
    this.delivery = {
      orm: services.orm,
      config: this.config,
      upstream: this.upstream,
      metrics: this.metrics,
      log: this.log,
      stopping: this.stopping.signal,
    };
  }

  async start(): Promise<void> {
    const boss = new PgBoss({
      connectionString: this.services.orm.config.get('clientUrl'),
      schema: BOSS_SCHEMA,
      max: 4,
      application_name: 'consent-gateway partner-center',
      // The timekeeper runs only where the refresh sweep is scheduled (pg-boss lets one instance enqueue each tick).
      schedule: this.config.tokenRefreshSchedule === true,
      supervise: true,
      maintenanceIntervalSeconds: this.config.maintenanceIntervalSeconds,
    });
    boss.on('error', (err) => this.log.warn({ err }, 'pg-boss error'));
    const queue = {
      name: SYNC_QUEUE,
      policy: 'standard' as const,
      // pg-boss's own retries only cover a worker that died or was stopped mid-delivery;
      // upstream failures are rescheduled by the engine (Retry-After, the attempt budget).
      retryLimit: 20,
      retryDelay: 1,
      retryBackoff: true,
      expireInSeconds: this.config.jobExpireSeconds,
    };
    // pg-boss 10 creates a queue with DDL (a partition of its job table): instances doing it
    // at once deadlock, so set-up runs under the start-up lock that migrations use.
    await withStartupLock(sessionUrl(this.services.orm), async () => {
      await boss.start();
      if (!(await boss.getQueue(SYNC_QUEUE))) await boss.createQueue(SYNC_QUEUE, queue);
      await boss.updateQueue(SYNC_QUEUE, queue);
      if (this.config.tokenRefreshSchedule) {
        if (!(await boss.getQueue(TOKEN_REFRESH_QUEUE))) await boss.createQueue(TOKEN_REFRESH_QUEUE, { name: TOKEN_REFRESH_QUEUE, policy: 'singleton', retryLimit: 2, expireInSeconds: 15 * 60 });
        await boss.schedule(TOKEN_REFRESH_QUEUE, this.config.tokenRefreshCron ?? '17 * * * *', {}, { tz: 'UTC' });
      }
    });
    this.boss = boss;
    if (this.config.tokenRefreshSchedule) {
      await boss.work(TOKEN_REFRESH_QUEUE, async () => {
        const result = await refreshIdleGrants(this, this.services.orm.em.fork() as EntityManager, this.config.tokenRefreshDays ?? 7, this.log);
        this.log.info(result, 'partner center grant refresh sweep done');
      });
    }
    for (let i = 0; i < WORKERS; i++) {
      await boss.work<SyncJobData>(SYNC_QUEUE, { batchSize: BATCH, pollingIntervalSeconds: this.config.pollingIntervalSeconds }, (jobs) => this.handle(jobs));
    }
  }

  async stop(): Promise<void> {
    // In-flight upstream calls are abandoned unrecorded: their jobs fail back to pg-boss and are retried.
    this.stopping.abort();
    await this.boss?.stop({ graceful: true, timeout: 1000, wait: true });
    await this.throttle.close();
  }


  async queueDepth(): Promise<number> {
    return this.boss ? ((await this.boss.getQueueSize(SYNC_QUEUE)) ?? 0) : 0;
  }

  private async handle(jobs: PgBoss.Job<SyncJobData>[]): Promise<void> {
    const results = await Promise.allSettled(jobs.map((job) => this.slots.run(job.data.partnerId, () => deliver(this.delivery, job.id, job.data))));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    // A failed batch goes back to pg-boss; the jobs already recorded are stale by then and complete at once.
    if (failure) throw failure.reason;
  }

  /** An access token of `kind` for the partner's connection (cached, shared with every call). */
  accessToken(em: EntityManager, secrets: ConnectionSecrets, fresh = false, kind: TokenKind = 'delegated'): Promise<string> {
    return this.tokens.accessToken(em, secrets, fresh, kind);
  }

  /** Seeds the cache with the token a connection check just obtained. */
  remember(partnerId: string, connectedAt: Date, token: IssuedToken, kind: TokenKind = 'delegated'): void {
    this.tokens.remember(partnerId, connectedAt, token, kind);
  }

  forget(partnerId: string): void {
    this.tokens.forget(partnerId);
  }
}

/** The gateway's engine while the partner-center feature runs (src/partner-center/partner-center.feature.ts starts it). */
export const syncEngines = new RuntimeSlot<SyncEngine>('partner-center');

export const syncEngine = (services: Services): SyncEngine => syncEngines.of(services);

/** The running gateway's Partner Center caller: `partnerCenterUpstream(services).request({...})` (upstream.ts). */
export const partnerCenterUpstream = (services: Services): PartnerCenterUpstream => syncEngines.of(services).upstream;
