import type { Client } from 'graphql-ws';
import { aPartner, aPartnerToken } from '../factories';
import { platformAdminToken } from '../support/gateway';
import { startLoggedGateway, type HardeningGateway } from './support';
import { wsClient, wsOnce } from './ws-client';
import { metricsOf } from '../../src/kernel/metrics';
import { GatewayMetrics, MAX_OPERATION_LABELS } from '../../src/server/metrics';
import { Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';

/** Structured request logs (pino) and Prometheus metrics at /metrics, per gateway. */

let gw: HardeningGateway;
let partner: Partner;
let agent: string;
beforeAll(async () => {
  gw = await startLoggedGateway();
  partner = await aPartner(gw);
  agent = await aPartnerToken(partner, Role.AGENT, 'obs-agent');
});
afterAll(() => gw?.stop());

async function post(body: unknown, token?: string): Promise<{ requestId: string | null; body: any }> {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { requestId: res.headers.get('x-request-id'), body: await res.json() };
}

async function scrape(target: HardeningGateway = gw): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${target.port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/plain/);
  return res.text();
}

/** The value of one series in Prometheus' text format, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe('request logs', () => {
  it('one JSON line per request: request id, user, partner, operation, duration, outcome', async () => {
    const { requestId, body } = await post({ query: 'query Whoami { viewer { userId } }', operationName: 'Whoami' }, agent);
    expect(body.errors).toBeUndefined();
    const line = gw.log.find((l) => l.requestId === requestId && l.msg === 'graphql request');
    expect(line).toMatchObject({
      level: 30,
      requestId,
      userId: 'obs-agent',
      partnerId: partner.id,
      operationName: 'Whoami',
      operationType: 'query',
      status: 200,
      outcome: 'ok',
    });
    expect(typeof line!.durationMs).toBe('number');
    expect(line!.errorCodes).toBeUndefined();
  });

  it('a refused request logs its outcome and error codes', async () => {
    const { requestId } = await post({ query: '{ viewer { userId } }' });
    const line = gw.log.find((l) => l.requestId === requestId && l.msg === 'graphql request');
    expect(line).toMatchObject({ outcome: 'error', errorCodes: ['UNAUTHENTICATED'] });
    expect(line).not.toHaveProperty('userId');
    const { requestId: tooDeep } = await post({ query: '{ partners { edges { node { providers { resellers { providers { resellers { providers { resellers { providers { id } } } } } } } } } } }' }, agent);
    expect(gw.log.find((l) => l.requestId === tooDeep && l.msg === 'graphql request')).toMatchObject({ outcome: 'error', status: 400, errorCodes: ['QUERY_TOO_COMPLEX'] });
  });
});

/** Polls until `probe` answers something (graphql-ws operations are logged when they end, after the client has its answer). */
async function until<T>(probe: () => T | undefined, tries = 1000): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('never happened');
}

describe('graphql-ws operations are logged and counted like HTTP requests', () => {
  let client: Client;
  beforeAll(() => {
    client = wsClient(gw.url, agent);
  });
  afterAll(() => client?.dispose());

  it('a query: one line when it ends (request id, user, partner, operation, transport, duration, outcome) and one count', async () => {
    const count = async () => sample(await scrape(), 'graphql_ws_operations_total', { operation: 'WsWhoami', type: 'query', outcome: 'ok' }) ?? 0;
    const before = await count();
    const res = await wsOnce(client, 'query WsWhoami { viewer { userId } }');
    expect(res.errors).toBeUndefined();
    const line = await until(() => gw.log.find((l) => l.msg === 'graphql ws operation' && l.operationName === 'WsWhoami'));
    expect(line).toMatchObject({ level: 30, userId: 'obs-agent', partnerId: partner.id, operationType: 'query', transport: 'ws', outcome: 'ok' });
    expect(typeof line.requestId).toBe('string');
    expect(typeof line.durationMs).toBe('number');
    expect(await count()).toBe(before + 1);
  });

  it('a subscription: logged and counted when it completes, however long it ran', async () => {
    const events: unknown[] = [];
    const dispose = client.subscribe({ query: 'subscription WsAlerts { blockedOrderAlerts { id } }' }, { next: (v) => events.push(v), error: () => undefined, complete: () => undefined });
    // Running on the server (not a fixed pause: under load the subscription may take longer to start).
    for (let i = 0; i < 1000 && !(sample(await scrape(), 'graphql_active_subscriptions')! >= 1); i++) await new Promise((r) => setTimeout(r, 20));
    expect(sample(await scrape(), 'graphql_active_subscriptions')).toBe(1);
    expect(gw.log.find((l) => l.msg === 'graphql ws operation' && l.operationName === 'WsAlerts')).toBeUndefined();
    dispose();
    const line = await until(() => gw.log.find((l) => l.msg === 'graphql ws operation' && l.operationName === 'WsAlerts'));
    expect(line).toMatchObject({ userId: 'obs-agent', operationType: 'subscription', transport: 'ws', outcome: 'ok' });
    // How long it ran is reported, but never asserted: a loaded machine makes any bound flaky.
    expect(line.durationMs).toEqual(expect.any(Number));
    expect(sample(await scrape(), 'graphql_active_subscriptions')).toBe(0);
    expect(await until(async () => sample(await scrape(), 'graphql_ws_operations_total', { operation: 'WsAlerts', type: 'subscription', outcome: 'ok' }))).toBe(1);
  });

  it('a refused operation: its error codes in the line, the count and graphql_errors_total', async () => {
    const codes = async () => sample(await scrape(), 'graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' }) ?? 0;
    const before = await codes();
    const res = await wsOnce(client, 'query WsBroken { viewer { nope } }');
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const line = await until(() => gw.log.find((l) => l.msg === 'graphql ws operation' && l.operationName === undefined && l.errorCodes?.includes('GRAPHQL_VALIDATION_FAILED')));
    expect(line).toMatchObject({ transport: 'ws', outcome: 'error' });
    expect(await codes()).toBe(before + 1);
  });
});

