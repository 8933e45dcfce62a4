/**
 * CPU per request of the read workload's page (contract `Customers`, first: 50, as an ANALYST),
 * for the gateway and its peers side by side on the same seeded data: each server in its own
 * process, driven by autocannon for a fixed number of requests, and the figure is the CPU time
 * (user + system, from /proc) that the server's process spent over those requests, and that
 * PostgreSQL's backends spent meanwhile. Wall time and requests per second are disturbed by
 * anything else on the machine; CPU per request far less, so changes can be compared on a shared
 * machine. Targets are interleaved round by round; figures are medians of the rounds.
 *
 *   node -r reflect-metadata -r @swc-node/register bench/read-cpu.ts
 *
 * Environment (besides BENCH_DATA_DIR and BENCH_PG_PORT, as for `npm run bench`, whose seeding
 * this reuses): BENCH_REQUESTS per target and round (default 2000), BENCH_ROUNDS (default 3),
 * BENCH_CONNECTIONS (default 8), BENCH_TARGETS (comma list of gateway, postgraphile,
 * hand-written-sql, gateway-graphql-js; default the first three), BENCH_REUSE=1 (keep the data
 * of an earlier run instead of seeding afresh), BENCH_BASE_ROOT (another checkout: its gateway
 * joins as `gateway-base`), BENCH_PROFILE=<file> (a CPU profile of the gateway over its first round).
 */
import 'reflect-metadata';
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { Client } from 'pg';
import autocannon from 'autocannon';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { mintToken } from '../src/auth/token';
import { Role } from '../src/auth/roles';
import { median, operation, postJson, ROOT, SECRET, spawnChild, type Child } from './lib';
import { POSTGRAPHILE_FUNCTIONS, POSTGRAPHILE_QUERY, prepare, startGatewayChild } from './run';
import { PERMISSIVE_RULE_SQL } from './lib';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const TARGETS = (process.env.BENCH_TARGETS ?? 'gateway,postgraphile,hand-written-sql').split(',');
const BASE_ROOT = process.env.BENCH_BASE_ROOT ? resolve(process.env.BENCH_BASE_ROOT) : undefined;
const DATA_DIR = process.env.BENCH_DATA_DIR ? join(ROOT, process.env.BENCH_DATA_DIR) : join(ROOT, 'bench', '.data', 'gw');
const PG_PORT = Number(process.env.BENCH_PG_PORT ?? 54339);
const PAGE = 50;
const TICK_US = 1e6 / Number(execSync('getconf CLK_TCK').toString().trim());

const log = (...args: unknown[]) => console.log(`[read-cpu ${new Date().toISOString().slice(11, 19)}]`, ...args);

/** utime + stime of one process (all its threads), in microseconds; 0 once it is gone. */
function cpuOf(pid: number): number {
  return userAndSystem(pid).reduce((a, b) => a + b);
}

/** [utime, stime] of one process in microseconds: system time is mostly socket calls. */
function userAndSystem(pid: number): [number, number] {
  try {
    // The command name may hold spaces: the fields start after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [Number(fields[11]) * TICK_US, Number(fields[12]) * TICK_US];
  } catch {
    return [0, 0];
  }
}

/** CPU of every child of the postmaster (backends, walwriter, ...), per pid. */
function postgresCpu(postmaster: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)) {
    out.set(pid, cpuOf(pid));
  }
  return out;
}

const spentSince = (before: Map<number, number>, after: Map<number, number>) => [...after].reduce((s, [pid, us]) => s + us - (before.get(pid) ?? 0), 0);

interface Target {
  name: string;
  pid: number;
  url: string;
  body: string;
  headers: Record<string, string>;
  child: Child;
}

interface Round {
  serverUsPerRequest: number;
  /** The part of it in the kernel (system time). */
  serverSystemUsPerRequest: number;
  postgresUsPerRequest: number;
  requestsPerSecond: number;
  non2xx: number;
  errors: number;
}

