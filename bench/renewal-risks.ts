/**
 * `renewalRisks` only, on the database seeded by bench/renewals.ts (issue 10; goal:
 * p99 under 100 ms for a page of 50). No seeding, no export: a quicker loop for
 * before/after runs of the list alone.
 *
 *   BENCH_DATA_DIR=bench/.data/risks BENCH_PG_PORT=24351 \
 *     node -r reflect-metadata -r @swc-node/register bench/renewal-risks.ts
 *
 * Environment: BENCH_DATA_DIR and BENCH_PG_PORT as for bench/renewals.ts (the data must
 * have been seeded by it), BENCH_DURATION seconds (default 10), BENCH_CONNECTIONS
 * (default 1), BENCH_GATEWAY_ROOT (another checkout's gateway against the same data),
 * BENCH_ROUNDS (default 1: each round runs every root once, alternating), BENCH_ROOTS
 * (colon-separated checkouts to alternate, instead of BENCH_GATEWAY_ROOT), BENCH_PROFILE=1
 * (a CPU profile of the gateway per workload, under bench/results), BENCH_DUMP=1 (writes
 * every page of both lists, 100 at a time, to bench/results/risks-dump-<n>.json, for
 * comparing two checkouts row for row). Loopback only.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import autocannon from 'autocannon';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { mintToken } from '../src/auth/token';
import { Role } from '../src/auth/roles';
import { operation, postJson, ROOT, SECRET, startBenchGateway, type Child } from './lib';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 1);
const PG_PORT = Number(process.env.BENCH_PG_PORT ?? 54341);
const DATA_DIR = process.env.BENCH_DATA_DIR ?? join(ROOT, 'bench', '.data', 'renewals');
const ROOTS = (process.env.BENCH_ROOTS ?? process.env.BENCH_GATEWAY_ROOT ?? ROOT).split(':').filter(Boolean);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const PROFILE = process.env.BENCH_PROFILE === '1';
const DUMP = process.env.BENCH_DUMP === '1';
const RESULTS = join(ROOT, 'bench', 'results');

const log = (...args: unknown[]) => console.log(`[risks ${new Date().toISOString().slice(11, 19)}]`, ...args);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** The contract's operation, as partner portals send it. */
const RENEWAL_RISKS = operation('renewals.graphql', 'RenewalRisks');

async function dump(gw: { base: string }, token: string, partnerId: string | null) {
  const pages: unknown[] = [];
  let after: string | null = null;
  for (;;) {
    const res = await postJson(`${gw.base}/graphql`, { query: RENEWAL_RISKS, variables: { partnerId, withinDays: 60, first: 100, after } }, { authorization: `Bearer ${token}` });
    const page = JSON.parse(res.text).data.renewalRisks;
    pages.push(page);
    if (!page.pageInfo.hasNextPage) return pages;
    after = page.pageInfo.endCursor;
  }
}

async function workload(gw: { child: Child; base: string }, root: string, token: string, label: string, partnerId: string | null) {
  const payload = { query: RENEWAL_RISKS, variables: { partnerId, withinDays: 60, first: 50 }, operationName: 'RenewalRisks' };
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const first = JSON.parse((await postJson(`${gw.base}/graphql`, payload, { authorization: headers.authorization })).text);
  if (first.errors) throw new Error(JSON.stringify(first.errors));
  const before = (await gw.child.ask('statements')).statements;
  await postJson(`${gw.base}/graphql`, payload, { authorization: headers.authorization });
  const statements = (await gw.child.ask('statements')).statements - before;
  await autocannon({ url: `${gw.base}/graphql`, method: 'POST', headers, body: JSON.stringify(payload), connections: CONNECTIONS, duration: 2 });
  if (PROFILE) await gw.child.ask('profileStart');
  const loadBefore = load();
  const r = await autocannon({ url: `${gw.base}/graphql`, method: 'POST', headers, body: JSON.stringify(payload), connections: CONNECTIONS, duration: DURATION });
  const res = {
    root,
    label,
    connections: CONNECTIONS,
    totalCount: first.data.renewalRisks.totalCount,
    rows: first.data.renewalRisks.edges.length,
    statements,
    rps: r.requests.average,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    load: `${loadBefore} -> ${load()}`,
  };
  if (PROFILE) {
    const file = join(RESULTS, `risks-${label.replace(/\W+/g, '-')}-${Date.now()}.cpuprofile`);
    await gw.child.ask('profileStop', { file });
    log('profile', file);
  }
  log(JSON.stringify(res));
  return res;
}

async function main() {
  mkdirSync(RESULTS, { recursive: true });
  const pg = await startEmbeddedPostgres(join(DATA_DIR, 'pg'), PG_PORT);
  const results: unknown[] = [];
  try {
    const db = new Client({ connectionString: pg.url });
    await db.connect();
    const { partner_id: partnerId } = (await db.query('select partner_id from acceptances group by 1 order by count(*) desc limit 1')).rows[0];
    await db.end();
    const analyst = await mintToken(SECRET, { sub: 'bench-analyst', name: 'Bench Analyst', roles: [Role.ANALYST] }, { expiresIn: '12h' });
    const admin = await mintToken(SECRET, { sub: 'bench-platform-admin', name: 'Bench Platform Admin', roles: [Role.PLATFORM_ADMIN] }, { expiresIn: '12h' });
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, root] of ROOTS.entries()) {
        const gw = await startBenchGateway(root, pg.url);
        try {
          if (DUMP) {
            const file = join(RESULTS, `risks-dump-${i}.json`);
            writeFileSync(file, JSON.stringify({ all: await dump(gw, analyst, null), largest: await dump(gw, admin, partnerId) }, null, 1));
            log('dump', root, file);
            continue;
          }
          results.push(await workload(gw, root, analyst, 'analyst, all partners', null));
          results.push(await workload(gw, root, admin, 'platform admin, the largest partner', partnerId));
        } finally {
          await gw.child.stop();
        }
      }
    }
  } finally {
    await pg.stop();
  }
  if (!DUMP) writeFileSync(join(RESULTS, `renewal-risks-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(results, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
