import PgBoss from 'pg-boss';
import type { EntityManager } from '@mikro-orm/postgresql';
import { withStartupLock } from '../db/migrate';
import { sessionUrl } from '../db/topology';
import type { Services } from '../kernel/context';
import { RuntimeSlot } from '../kernel/feature';
import type { AlertHub, AlertKind } from '../alerts/alert.hub';
import { RenewalRiskAlert } from './renewal.entity';
import { RENEWAL_ALERT_CHANNEL, scanRenewalRisks } from './renewal.service';
import { expireEndingSubscriptions } from '../transactions/subscription.service';

/** The pg-boss queue of the scheduled scan. */
export const RENEWAL_SCAN_QUEUE = 'renewal-risk-scan';
/** The pg-boss queue of the hourly expiry of ENDING subscriptions whose renewsOn has come (DESIGN.md section 12). */
export const SUBSCRIPTION_EXPIRY_QUEUE = 'subscription-expiry';
const SUBSCRIPTION_EXPIRY_CRON = '0 * * * *';
/** pg-boss keeps its tables in their own schema of the gateway's database. */
const PGBOSS_SCHEMA = 'pgboss';

/** Renewal-risk alerts as a second kind of the alert hub: same LISTEN connection, same streams, same tenancy. */
export const RENEWAL_RISK_ALERTS: AlertKind<RenewalRiskAlert> = {
  name: 'renewal-risk',
  table: 'renewal_risk_alerts',
  channel: RENEWAL_ALERT_CHANNEL,
  entity: RenewalRiskAlert,
  parties: (a) => ({ partnerId: a.partner.id, resellerId: a.reseller?.id ?? null, customerId: a.customer.id }),
};

/** What the feature keeps while the gateway runs. */
export class RenewalRuntime {
  boss?: PgBoss;
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly services: Services,
    readonly alerts: AlertHub<RenewalRiskAlert>,
  ) {}

  /** Runs a scan; `stop` waits for scans in flight, so none outlives the database. */
  scan(withinDays: number, em: EntityManager = this.services.orm.em.fork() as EntityManager): Promise<number> {
    const run = scanRenewalRisks(em, withinDays);
    this.running.add(run);
    const done = () => this.running.delete(run);
    run.then(done, done);
    return run;
  }

  /** Expires ENDING subscriptions whose renewsOn has come; tracked like a scan, so `stop` waits for it. */
  expire(em: EntityManager = this.services.orm.em.fork() as EntityManager): Promise<number> {
    const run = expireEndingSubscriptions(em);
    this.running.add(run);
    const done = () => this.running.delete(run);
    run.then(done, done);
    return run;
  }

  async idle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}

/** The gateway's renewal runtime while the renewals feature runs (src/renewals/renewal.feature.ts starts it). */
export const renewalRuntimes = new RuntimeSlot<RenewalRuntime>('renewals');

export const renewals = (services: Services): RenewalRuntime => renewalRuntimes.of(services);

/**
 * pg-boss 10 with the daily schedule. The schedule lives in the database: every
 * instance upserts the same one, pg-boss's timekeeper lets one instance per minute
 * enqueue it, and one worker takes the job. Even a doubled job would raise nothing
 * twice: the scan is insert-or-nothing per subscription and term.
 */
export async function startBoss(services: Services, runtime: RenewalRuntime): Promise<PgBoss> {
  const { cron, withinDays } = services.config.renewalScan;
  const log = services.log.child({ component: 'renewal-scan' });
  const boss = new PgBoss({
    connectionString: services.orm.config.get('clientUrl'),
    schema: PGBOSS_SCHEMA,
    application_name: 'consent-gateway jobs',
    max: 2,
  });
  boss.on('error', (err) => log.warn({ err }, 'pg-boss error'));
  try {
    // pg-boss 10 creates a queue with DDL (a partition of its job table): instances doing it
    // at once deadlock, so set-up runs under the start-up lock that migrations use.
    await withStartupLock(sessionUrl(services.orm), async () => {
      await boss.start();
      await boss.createQueue(RENEWAL_SCAN_QUEUE, { name: RENEWAL_SCAN_QUEUE, policy: 'singleton', retryLimit: 2, expireInSeconds: 15 * 60 });
      await boss.schedule(RENEWAL_SCAN_QUEUE, cron, { withinDays }, { tz: 'UTC' });
      // Expiry, hourly: singleton like the scan; a doubled job expires nothing twice (one idempotent update).
      await boss.createQueue(SUBSCRIPTION_EXPIRY_QUEUE, { name: SUBSCRIPTION_EXPIRY_QUEUE, policy: 'singleton', retryLimit: 2, expireInSeconds: 15 * 60 });
      await boss.schedule(SUBSCRIPTION_EXPIRY_QUEUE, SUBSCRIPTION_EXPIRY_CRON, {}, { tz: 'UTC' });
    });
    await boss.work(SUBSCRIPTION_EXPIRY_QUEUE, async ([job]) => {
      const expired = await runtime.expire();
      log.info({ expired, job: job?.id }, 'scheduled subscription expiry done');
    });
    await boss.work<{ withinDays?: number }>(RENEWAL_SCAN_QUEUE, async ([job]) => {
      const raised = await runtime.scan(job?.data?.withinDays ?? withinDays);
      log.info({ raised, job: job?.id }, 'scheduled renewal-risk scan done');
    });
  } catch (err) {
    await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
    throw err;
  }
  return boss;
}