async function main() {
  if (!existsSync(join(ROOT, 'bench', 'node_modules', 'postgraphile'))) execSync('npm ci --prefix bench --no-audit --no-fund', { cwd: ROOT, stdio: 'inherit' });
  let stopPg: () => Promise<void>;
  let url: string;
  if (process.env.BENCH_REUSE === '1' && existsSync(join(DATA_DIR, 'pg'))) {
    const pg = await startEmbeddedPostgres(join(DATA_DIR, 'pg'), PG_PORT);
    url = pg.url;
    stopPg = () => pg.stop();
    // Idempotent: the peer's functions and the bench's policy rule, as `prepare` leaves them.
    const db = new Client({ connectionString: url });
    await db.connect();
    await db.query(POSTGRAPHILE_FUNCTIONS);
    const { rows } = await db.query(`select count(*)::int as n from acceptance_policy_rules where description like 'bench:%'`);
    if (!rows[0].n) await db.query(PERMISSIVE_RULE_SQL);
    await db.end();
  } else {
    ({ url, stopPg } = await prepare());
  }
  const postmaster = Number(readFileSync(join(DATA_DIR, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

  const token = await mintToken(SECRET, { sub: 'bench-analyst', name: 'Bench Analyst', roles: [Role.ANALYST] }, { expiresIn: '12h' });
  const gatewayBody = JSON.stringify({ query: operation('customers.graphql', 'Customers'), variables: { first: PAGE }, operationName: 'Customers' });
  const gatewayHeaders = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const targets: Target[] = [];
  try {
    for (const name of TARGETS) {
      if (name === 'gateway' || name === 'gateway-graphql-js') {
        const gw = await startGatewayChild(url, name === 'gateway' ? {} : { GRAPHQL_JIT: 'false' });
        targets.push({ name, pid: gw.child.proc.pid!, url: `${gw.base}/graphql`, body: gatewayBody, headers: gatewayHeaders, child: gw.child });
      } else if (name === 'postgraphile') {
        const child = spawnChild(['-r', './bench/polyfill.cjs', 'bench/peers/postgraphile.mjs'], { DATABASE_URL: url });
        const { port } = await child.ready;
        targets.push({ name, pid: child.proc.pid!, url: `http://127.0.0.1:${port}/graphql`, body: JSON.stringify({ query: POSTGRAPHILE_QUERY, variables: { first: PAGE } }), headers: { 'content-type': 'application/json' }, child });
      } else if (name === 'hand-written-sql') {
        const child = spawnChild(['bench/peers/sql-http.cjs'], { DATABASE_URL: url, PAGE_SIZE: String(PAGE) });
        const { port } = await child.ready;
        targets.push({ name, pid: child.proc.pid!, url: `http://127.0.0.1:${port}/graphql`, body: '{}', headers: { 'content-type': 'application/json' }, child });
      } else {
        throw new Error(`unknown target ${name}`);
      }
    }
    if (BASE_ROOT) {
      const gw = await startGatewayChild(url, {}, BASE_ROOT);
      targets.push({ name: 'gateway-base', pid: gw.child.proc.pid!, url: `${gw.base}/graphql`, body: gatewayBody, headers: gatewayHeaders, child: gw.child });
    }
    // Each answers the page without errors (the full run compares the pages themselves).
    for (const t of targets) {
      const res = await postJson(t.url, JSON.parse(t.body), t.headers);
      if (res.status !== 200 || res.text.includes('"errors"')) throw new Error(`${t.name}: ${res.text.slice(0, 400)}`);
    }
    const gatewayBodies = targets.filter((t) => t.name.startsWith('gateway'));
    if (gatewayBodies.length > 1) {
      const texts = await Promise.all(gatewayBodies.map(async (t) => (await postJson(t.url, JSON.parse(t.body), t.headers)).text));
      if (texts.some((x) => x !== texts[0])) throw new Error('the gateways answer different pages');
    }

    // Warm-up: JIT compilation, caches and pools, outside the measurement.
    for (const t of targets) await autocannon({ url: t.url, method: 'POST', headers: t.headers, body: t.body, connections: CONNECTIONS, amount: Math.min(REQUESTS, 500) });
    const rounds: Record<string, Round[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
    const loadStart = loadavg();
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of targets) {
        const profiling = process.env.BENCH_PROFILE && r === 0 && t.name === 'gateway';
        if (profiling) await t.child.ask('profileStart');
        const pgBefore = postgresCpu(postmaster);
        const before = userAndSystem(t.pid);
        const res = await autocannon({ url: t.url, method: 'POST', headers: t.headers, body: t.body, connections: CONNECTIONS, amount: REQUESTS });
        const after = userAndSystem(t.pid);
        const server = after[0] + after[1] - before[0] - before[1];
        const postgres = spentSince(pgBefore, postgresCpu(postmaster));
        if (profiling) log('profile', await t.child.ask('profileStop', { file: resolve(process.env.BENCH_PROFILE!) }));
        const n = res.requests.total;
        const round: Round = {
          serverUsPerRequest: server / n,
          serverSystemUsPerRequest: (after[1] - before[1]) / n,
          postgresUsPerRequest: postgres / n,
          requestsPerSecond: res.requests.average,
          non2xx: res.non2xx,
          errors: res.errors + res.timeouts,
        };
        rounds[t.name].push(round);
        log(`round ${r + 1}/${ROUNDS} ${t.name}: ${n} requests, server ${round.serverUsPerRequest.toFixed(0)} µs/req (system ${round.serverSystemUsPerRequest.toFixed(0)}), PostgreSQL ${round.postgresUsPerRequest.toFixed(0)} µs/req, ${round.requestsPerSecond.toFixed(0)} req/s, non-2xx ${round.non2xx}, errors ${round.errors}`);
        if (round.non2xx || round.errors) throw new Error(`${t.name} failed requests`);
      }
    }
    const med = (name: string, k: keyof Round) => median(rounds[name].map((x) => x[k]));
    const summary = Object.fromEntries(
      targets.map((t) => [
        t.name,
        {
          serverUsPerRequest: Math.round(med(t.name, 'serverUsPerRequest')),
          serverSystemUsPerRequest: Math.round(med(t.name, 'serverSystemUsPerRequest')),
          postgresUsPerRequest: Math.round(med(t.name, 'postgresUsPerRequest')),
          totalUsPerRequest: Math.round(median(rounds[t.name].map((x) => x.serverUsPerRequest + x.postgresUsPerRequest))),
          requestsPerSecond: Math.round(med(t.name, 'requestsPerSecond')),
        },
      ]),
    );
    const ratio = (a: string, b: string, k: keyof Round) => (rounds[a] && rounds[b] ? +median(rounds[a].map((x, i) => x[k] / rounds[b][i][k])).toFixed(2) : undefined);
    console.log(
      JSON.stringify(
        {
          requests: REQUESTS,
          rounds: ROUNDS,
          connections: CONNECTIONS,
          loadAverage: { start: loadStart, end: loadavg() },
          summary,
          // Below 1: the gateway spends less CPU per page than the peer (median of the rounds' ratios).
          gatewayServerCpuOver: { postgraphile: ratio('gateway', 'postgraphile', 'serverUsPerRequest'), 'hand-written-sql': ratio('gateway', 'hand-written-sql', 'serverUsPerRequest'), 'gateway-base': ratio('gateway', 'gateway-base', 'serverUsPerRequest') },
        },
        null,
        2,
      ),
    );
  } finally {
    await Promise.all(targets.map((t) => t.child.stop()));
    await stopPg();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
