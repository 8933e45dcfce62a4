/** Helpers shared by the benchmark runner and its child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Agent, request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, print, Kind, type OperationDefinitionNode } from 'graphql';
import { Client } from 'pg';
import autocannon from 'autocannon';
import { initOrm } from '../src/db/orm';
import { entities } from '../src/features';
import { START_NODE_FLAGS } from './node-flags';
import { migrate } from '../src/db/migrate';

export const ROOT = join(__dirname, '..');
export const SECRET = 'bench-secret-that-is-long-enough-for-hs256-signing';
/** How TypeScript children are started: the same hooks as `npm start`. */
export const TS_NODE = ['-r', 'reflect-metadata', '-r', '@swc-node/register'];
export const GATEWAY_NODE_FLAGS = process.env.BENCH_NODE_FLAGS !== undefined ? process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean) : START_NODE_FLAGS;

export interface Summary {
  p50: number;
  p99: number;
  mean: number;
  max: number;
  n: number;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / (sorted.length || 1);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean, max: sorted[sorted.length - 1] ?? NaN, n: sorted.length };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface Child {
  proc: ChildProcess;
  /** Sends a command and waits for the answer with the same `id`. */
  ask<T = any>(cmd: string, extra?: Record<string, unknown>): Promise<T>;
  /** The first message of type `ready`. */
  ready: Promise<any>;
  stop(): Promise<void>;
}

/** Every child still running, so an interrupted run (Ctrl-C, SIGTERM) leaves no server behind. */
const running = new Set<ChildProcess>();
let reaping = false;
function reapOnSignals(): void {
  if (reaping) return;
  reaping = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const proc of running) proc.kill('SIGTERM');
      // An embedded PostgreSQL of the run has its own handler, which stops it and then exits.
      if (process.listenerCount(signal) === 0) process.exit(130);
    });
  }
}

/** Spawns a node child with an IPC channel; it answers `{id, ...}` to `{id, cmd}`. */
export function spawnChild(args: string[], env: Record<string, string | undefined>, opts: { stdout?: 'ignore' | 'inherit' } = {}): Child {
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', opts.stdout ?? 'ignore', 'inherit', 'ipc'],
  });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  reapOnSignals();
  let seq = 0;
  const waiting = new Map<number, (m: any) => void>();
  let readyResolve!: (m: any) => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<any>((res, rej) => ((readyResolve = res), (readyReject = rej)));
  ready.catch(() => undefined); // callers that never wait for `ready` (plain servers) must not crash the runner
  proc.on('message', (m: any) => {
    if (m?.type === 'ready') readyResolve(m);
    else if (m?.type === 'failed') readyReject(new Error(m.error));
    else if (typeof m?.id === 'number') waiting.get(m.id)?.(m), waiting.delete(m.id);
  });
  proc.once('exit', (code) => readyReject(new Error(`child ${args.join(' ')} exited with ${code}`)));
  return {
    proc,
    ready,
    ask: (cmd, extra = {}) =>
      new Promise((resolve) => {
        const id = ++seq;
        waiting.set(id, resolve);
        proc.send({ id, cmd, ...extra });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        proc.once('exit', () => (clearTimeout(t), resolve()));
        proc.kill('SIGTERM');
      }),
  };
}

/**
 * The gateway under test in a child (`bench/gateway-child.ts`) against `url`, production settings,
 * no demo data, no renewal scan at start-up (it would run during the measurement). `root` is the
 * checkout whose gateway runs: another one (before/after runs) spawns through its own bench/lib.ts.
 */
export async function startBenchGateway(root: string, url: string, nodeFlags: string[] = []): Promise<{ child: Child; base: string }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const spawn: typeof spawnChild = root === ROOT ? spawnChild : require(join(root, 'bench', 'lib.ts')).spawnChild;
  const child = spawn([...TS_NODE, ...nodeFlags, '--expose-gc', 'bench/gateway-child.ts'], {
    DATABASE_URL: url,
    PORT: '0',
    NODE_ENV: 'production',
    JWT_SECRET: SECRET,
    SEED_DEMO: 'false',
    LOG_LEVEL: 'warn',
    RENEWAL_SCAN_ON_START: 'false',
  });
  const { port } = await child.ready;
  return { child, base: `http://127.0.0.1:${port}` };
}

/** In a child: answer IPC commands with `handlers`. */
export function serveIpc(handlers: Record<string, (m: any) => unknown | Promise<unknown>>): void {
  process.on('message', async (m: any) => {
    const h = handlers[m?.cmd];
    try {
      const result = h ? await h(m) : { error: `unknown command ${m?.cmd}` };
      process.send?.({ id: m.id, ...(result as object) });
    } catch (err) {
      process.send?.({ id: m.id, error: String(err) });
    }
  });
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

/** One operation of the committed client documents (`operations/<file>`), with the fragments it uses. */
export function operation(file: string, name: string): string {
  const doc = parse(readFileSync(join(ROOT, 'operations', file), 'utf8'));
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === name) as OperationDefinitionNode;
  const used = new Set<string>();
  const fragments = doc.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  const collect = (node: unknown) =>
    JSON.stringify(node, (k, v) => {
      if (v && v.kind === Kind.FRAGMENT_SPREAD) used.add(v.name.value);
      return v;
    });
  collect(op);
  for (const f of fragments) if (used.has((f as { name: { value: string } }).name.value)) collect(f);
  return [op, ...fragments.filter((f) => used.has((f as { name: { value: string } }).name.value))].map((d) => print(d)).join('\n\n');
}

