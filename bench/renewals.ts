/**
 * Benchmarks of issue 10: `renewalRisks` over 10,000 customers and 50,000
 * subscriptions (goal: p99 under 100 ms for a page of 50), and the audit export
 * `GET /exports/acceptances` of 1,000,000 events (goal: over 50,000 rows/s, gateway
 * memory growth under 50 MiB).
 *
 *   node -r reflect-metadata -r @swc-node/register bench/renewals.ts
 *
 * Seeds a fresh embedded PostgreSQL (bench/seed.ts), tops subscriptions up to
 * 50,000 (renewals spread over the next 180 days) and one partner's audit trail up
 * to 1,000,000 events (contact corrections), set-based with generate_series.
 * Environment: BENCH_DURATION seconds (default 10), BENCH_CONNECTIONS (default 4),
 * BENCH_PG_PORT (default 54341), BENCH_EVENTS (default 1000000). Loopback only.
 * BENCH_REUSE=1 keeps a database seeded by an earlier run (BENCH_DATA_DIR, default
 * bench/.data/renewals) and only migrates it. BENCH_GATEWAY_ROOT runs the gateway of
 * another checkout (e.g. `git archive` of an earlier commit, with node_modules linked)
 * against the same data, for before/after runs. BENCH_NODE_FLAGS adds V8 flags to the
 * gateway (e.g. --max-semi-space-size=32). BENCH_LIVE_GC=1 also samples memory after
 * forced full collections every 2 s during the export (which lowers its RSS peak).
 * BENCH_ONLY=export (or risks) runs only that part. BENCH_EXPORT_VIEWER=analyst (default
 * platform-admin) and BENCH_EXPORT_FORMAT=jsonl (default csv) choose the export's request.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { Client } from 'pg';
import autocannon from 'autocannon';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { initOrm } from '../src/db/orm';
import { entities } from '../src/features';
import { migrate } from '../src/db/migrate';
import { mintToken } from '../src/auth/token';
import { Role } from '../src/auth/roles';
import { auditEventsSql } from '../src/audit/audit.sql';
import { seed } from './seed';
import { freshGatewayDatabase, operation, postJson, ROOT, SECRET, sleep, startBenchGateway, summarize, type Child } from './lib';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const PG_PORT = Number(process.env.BENCH_PG_PORT ?? 54341);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const SUBSCRIPTIONS = 50_000;
const PAGE = 50;
const DATA_DIR = process.env.BENCH_DATA_DIR ?? join(ROOT, 'bench', '.data', 'renewals');
const REUSE = process.env.BENCH_REUSE === '1';
const GATEWAY_ROOT = process.env.BENCH_GATEWAY_ROOT ?? ROOT;
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const LIVE_GC = process.env.BENCH_LIVE_GC === '1';
const ONLY = process.env.BENCH_ONLY ?? '';
if (ONLY && ONLY !== 'export' && ONLY !== 'risks') throw new Error('BENCH_ONLY must be export or risks');
const EXPORT_VIEWER = process.env.BENCH_EXPORT_VIEWER ?? 'platform-admin';
if (EXPORT_VIEWER !== 'platform-admin' && EXPORT_VIEWER !== 'analyst') throw new Error('BENCH_EXPORT_VIEWER must be platform-admin or analyst');
const EXPORT_FORMAT = process.env.BENCH_EXPORT_FORMAT ?? 'csv';
if (EXPORT_FORMAT !== 'csv' && EXPORT_FORMAT !== 'jsonl') throw new Error('BENCH_EXPORT_FORMAT must be csv or jsonl');
const RESULTS = join(ROOT, 'bench', 'results');
const MiB = 1024 * 1024;

const log = (...args: unknown[]) => console.log(`[renewals ${new Date().toISOString().slice(11, 19)}]`, ...args);

/** The contract's operation, as partner portals send it. */
const RENEWAL_RISKS = operation('renewals.graphql', 'RenewalRisks');

/** Events of one partner's trail, counted with the export's own SQL (all customers visible). */
const countEvents = (db: Client, partnerId: string) =>
  db
    .query(`with pairs as materialized (select c.id as customer_id, $1::uuid as partner_id from customers c) select count(*)::int as n from (${auditEventsSql()}) e`, [partnerId])
    .then((r) => r.rows[0].n as number);

/** What the seeded world holds, for the log and the results. */
async function worldCounts(db: Client, partnerId: string) {
  const one = async (sql: string) => (await db.query(sql)).rows[0].n as number;
  return {
    customers: await one('select count(*)::int as n from customers'),
    subscriptions: await one('select count(*)::int as n from subscriptions'),
    activeRenewingWithin60Days: await one(`select count(*)::int as n from subscriptions where status = 'ACTIVE' and renews_on between current_date and current_date + 60`),
    exportPartnerEvents: await countEvents(db, partnerId),
  };
}

