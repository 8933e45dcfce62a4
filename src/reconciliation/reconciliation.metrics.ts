import { Counter } from 'prom-client';
import type { Services } from '../kernel/context';
import { metricsOf } from '../kernel/metrics';
import type { DriftKind } from './reconciliation.enums';

/** Reconciliation's series on the gateway's /metrics. */
export class ReconciliationMetrics {
  /** Drift newly opened (a drift still open on a later run is not counted again). */
  readonly drift: Counter<'kind'>;
  /** Customers checked, by outcome (ok, failed). */
  readonly customers: Counter<'outcome'>;

  constructor(services: Services) {
    const registers = [metricsOf(services).registry];
    this.drift = new Counter({ name: 'partner_center_drift_total', help: 'Drift newly found by Partner Center reconciliation, by kind', labelNames: ['kind'], registers });
    this.customers = new Counter({ name: 'partner_center_reconciled_customers_total', help: 'Customers checked by Partner Center reconciliation, by outcome (ok, failed)', labelNames: ['outcome'], registers });
    // Every kind shows from the start, at 0.
    for (const kind of ['MISSING_UPSTREAM', 'UNKNOWN_LOCALLY', 'CONTACT_DIFFERS', 'DIRECT_ACCEPTANCE_FOUND'] satisfies `${DriftKind}`[]) this.drift.inc({ kind }, 0);
  }
}