/**
 * Drops and re-creates the `consent_gateway` database of an embedded PostgreSQL and
 * applies the gateway's own migrations; answers the migrations applied.
 */
export async function freshGatewayDatabase(url: string): Promise<string[]> {
  const admin = new Client({ connectionString: url.replace(/\/consent_gateway$/, '/postgres') });
  await admin.connect();
  await admin.query('drop database if exists consent_gateway with (force)');
  await admin.query('create database consent_gateway');
  await admin.end();
  const orm = await initOrm(url, entities);
  try {
    return await migrate(orm);
  } finally {
    await orm.close();
  }
}

// ---------------------------------------------------------------- shared by bench/run.ts and bench/scale.ts

/** What the runners keep of an autocannon run. */
export interface Cannon {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
  /** fixedRate: the requests over SLOW_MS, as [due time in ms from the start, latency in ms] (one stall shows as a run of neighbours). */
  slow?: [number, number][];
}

/** What fixedRate lists as slow: the p99 goal's bound. */
export const SLOW_MS = 50;

export async function cannon(opts: autocannon.Options): Promise<Cannon> {
  const r = await autocannon({ ...opts });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    total: r.requests.total,
  };
}

/** A request's latencies (2xx, from `from`) and its failures, as the load generators below tally them. */
interface Tally {
  latencies: number[];
  non2xx: number;
  errors: number;
}

/** One request on `agent`, its latency counted from `from` (performance.now() time) into `tally`. */
function tallied(opts: { url: string; method: string; headers?: Record<string, string>; body?: string }, agent: Agent, tally: Tally, from: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const req = httpRequest(opts.url, { method: opts.method, headers: opts.headers, agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) tally.latencies.push(performance.now() - from);
        else tally.non2xx++;
        resolve();
      });
      res.on('error', () => (tally.errors++, resolve()));
    });
    req.on('error', () => (tally.errors++, resolve()));
    req.end(opts.body);
  });
}

/**
 * One connection, closed loop: each request sent when the one before has answered, for
 * `duration` seconds, each timed with performance.now() (sub-millisecond; autocannon reports
 * whole milliseconds, so a 2 ms read against a 3 ms one reads as 1.5x or 2x by rounding).
 */
export async function oneConnection(opts: { url: string; method: string; headers?: Record<string, string>; body?: string; duration: number }): Promise<Cannon> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const tally: Tally = { latencies: [], non2xx: 0, errors: 0 };
  const started = performance.now();
  const end = started + opts.duration * 1000;
  while (performance.now() < end) await tallied(opts, agent, tally, performance.now());
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const s = summarize(tally.latencies);
  return { rps: tally.latencies.length / seconds, p50: s.p50, p99: s.p99, non2xx: tally.non2xx, errors: tally.errors, total: tally.latencies.length };
}

/**
 * A fixed offered rate, open loop: request i is due at start + i / rate seconds, evenly
 * spaced, whether or not earlier answers came back (at most `connections` in flight, as a
 * client's pool would; a request waiting for a free connection waits on the clock). Each
 * latency is measured from the request's due time, so a server falling behind shows in the
 * percentiles (no coordinated omission).
 *
 * Not autocannon's `overallRate`: it gives each connection rate / connections requests per
 * second and lets each send its share back to back at the start of every second, so "100/s"
 * arrives as one burst of 100 requests per second, whose queue is what its p99 measures.
 */
export async function fixedRate(opts: {
  url: string;
  method: string;
  headers?: Record<string, string>;
  body?: string;
  rate: number;
  duration: number;
  connections: number;
}): Promise<Cannon> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const total = Math.floor(opts.rate * opts.duration);
  const interval = 1000 / opts.rate;
  const tally: Tally = { latencies: [], non2xx: 0, errors: 0 };
  const slow: [number, number][] = [];
  const started = performance.now();
  const one = async (due: number) => {
    await tallied(opts, agent, tally, due);
    const ms = performance.now() - due;
    if (ms > SLOW_MS) slow.push([Math.round(due - started), Math.round(ms)]);
  };
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(one(due));
  }
  await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const s = summarize(tally.latencies);
  return { rps: tally.latencies.length / seconds, p50: s.p50, p99: s.p99, non2xx: tally.non2xx, errors: tally.errors, total: tally.latencies.length, slow: slow.sort((a, b) => a[0] - b[0]) };
}

