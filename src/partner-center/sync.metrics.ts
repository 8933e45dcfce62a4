import { Counter, Gauge, Histogram } from 'prom-client';
import type { Services } from '../kernel/context';
import { metricsOf } from '../kernel/metrics';

export class SyncMetrics {
  readonly outcomes: Counter<'outcome'>;
  readonly upstream: Histogram<'operation'>;
  constructor(services: Services, depth: () => Promise<number>) {
    const registry = metricsOf(services).registry;
    const registers = registry ? [registry] : [];
    this.outcomes = new Counter({
      name: 'partner_center_sync_total',
      help: 'Partner Center delivery attempts by outcome (synced, already_synced, retry, failed, not_connected, paused)',
      labelNames: ['outcome'],
      registers,
    });
    this.upstream = new Histogram({
      name: 'partner_center_upstream_duration_seconds',
      help: 'Latency of Partner Center calls by operation (token, confirm, metadata, agreements, attestation_create, ...)',
      labelNames: ['operation'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    new Gauge({
      name: 'partner_center_queue_depth',
      help: 'Partner Center delivery jobs waiting (due now or scheduled for a retry)',
      registers,
      async collect() {
        this.set(await depth().catch(() => 0));
      },
    });
  }
}
