import type { Counter, Gauge, Registry } from 'prom-client';

/**
 * What features count on the gateway's metrics; src/server/metrics.ts implements it.
 * Each gateway has its own registry (tests run several gateways in one process).
 */
export interface Metrics {
  /** Where a feature registers series of its own (the Partner Center sync engine does). */
  readonly registry: Registry;
  /** Subscription operations running; the subscription resolvers increment and decrement it. */
  readonly activeSubscriptions: Gauge;
  /** Alerts sent to subscribers, one per delivered alert. */
  readonly alertsDelivered: Counter;
}

/** The gateway's metrics, from its services (src/kernel/context.ts). */
export const metricsOf = (services: { readonly metrics: Metrics }): Metrics => services.metrics;