/**
 * The seed's confirmations are of the Cloud Agreement, which today's default policy no longer
 * accepts (DESIGN.md section 10): a permissive rule from today, as a platform admin would add one,
 * keeps the workloads' outcomes (3 completed : 1 blocked, the page's statuses) those of the
 * founding rules, so any checkout compares on the same work.
 */
export const PERMISSIVE_RULE_SQL = `insert into acceptance_policy_rules (id, effective_from, channel, accepted_types, description, created_at)
  values (gen_random_uuid(), (now() at time zone 'utc')::date, null, '{MICROSOFT_CLOUD_AGREEMENT,MICROSOFT_CUSTOMER_AGREEMENT}', 'bench: either agreement, any acceptance date', now())`;

export function gatewayEnv(url: string): Record<string, string> {
  return {
    DATABASE_URL: url,
    PORT: '0',
    NODE_ENV: 'production',
    JWT_SECRET: SECRET,
    SEED_DEMO: 'false',
    LOG_LEVEL: 'info',
    // The write workload places thousands of orders per partner per minute; the limit is
    // a production guard (600/min by default), not what is measured here.
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '10000000',
    // The one-off renewal-risk scan at start-up (a background job over every subscription)
    // would overlap the first workload; the daily schedule (pg-boss) stays on.
    RENEWAL_SCAN_ON_START: 'false',
  };
}

export interface Tokens {
  analyst: string;
  platformAdmin: string;
  partner: Map<string, string>;
}

const ATTEMPT = operation('transactions.graphql', 'AttemptTransaction');

/** What the write workload needs of a (customer, billing partner) pair. */
export interface WriteRelationship {
  customerId: string;
  partnerId: string;
  resellerId: string | null;
  /** Whether a NEW_PURCHASE by this partner is blocked today. */
  blocked: boolean;
}

/** An attempt by the billing partner (or, for half of the indirect ones, by the reseller through it). */
export function attemptBody(rel: WriteRelationship, key: string, viaReseller: boolean) {
  return {
    query: ATTEMPT,
    operationName: 'AttemptTransaction',
    variables: {
      input: {
        customerId: rel.customerId,
        kind: 'NEW_PURCHASE',
        channel: 'API',
        offerId: 'O365_E3',
        quantity: 10,
        idempotencyKey: key,
        ...(viaReseller ? { partnerId: rel.partnerId } : {}),
      },
    },
  };
}

/** The `AttemptTransaction` mix: a 2 s warm-up, then `runs` runs of `duration` seconds at 16 connections. */
export async function writeWorkload(
  gw: { base: string },
  relationships: WriteRelationship[],
  tokens: Tokens,
  opts: { runs: number; duration: number; log: (...args: unknown[]) => void },
) {
  const { runs: runCount, duration, log } = opts;
  // Three completed for one blocked: compliant (or national-cloud) relationships and blocked ones.
  const ok = relationships.filter((r) => !r.blocked);
  const blocked = relationships.filter((r) => r.blocked);
  const runs: (Cannon & { completed: number; blocked: number; failed: number; ordersPerSec: number })[] = [];
  let warmUpOrders = 0;
  for (let run = 0; run < runCount + 1; run++) {
    let n = 0;
    const outcome = { completed: 0, blocked: 0, failed: 0 };
    let firstError = '';
    const res = await cannon({
      url: `${gw.base}/graphql`,
      method: 'POST',
      connections: 16,
      duration: run === 0 ? 2 : duration,
      requests: [
        {
          method: 'POST',
          setupRequest: (req: any) => {
            const i = n++;
            const rel = i % 4 === 3 ? blocked[i % blocked.length] : ok[(i * 7) % ok.length];
            return {
              ...req,
              headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.partner.get(rel.partnerId)}` },
              body: JSON.stringify(attemptBody(rel, `bench-w2-${Date.now()}-${run}-${i}`, false)),
            };
          },
          onResponse: (_status: number, body: string) => {
            if (body.includes('"outcome":"COMPLETED"')) outcome.completed++;
            else if (body.includes('"outcome":"BLOCKED"')) outcome.blocked++;
            else {
              outcome.failed++;
              firstError ||= body.slice(0, 300);
            }
          },
        },
      ] as any,
    });
    if (run === 0) {
      warmUpOrders = outcome.completed + outcome.blocked + outcome.failed;
      continue; // warm-up
    }
    const ordersPerSec = (outcome.completed + outcome.blocked) / duration;
    runs.push({ ...res, ...outcome, ordersPerSec });
    log(`write run ${run}/${runCount}: ${ordersPerSec.toFixed(0)} orders/s p50 ${res.p50} ms p99 ${res.p99} ms`, outcome, firstError);
  }
  return {
    connections: 16,
    mix: '3 completed NEW_PURCHASE : 1 blocked (no or withdrawn acceptance), each by the billing partner\'s ADMIN, unique idempotency keys',
    runs,
    warmUpOrders,
    medians: { ordersPerSec: median(runs.map((r) => r.ordersPerSec)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)) },
  };
}
