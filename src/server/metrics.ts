import type { ApolloServerPlugin } from '@apollo/server';
import type { MikroORM } from '@mikro-orm/postgresql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Context } from '../kernel/context';
import { RuntimeSlot } from '../kernel/feature';
import type { Metrics } from '../kernel/metrics';
import type { Route } from '../kernel/routes';

/** Operation names come from clients: only this many distinct ones get their own series. */
export const MAX_OPERATION_LABELS = 200;

interface PoolLike {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
  max: number;
}

/**
 * Prometheus metrics of one gateway, on its own registry (tests run several gateways
 * in one process; the global registry would mix them). Features reach it as
 * `services.metrics`, through the kernel's `Metrics`.
 */
export class GatewayMetrics implements Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'operation' | 'type' | 'outcome'>;
  readonly duration: Histogram<'operation' | 'type'>;
  readonly errors: Counter<'code'>;
  readonly wsOperations: Counter<'operation' | 'type' | 'outcome'>;
  /** Subscription operations running; the alerts feature increments and decrements it. */
  readonly activeSubscriptions: Gauge;
  /** Alerts sent to subscribers; the alerts feature increments it per delivered alert. */
  readonly alertsDelivered: Counter;
  readonly rateLimited: Counter;
  private readonly operations = new Set<string>();
  private wsConnections: () => number = () => 0;

  constructor(orm: MikroORM) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'graphql_requests_total',
      help: 'GraphQL operations over HTTP, by operation name, type and outcome (ok or error)',
      labelNames: ['operation', 'type', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'graphql_request_duration_seconds',
      help: 'Latency of GraphQL operations over HTTP, by operation name and type',
      labelNames: ['operation', 'type'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.errors = new Counter({
      name: 'graphql_errors_total',
      help: 'Errors answered to clients over HTTP and graphql-ws, by extensions.code',
      labelNames: ['code'],
      registers,
    });
    this.wsOperations = new Counter({
      name: 'graphql_ws_operations_total',
      help: 'GraphQL operations over graphql-ws, counted when they end (a subscription when it completes), by operation name, type and outcome (ok or error)',
      labelNames: ['operation', 'type', 'outcome'],
      registers,
    });
    this.activeSubscriptions = new Gauge({ name: 'graphql_active_subscriptions', help: 'Subscription operations currently running', registers });
    this.alertsDelivered = new Counter({ name: 'alerts_delivered_total', help: 'Blocked-order alerts delivered to subscribers', registers });
    this.rateLimited = new Counter({ name: 'rate_limited_mutations_total', help: 'Mutations refused with RATE_LIMITED', registers });
    const self = this;
    new Gauge({
      name: 'graphql_ws_connections',
      help: 'Open graphql-ws connections',
      registers,
      collect() {
        this.set(self.wsConnections());
      },
    });
    new Gauge({
      name: 'db_pool_connections',
      help: 'Database pool connections by state (used, free, pending_acquire, pending_create, max)',
      labelNames: ['state'],
      registers,
      collect() {
        const pool = (orm.em.getConnection().getKnex().client as { pool?: PoolLike }).pool;
        if (!pool) return;
        this.set({ state: 'used' }, pool.numUsed());
        this.set({ state: 'free' }, pool.numFree());
        this.set({ state: 'pending_acquire' }, pool.numPendingAcquires());
        this.set({ state: 'pending_create' }, pool.numPendingCreates());
        this.set({ state: 'max' }, pool.max);
      },
    });
  }

  /** Where the open WebSocket connection count comes from (the graphql-ws server). */
  countWsConnectionsWith(source: () => number): void {
    this.wsConnections = source;
  }

  /** A bounded label for a client-chosen operation name. */
  operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return UNCOUNTED_OPERATION;
    if (this.operations.has(name)) return name;
    if (this.operations.size >= MAX_OPERATION_LABELS) return UNCOUNTED_OPERATION;
    this.operations.add(name);
    return name;
  }
}

/** Each gateway's metrics with the server's own series (features see them as `services.metrics`). */
export const serverMetrics = new RuntimeSlot<GatewayMetrics>('metrics');

/** The label of operations whose names are not counted: over the budget, malformed, unauthenticated or invalid. */
export const UNCOUNTED_OPERATION = 'other';

/** Counts and times every HTTP operation, and counts answered errors by code. */
export function metricsPlugin(metrics: GatewayMetrics): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      const end = process.hrtime.bigint;
      const start = end();
      return {
        async willSendResponse({ response, operationName, operation, contextValue }) {
          // Only an authenticated caller's validated operation may take one of the bounded
          // names: made-up names of anyone else would use the budget up.
          const named = operation && contextValue?.viewer ? metrics.operationLabel(operationName) : UNCOUNTED_OPERATION;
          const labels = { operation: named, type: operation?.operation ?? 'unknown' };
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          metrics.duration.observe(labels, Number(end() - start) / 1e9);
          metrics.requests.inc({ ...labels, outcome: errors.length ? 'error' : 'ok' });
          for (const e of errors) metrics.errors.inc({ code: String(e.extensions?.code ?? 'UNKNOWN') });
        },
      };
    },
  };
}

/** GET /metrics in Prometheus' text format. */
export const metricsRoute: Route = {
  method: 'GET',
  path: '/metrics',
  handle: async (_req, res, services) => {
    const { registry } = services.metrics;
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(text);
  },
};