describe('/metrics', () => {
  it('counts requests and latency by operation, and errors by code', async () => {
    const before = await scrape();
    const ok = (text: string) => sample(text, 'graphql_requests_total', { operation: 'Partners', type: 'query', outcome: 'ok' }) ?? 0;
    const unauthenticated = (text: string) => sample(text, 'graphql_errors_total', { code: 'UNAUTHENTICATED' }) ?? 0;
    const latency = (text: string) => sample(text, 'graphql_request_duration_seconds_count', { operation: 'Partners', type: 'query' }) ?? 0;

    await post({ query: 'query Partners { partners(first: 1) { totalCount } }' }, agent);
    await post({ query: 'query Partners { partners(first: 1) { totalCount } }' }, agent);
    await post({ query: 'query Partners { partners(first: 1) { totalCount } }' });

    const after = await scrape();
    expect(ok(after) - ok(before)).toBe(2);
    expect(unauthenticated(after) - unauthenticated(before)).toBe(1);
    // The unauthenticated one is timed under `other`: its name takes no label.
    expect(latency(after) - latency(before)).toBe(2);
    expect(sample(after, 'graphql_request_duration_seconds_bucket', { operation: 'Partners', type: 'query', le: '+Inf' })).toBe(latency(after));
  });

  it('reports open graphql-ws connections, active subscriptions, alerts delivered and rate-limited mutations', async () => {
    const client: Client = wsClient(gw.url, await platformAdminToken());
    try {
      await wsOnce(client, '{ viewer { userId } }');
      const text = await scrape();
      expect(sample(text, 'graphql_ws_connections')).toBe(1);
      expect(sample(text, 'graphql_active_subscriptions')).toBeGreaterThanOrEqual(0);
      expect(sample(text, 'rate_limited_mutations_total')).toBe(0);
      // The alerts feature counts deliveries on the same registry.
      const delivered = sample(text, 'alerts_delivered_total')!;
      metricsOf(gw.services)!.alertsDelivered.inc(2);
      expect(sample(await scrape(), 'alerts_delivered_total')).toBe(delivered + 2);
    } finally {
      await client.dispose();
    }
  });

  it('reports the database pool', async () => {
    const text = await scrape();
    expect(sample(text, 'db_pool_connections', { state: 'max' })).toBe(20); // the default DATABASE_POOL_MAX
    expect(sample(text, 'db_pool_connections', { state: 'used' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'db_pool_connections', { state: 'free' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'db_pool_connections', { state: 'pending_acquire' })).toBe(0);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('each gateway has its own registry', async () => {
    const other = await startLoggedGateway();
    try {
      await post({ query: 'query OnlyOnTheFirst { __typename }' }, agent);
      expect(sample(await scrape(), 'graphql_requests_total', { operation: 'OnlyOnTheFirst' })).toBe(1);
      expect(sample(await scrape(other), 'graphql_requests_total', { operation: 'OnlyOnTheFirst' })).toBeUndefined();
    } finally {
      await other.stop();
    }
  });

  it('names of unauthenticated or refused operations take no label, so they cannot use up the budget', async () => {
    const client: Client = wsClient(gw.url, agent);
    try {
      for (let i = 0; i <= MAX_OPERATION_LABELS; i++) {
        await post({ query: `query MadeUp${i} { __typename }` });
        await wsOnce(client, `query MadeUpWs${i} { nope }`);
      }
      await post({ query: 'query RealAfterFakes { viewer { userId } }' }, agent);
      await wsOnce(client, 'query RealWsAfterFakes { viewer { userId } }');
      const text = await scrape();
      expect(text).not.toMatch(/MadeUp/);
      expect(sample(text, 'graphql_requests_total', { operation: 'RealAfterFakes', type: 'query', outcome: 'ok' })).toBe(1);
      expect(await until(async () => sample(await scrape(), 'graphql_ws_operations_total', { operation: 'RealWsAfterFakes', type: 'query', outcome: 'ok' }))).toBe(1);
    } finally {
      await client.dispose();
    }
  });

  it('client-chosen operation names are bounded as labels', () => {
    const metrics = new GatewayMetrics(gw.orm);
    expect(metrics.operationLabel(undefined)).toBe('anonymous');
    expect(metrics.operationLabel('x'.repeat(65))).toBe('other');
    for (let i = 0; i < 200; i++) expect(metrics.operationLabel(`Op${i}`)).toBe(`Op${i}`);
    expect(metrics.operationLabel('OneTooMany')).toBe('other');
    expect(metrics.operationLabel('Op7')).toBe('Op7');
  });
});