async function prepare() {
  mkdirSync(DATA_DIR, { recursive: true });
  const pg = await startEmbeddedPostgres(join(DATA_DIR, 'pg'), PG_PORT);
  if (REUSE) {
    const orm = await initOrm(pg.url, entities);
    await migrate(orm);
    await orm.close();
    const db = new Client({ connectionString: pg.url });
    await db.connect();
    const { partner_id: partnerId } = (await db.query('select partner_id from acceptances group by 1 order by count(*) desc limit 1')).rows[0];
    await db.query('vacuum analyze');
    const counts = await worldCounts(db, partnerId);
    await db.end();
    log('reused the seeded database', counts);
    return { url: pg.url, partnerId: partnerId as string, counts, stopPg: () => pg.stop() };
  }
  await freshGatewayDatabase(pg.url);
  const db = new Client({ connectionString: pg.url });
  await db.connect();
  const world = await seed(db);
  const t0 = Date.now();
  // Subscriptions up to 50,000 over the existing relationships; renewals spread over 180 days.
  const have = (await db.query('select count(*)::int as n from subscriptions')).rows[0].n as number;
  await db.query(
    `with rels as (select customer_id, partner_id, (row_number() over (order by id) - 1)::int as n, (count(*) over ())::int as total from customer_relationships)
     insert into subscriptions (id, customer_id, partner_id, reseller_id, offer_id, seats, status, renews_on, created_at, term_started_at, seat_lots)
     select gen_random_uuid(), r.customer_id, r.partner_id, null, 'bench-offer-' || (g % 7), 1 + g % 50, 'ACTIVE',
            current_date + (g * 7919 % 180), t.started, t.started,
            jsonb_build_array(jsonb_build_object('seats', 1 + g % 50, 'addedAt', to_char(t.started at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
       from generate_series(0, $1::int - 1) g join rels r on r.n = g % r.total
            cross join lateral (select now() - make_interval(days => 365 - g * 7919 % 180) as started) t`,
    [Math.max(0, SUBSCRIPTIONS - have)],
  );
  // The export is per partner: the partner with the most acceptances gets corrections up to EVENTS.
  const { partner_id: partnerId } = (await db.query('select partner_id from acceptances group by 1 order by count(*) desc limit 1')).rows[0];
  const before = await countEvents(db, partnerId);
  await db.query(
    `with acc as (select id, recorded_at, (row_number() over (order by id) - 1)::int as n, (count(*) over ())::int as total from acceptances where partner_id = $2),
          actor as (select id from users order by id limit 1)
     insert into acceptance_corrections (id, acceptance_id, corrected_by_id, corrected_at, field, old_value, new_value)
     select gen_random_uuid(), a.id, (select id from actor), a.recorded_at + make_interval(secs => 1 + g / a.total),
            (array['firstName','lastName','email','phoneNumber'])[1 + g % 4], 'old-' || g, 'new-' || g
       from generate_series(0, $1::int - 1) g join acc a on a.n = g % a.total`,
    [Math.max(0, EVENTS - before), partnerId],
  );
  await db.query('vacuum analyze');
  const counts = await worldCounts(db, partnerId);
  await db.end();
  log(`seeded in ${world.ms} ms + top-up ${Date.now() - t0} ms`, counts);
  return { url: pg.url, partnerId: partnerId as string, counts, stopPg: () => pg.stop() };
}

async function risksWorkload(gw: { child: Child; base: string }, token: string, label: string, partnerId: string | null) {
  const payload = { query: RENEWAL_RISKS, variables: { partnerId, withinDays: 60, first: PAGE }, operationName: 'RenewalRisks' };
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const first = await postJson(`${gw.base}/graphql`, payload, { authorization: headers.authorization });
  const parsed = JSON.parse(first.text);
  if (parsed.errors) throw new Error(`RenewalRisks failed: ${first.text.slice(0, 500)}`);
  const before = (await gw.child.ask('statements')).statements;
  await postJson(`${gw.base}/graphql`, payload, { authorization: headers.authorization });
  const statements = (await gw.child.ask('statements')).statements - before;
  const page = parsed.data.renewalRisks;
  log(`risks ${label}: totalCount ${page.totalCount}, page ${page.edges.length} rows, ${first.text.length} bytes, ${statements} statements`);
  await autocannon({ url: `${gw.base}/graphql`, method: 'POST', headers, body: JSON.stringify(payload), connections: CONNECTIONS, duration: 2 });
  const r = await autocannon({ url: `${gw.base}/graphql`, method: 'POST', headers, body: JSON.stringify(payload), connections: CONNECTIONS, duration: DURATION });
  const res = { label, connections: CONNECTIONS, duration: DURATION, totalCount: page.totalCount, pageRows: page.edges.length, statements, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total, non2xx: r.non2xx, errors: r.errors + r.timeouts };
  log(`risks ${label}: ${res.rps.toFixed(0)} req/s p50 ${res.p50} ms p99 ${res.p99} ms non2xx ${res.non2xx} errors ${res.errors}`);
  return res;
}

