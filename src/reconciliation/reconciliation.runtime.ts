import { stoppingSignal } from '../common/in-flight';
import PgBoss from 'pg-boss';
import type { EntityManager } from '@mikro-orm/postgresql';
import { withStartupLock } from '../db/migrate';
import { sessionUrl } from '../db/topology';
import type { Services } from '../kernel/context';
import { RuntimeSlot } from '../kernel/feature';
import { ConflictError } from '../errors';
import { ReconciliationMetrics } from './reconciliation.metrics';
import { connectedPartners, startedSince } from './reconciliation.queries';
import { reconcilePartner, type RunDeps, type RunResult } from './reconciliation.run';
import { readsFromPartnerCenter, type UpstreamFactory } from './reconciliation.upstream';

/** The daily cron job: it queues one reconciliation per connected partner. */
export const RECONCILE_DAILY_QUEUE = 'partner-center-reconcile-daily';
/**
 * One job per partner: singletonKey + singletonSeconds make pg-boss refuse a second send in
 * the same 12-hour slot (its unique index; the slot may not outlast pg-boss's 12-hour archive
 * interval), and a job finding that the partner's run started after it was queued does nothing.
 */
export const RECONCILE_PARTNER_QUEUE = 'partner-center-reconcile';
const PGBOSS_SCHEMA = 'pgboss';
const SLOT_SECONDS = 43_200;

interface PartnerJob {
  partnerId: string;
  queuedAt: string;
}

/** What the reconciliation feature keeps while the gateway runs. */
export class ReconciliationRuntime {
  boss?: PgBoss;
  readonly metrics: ReconciliationMetrics;
  /** How upstream is read; tests and the bench may replace it. */
  upstream: UpstreamFactory = readsFromPartnerCenter;
  private readonly running = new Set<Promise<unknown>>();
  // Every upstream call in flight listens on it (AbortSignal.any): hundreds at once are expected, not a leak.
  private readonly stopping = stoppingSignal();

  constructor(private readonly services: Services) {
    this.metrics = new ReconciliationMetrics(services);
  }

  private deps(): RunDeps {
    return {
      services: this.services,
      upstream: this.upstream,
      metrics: this.metrics,
      concurrency: this.services.config.reconciliation.concurrency,
      log: this.services.log.child({ component: 'reconciliation' }),
      signal: this.stopping.signal,
    };
  }

  /** Reconciles one partner now; `stop` waits for runs in flight. */
  run(partnerId: string): Promise<RunResult> {
    const run = reconcilePartner(this.deps(), partnerId);
    this.running.add(run);
    const done = () => this.running.delete(run);
    run.then(done, done);
    return run;
  }

  /**
   * What the daily cron job does: one job per connected partner. Any instance may run it,
   * at once or again: a partner is reconciled once (see RECONCILE_PARTNER_QUEUE).
   * Answers how many jobs were queued by this call.
   */
  async queueDaily(): Promise<number> {
    const boss = this.boss;
    if (!boss) throw new Error('reconciliation schedule is off (RECONCILIATION_SCHEDULE=false)');
    let queued = 0;
    for (const partnerId of await connectedPartners(this.services.orm.em.fork() as EntityManager)) {
      const id = await boss.send(RECONCILE_PARTNER_QUEUE, { partnerId, queuedAt: new Date().toISOString() } satisfies PartnerJob, { singletonKey: partnerId, singletonSeconds: SLOT_SECONDS });
      if (id) queued++;
    }
    return queued;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.boss?.stop({ graceful: true, wait: true, timeout: 10_000 });
    await Promise.allSettled([...this.running]);
  }
}

export const reconciliationRuntimes = new RuntimeSlot<ReconciliationRuntime>('reconciliation');
export const reconciliation = (services: Services): ReconciliationRuntime => reconciliationRuntimes.of(services);

/**
 * pg-boss with the daily schedule (RECONCILIATION_CRON, UTC): the schedule lives in the
 * database, pg-boss's timekeeper lets one instance enqueue each tick, and the job it
 * enqueues queues one job per connected partner and day (`queueDaily`); a partner's job
 * runs on one worker of one instance; the run's lease keeps it from overlapping an
 * on-demand run.
 */
export async function startReconciliationBoss(services: Services, runtime: ReconciliationRuntime): Promise<PgBoss> {
  const log = services.log.child({ component: 'reconciliation' });
  const boss = new PgBoss({ connectionString: services.orm.config.get('clientUrl'), schema: PGBOSS_SCHEMA, application_name: 'consent-gateway reconciliation', max: 2 });
  boss.on('error', (err) => log.warn({ err }, 'pg-boss error'));
  await withStartupLock(sessionUrl(services.orm), async () => {
    await boss.start();
    if (!(await boss.getQueue(RECONCILE_DAILY_QUEUE))) await boss.createQueue(RECONCILE_DAILY_QUEUE, { name: RECONCILE_DAILY_QUEUE, policy: 'singleton', retryLimit: 2, expireInSeconds: 15 * 60 });
    if (!(await boss.getQueue(RECONCILE_PARTNER_QUEUE))) {
      await boss.createQueue(RECONCILE_PARTNER_QUEUE, { name: RECONCILE_PARTNER_QUEUE, policy: 'standard', retryLimit: 2, retryDelay: 60, expireInSeconds: 60 * 60 });
    }
    await boss.schedule(RECONCILE_DAILY_QUEUE, services.config.reconciliation.cron, {}, { tz: 'UTC' });
  });
  runtime.boss = boss;
  await boss.work(RECONCILE_DAILY_QUEUE, async () => {
    const queued = await runtime.queueDaily();
    log.info({ queued }, 'daily reconciliation queued');
  });
  await boss.work<PartnerJob>(RECONCILE_PARTNER_QUEUE, { pollingIntervalSeconds: services.config.reconciliation.pollingIntervalSeconds }, async ([job]) => {
    if (!job) return;
    if (await startedSince(services.orm.em.fork() as EntityManager, job.data.partnerId, job.data.queuedAt)) return;
    try {
      await runtime.run(job.data.partnerId);
    } catch (err) {
      // An on-demand run of the partner holds the lease: it does the same work.
      if (err instanceof ConflictError) return;
      throw err;
    }
  });
  return boss;
}
