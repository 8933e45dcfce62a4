import type { Feature } from '../kernel/feature';
import { alertHub } from '../alerts/alert.runtime';
import { RenewalRiskAlert } from './renewal.entity';
import { RenewalFact, RenewalFactCount, RenewalFactSet } from './renewal.derived.entity';
import { renewalFactsTable } from './renewal.derived.queries';
import { RenewalRiskAlertResolver, RenewalRiskResolver } from './renewal.resolver';
import { RENEWAL_RISK_ALERTS, RenewalRuntime, renewalRuntimes, startBoss } from './renewal.runtime';

/**
 * Renewal risks: registers renewal-risk alerts with the alert hub, starts pg-boss
 * with the schedule (unless RENEWAL_SCAN_SCHEDULE=false) and scans once at start-up
 * (unless RENEWAL_SCAN_ON_START=false). Listed after the alerts feature, so it
 * stops first: pg-boss and running scans end before the hub and the database.
 */
export const renewalsFeature: Feature<RenewalRuntime> = {
  name: 'renewals',
  entities: [RenewalRiskAlert, RenewalFact, RenewalFactSet, RenewalFactCount],
  resolvers: [RenewalRiskResolver, RenewalRiskAlertResolver],
  runtime: renewalRuntimes,
  derived: [renewalFactsTable],
  async start(services) {
    const alerts = await alertHub(services).attach(RENEWAL_RISK_ALERTS);
    const runtime = new RenewalRuntime(services, alerts);
    const { schedule, onStart, withinDays } = services.config.renewalScan;
    if (schedule) runtime.boss = await startBoss(services, runtime);
    if (onStart) {
      // In the background: readiness does not wait for a scan over every subscription.
      runtime.scan(withinDays).catch((err) => services.log.warn({ err }, 'start-up renewal-risk scan failed'));
      runtime.expire().catch((err) => services.log.warn({ err }, 'start-up subscription expiry failed'));
    }
    return runtime;
  },
  async stop(runtime) {
    await runtime.boss?.stop({ graceful: true, wait: true, timeout: 10_000 });
    await runtime.idle();
  },
};
