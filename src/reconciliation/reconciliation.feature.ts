import type { Feature } from '../kernel/feature';
import { AcceptanceDriftCount, AcceptanceDriftRecord, ReconciliationRun } from './reconciliation.entity';
import { AcceptanceDriftResolver, ReconciliationResolver } from './reconciliation.resolver';
import { ReconciliationRuntime, reconciliationRuntimes, startReconciliationBoss } from './reconciliation.runtime';

/**
 * Reconciliation with Partner Center (DESIGN.md section 11): `reconcilePartnerCenter` on
 * demand, and a daily run per connected partner through pg-boss (unless
 * RECONCILIATION_SCHEDULE=false, the default under NODE_ENV=test).
 */
export const reconciliationFeature: Feature<ReconciliationRuntime> = {
  name: 'reconciliation',
  entities: [AcceptanceDriftRecord, AcceptanceDriftCount, ReconciliationRun],
  resolvers: [ReconciliationResolver, AcceptanceDriftResolver],
  runtime: reconciliationRuntimes,
  async start(services) {
    const runtime = new ReconciliationRuntime(services);
    if (services.config.reconciliation.schedule) await startReconciliationBoss(services, runtime);
    return runtime;
  },
  async stop(runtime) {
    await runtime.stop();
  },
};