/** Streams the export once, counting lines; memory sampled over IPC every 200 ms meanwhile. */
async function exportWorkload(gw: { child: Child; base: string }, token: string, partnerId: string) {
  const before = (await gw.child.ask('memory')).memory as NodeJS.MemoryUsage;
  const samples: { t: number; rss: number; heapUsed: number }[] = [];
  // Every 2 s a sample after a full collection too: the heap the stream really holds, not its garbage.
  const live: { t: number; rss: number; heapUsed: number }[] = [];
  let streaming = true;
  const t0 = Date.now();
  const sampler = (async () => {
    for (let k = 1; streaming; k++) {
      const m = (await gw.child.ask('memoryRaw')).memory as NodeJS.MemoryUsage;
      samples.push({ t: Date.now() - t0, rss: m.rss, heapUsed: m.heapUsed });
      if (LIVE_GC && k % 10 === 0 && streaming) {
        const g = (await gw.child.ask('memory')).memory as NodeJS.MemoryUsage;
        live.push({ t: Date.now() - t0, rss: g.rss, heapUsed: g.heapUsed });
      }
      await sleep(200);
    }
  })();
  let firstByteMs = NaN;
  const { status, lines, bytes, headers } = await new Promise<{ status: number; lines: number; bytes: number; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = request(`${gw.base}/exports/acceptances?partnerId=${partnerId}&format=${EXPORT_FORMAT}`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let lines = 0;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        if (!bytes) firstByteMs = Date.now() - t0;
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      });
      res.on('end', () => resolve({ status: res.statusCode!, lines, bytes, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  const ms = Date.now() - t0;
  streaming = false;
  await sampler;
  await sleep(500);
  const after = (await gw.child.ask('memory')).memory as NodeJS.MemoryUsage;
  const rows = EXPORT_FORMAT === 'csv' ? lines - 1 : lines; // CSV has a header line
  const peakRss = Math.max(...samples.map((s) => s.rss));
  const peakHeap = Math.max(...samples.map((s) => s.heapUsed));
  const res = {
    status,
    contentDisposition: headers['content-disposition'],
    rows,
    bytes,
    seconds: ms / 1000,
    firstByteMs,
    rowsPerSecond: rows / (ms / 1000),
    memoryMiB: {
      rssBefore: before.rss / MiB,
      heapBefore: before.heapUsed / MiB,
      rssPeakDuring: peakRss / MiB,
      heapPeakDuring: peakHeap / MiB,
      rssAfter: after.rss / MiB,
      heapAfter: after.heapUsed / MiB,
      rssGrowthPeak: (peakRss - before.rss) / MiB,
      heapGrowthPeak: (peakHeap - before.heapUsed) / MiB,
      rssGrowthAfter: (after.rss - before.rss) / MiB,
      liveHeapGrowthPeak: live.length ? (Math.max(...live.map((s) => s.heapUsed)) - before.heapUsed) / MiB : NaN,
      liveRssGrowthPeak: live.length ? (Math.max(...live.map((s) => s.rss)) - before.rss) / MiB : NaN,
    },
    liveSamples: live.length,
    samples: samples.length,
    rssSummaryMiB: summarize(samples.map((s) => s.rss / MiB)),
  };
  log('export', { ...res, samples: undefined });
  return { ...res, series: samples, liveSeries: live };
}

async function main() {
  const startedAt = new Date().toISOString();
  const { url, partnerId, counts, stopPg } = await prepare();
  const analyst = await mintToken(SECRET, { sub: 'bench-analyst', name: 'Bench Analyst', roles: [Role.ANALYST] }, { expiresIn: '12h' });
  const platformAdmin = await mintToken(SECRET, { sub: 'bench-platform-admin', name: 'Bench Platform Admin', roles: [Role.PLATFORM_ADMIN] }, { expiresIn: '12h' });
  const result: Record<string, any> = {
    startedAt,
    loadAverageAtStart: loadavg(),
    settings: { DURATION, CONNECTIONS, PAGE, EVENTS, REUSE, GATEWAY_ROOT, NODE_FLAGS, LIVE_GC, ONLY, EXPORT_VIEWER, EXPORT_FORMAT },
    counts,
    exportPartnerId: partnerId,
  };
  try {
    const gw = await startBenchGateway(GATEWAY_ROOT, url, NODE_FLAGS);
    try {
      if (ONLY !== 'export') {
        result.risks = [await risksWorkload(gw, analyst, 'analyst, all partners', null), await risksWorkload(gw, platformAdmin, 'platform admin, the largest partner', partnerId)];
      }
      if (ONLY !== 'risks') result.export = await exportWorkload(gw, EXPORT_VIEWER === 'analyst' ? analyst : platformAdmin, partnerId);
    } finally {
      await gw.child.stop();
    }
  } finally {
    await stopPg();
  }
  result.loadAverageAtEnd = loadavg();
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `renewals-${startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  log(`results: ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
