/**
 * The read workload's cost per request, in one process: the gateway (in-process, the
 * real `createGateway`) answers the contract's `Customers` page sequentially, and the
 * figure is CPU milliseconds per request, which a loaded machine disturbs far less than
 * requests per second. With BENCH_PROFILE=<file> it writes a CPU profile of the run, with
 * BENCH_HEAP=<file> a sampling heap profile of every allocation (`.heapprofile`; with BENCH_HEAP_RETAINED=1
 * only of those still held at the end).
 * Needs a database seeded by `npm run bench` (BENCH_DATA_DIR, BENCH_PG_PORT as there).
 *
 *   node -r reflect-metadata -r @swc-node/register bench/read-profile.ts
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'node:inspector';
import pino from 'pino';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { loadConfig } from '../src/config';
import { createGateway } from '../src/gateway';
import { queryRows } from '../src/db/query';
import type { EntityManager } from '@mikro-orm/postgresql';
import { mintToken } from '../src/auth/token';
import { Role } from '../src/auth/roles';
import { ROOT, SECRET, median, operation } from './lib';

const DATA_DIR = join(ROOT, process.env.BENCH_DATA_DIR ?? 'bench/.data/gw');
const PG_PORT = Number(process.env.BENCH_PG_PORT ?? 54339);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const FIRST = Number(process.env.BENCH_FIRST ?? 50);

async function main() {
  const pg = await startEmbeddedPostgres(join(DATA_DIR, 'pg'), PG_PORT);
  const config = loadConfig({ ...process.env, DATABASE_URL: pg.url, PORT: '0', NODE_ENV: 'production', JWT_SECRET: SECRET, LOG_LEVEL: 'fatal', RENEWAL_SCAN_ON_START: 'false' });
  const gateway = await createGateway(config, pino({ level: 'fatal' }));
  let statements = 0;
  let recent: { sql: string; bindings?: unknown[] }[] = [];
  gateway.orm.em.getConnection().getKnex().on('query', (q: { sql: string; bindings?: unknown[] }) => {
    statements++;
    recent.push(q);
  });
  const token = await mintToken(SECRET, { sub: 'bench-analyst', name: 'Analyst', roles: [Role.ANALYST] }, { expiresIn: '12h' });
  const url = `http://127.0.0.1:${gateway.port}/graphql`;
  const body = JSON.stringify({ query: operation('customers.graphql', 'Customers'), variables: { first: FIRST }, operationName: 'Customers' });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  let bytes = 0;
  const once = async () => {
    const res = await fetch(url, { method: 'POST', headers, body });
    const text = await res.text();
    if (res.status !== 200 || text.includes('"errors"')) throw new Error(text.slice(0, 400));
    bytes = text.length;
  };
  for (let i = 0; i < 50; i++) await once();
  const session = new Session();
  const post = (method: string, params?: object) => new Promise<any>((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  if (process.env.BENCH_PROFILE || process.env.BENCH_HEAP) session.connect();
  if (process.env.BENCH_PROFILE) {
    await post('Profiler.enable');
    await post('Profiler.start');
  }
  // BENCH_HEAP=<file>: where the allocations come from (every sampled allocation, also those that die young).
  if (process.env.BENCH_HEAP) {
    await post('HeapProfiler.enable');
    // BENCH_HEAP_RETAINED=1: only what is still held when the profile is taken (what survived the
    // collections so far: the objects that outlive a request and fill the old generation).
    const every = process.env.BENCH_HEAP_RETAINED !== '1';
    await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: every, includeObjectsCollectedByMinorGC: every });
  }
  const statementsBefore = statements;
  const cpu: number[] = [];
  const wall: number[] = [];
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 1);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  if (concurrency === 1) {
    for (let i = 0; i < REQUESTS; i++) {
      const c1 = process.cpuUsage();
      const t1 = performance.now();
      await once();
      wall.push(performance.now() - t1);
      const c = process.cpuUsage(c1);
      cpu.push((c.user + c.system) / 1000);
    }
  } else {
    // Several clients at once: the figures are totals over the run, per request.
    let left = REQUESTS;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left-- > 0) {
          const t1 = performance.now();
          await once();
          wall.push(performance.now() - t1);
        }
      }),
    );
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000 / REQUESTS);
  }
  const elapsed = performance.now() - t0;
  if (process.env.BENCH_HEAP) {
    const { profile } = await post('HeapProfiler.stopSampling');
    writeFileSync(process.env.BENCH_HEAP, JSON.stringify(profile));
  }
  if (process.env.BENCH_PROFILE) {
    const { profile } = await post('Profiler.stop');
    writeFileSync(process.env.BENCH_PROFILE, JSON.stringify(profile));
  }
  console.log(JSON.stringify({ first: FIRST, bytes, requests: REQUESTS, statementsPerRequest: +((statements - statementsBefore) / REQUESTS).toFixed(2), concurrency, cpuMsMedian: +median(cpu).toFixed(2), wallMsMedian: +median(wall).toFixed(2), requestsPerSecond: +((REQUESTS / elapsed) * 1000).toFixed(1) }));
  if (process.env.BENCH_EXPLAIN) {
    // Planning and execution time of each statement of one request, as PostgreSQL reports them.
    recent = [];
    await once();
    // Through queryRows, as the read path runs them: an array binds as one PostgreSQL array.
    const em = gateway.orm.em.fork() as EntityManager;
    for (const q of [...recent]) {
      const plan = await queryRows<{ 'QUERY PLAN': string }>(em, `explain (analyze, summary, buffers) ${q.sql}`, (q.bindings ?? []) as unknown[]);
      const lines = plan.map((r) => r['QUERY PLAN']);
      console.log(q.sql.replace(/\s+/g, ' ').slice(0, 120), '|', lines.filter((l) => /Planning Time|Execution Time/.test(l)).join(' '));
      if (process.env.BENCH_EXPLAIN === 'full') console.log(q.sql, '\n', lines.join('\n'));
    }
  }
  await gateway.stop();
  await pg.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
