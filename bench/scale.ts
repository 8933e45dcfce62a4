/**
 * Issue 23: every contract read measured at one or more scales of the benchmark world
 * (`npm run bench:scale`). Per read: p50/p99 at 1 connection, p50/p99 and the achieved
 * rate at a fixed offered rate (100 requests/s, evenly spaced and open loop: bench/lib.ts fixedRate, run in a process of its own, bench/rate-child.ts), statements per request (the gateway's own
 * knex `query` event, as bench/run.ts counts them) and the plan of each distinct statement
 * of one request (`EXPLAIN (ANALYZE, BUFFERS)` on a separate connection, kept as text).
 * Then the writes: the `AttemptTransaction` mix of bench/run.ts, `ConfirmCustomerAcceptance`
 * confirmations and `RequestAttestation` bookkeeping against the Partner Center simulator.
 *
 * Environment:
 * - BENCH_SCALE=10000|100000|1000000 (default 10000), or BENCH_SCALES=10000,1000000: both
 *   worlds up side by side, measured interleaved round by round (10k, 1M, 10k, 1M...), so
 *   their ratios come from one run (bench/scale-compare.ts reads them);
 * - BENCH_DURATION seconds per measurement (default 5), BENCH_ROUNDS interleaved rounds (default 1),
 *   BENCH_RATE offered requests/s (default 100), BENCH_RATE_CONNECTIONS (default 32), BENCH_RATE_WARMUP
 *   seconds at that rate before each measured window, not measured (default 3; 0: none),
 *   BENCH_READS / BENCH_SKIP_READS (comma lists of read names), BENCH_ONLY (reads,writes),
 *   BENCH_ATTEST_N attestations requested per round (default 250: 100 took 0.7 s, too short a figure to compare; the 10k world's sample partner has 521 customers to attest), BENCH_REPLAY_TIMEOUT seconds (default 120),
 *   BENCH_WRITE_RUNS measured AttemptTransaction runs per scale and round (default 1), BENCH_STATEMENTS=1
 *   (the write's statements per order; needs pg_stat_statements preloaded, serverCounters below),
 *   BENCH_NODE_FLAGS the gateway's V8 flags (bench/lib.ts), BENCH_GATEWAY_STDOUT=1 its output on the runner's (--trace-gc), BENCH_HOLD seconds to keep everything up at the end (to look at it);
 * - the worlds: bench/scale-seed.ts's (BENCH_DATA_ROOT, default ~/.cache/consent-gateway/bench);
 *   BENCH_PG_PORT first port of the embedded PostgreSQL servers (default 54380), BENCH_PG_SETTINGS
 *   their settings (SERVING below);
 *
 * The seeded database of a scale is kept (seeding once); each run measures a copy of it
 * (`create database ... template`), so the writes of one run never reach the next.
 * Results: bench/results/scale-<scale>-<stamp>.json, bench/results/scale-<scale>-latest.md and
 * the plans in bench/results/plans/<scale>/<read>.txt (git-ignored).
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { loadavg, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { mintToken } from '../src/auth/token';
import { Role, type PartnerType } from '../src/auth/roles';
import { startPartnerCenterSimulator, MCA_TEMPLATE_ID, type PartnerCenterSimulator } from '../simulator';
import { copyCsvRecord, copyRowColumns, EXPORT_BEGIN, exportSql, type ExportRequest } from '../src/audit/audit.queries';
import { masksContacts } from '../src/audit/audit.format';
import type { Viewer } from '../src/auth/viewer';
import { prepareScaleWorld, parseScale, postgresProcess } from './scale-seed';
import { LARGE_TABLE, unboundedSeqScans } from './plans';
import { requestAttestations, followAttestations, type AttestationRow } from './attestations';
import {
  cannon,
  fixedRate,
  SLOW_MS,
  oneConnection,
  gatewayEnv,
  GATEWAY_NODE_FLAGS,
  median,
  operation,
  postJson,
  ROOT,
  SECRET,
  sleep,
  spawnChild,
  summarize,
  TS_NODE,
  writeWorkload,
  type Cannon,
  type Child,
  type Tokens,
  type WriteRelationship,
} from './lib';

const SCALES = (process.env.BENCH_SCALES ?? process.env.BENCH_SCALE ?? '10000').split(',').map((x) => parseScale(x.trim()));
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
/** Measured AttemptTransaction runs per scale in each round (after its warm-up): more samples for the write ratio, still interleaved by round. */
const WRITE_RUNS = Number(process.env.BENCH_WRITE_RUNS ?? 1);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const RATE_CONNECTIONS = Number(process.env.BENCH_RATE_CONNECTIONS ?? 32);
/** Seconds at the offered rate before each measured fixed-rate window, not measured. */
const RATE_WARMUP = Number(process.env.BENCH_RATE_WARMUP ?? 3);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'reads,writes').split(','));
const READS = process.env.BENCH_READS ? new Set(process.env.BENCH_READS.split(',')) : undefined;
const SKIP_READS = new Set((process.env.BENCH_SKIP_READS ?? '').split(',').filter(Boolean));
const ATTEST_N = Number(process.env.BENCH_ATTEST_N ?? 250);
const PG_PORT = Number(process.env.BENCH_PG_PORT ?? 54380);
const PAGE = 50;
const REPLAY = 10_000;
/** Seconds a replay may take before it counts as failed (BENCH_REPLAY_TIMEOUT). */
const REPLAY_TIMEOUT = Number(process.env.BENCH_REPLAY_TIMEOUT ?? 120);
const RESULTS = join(ROOT, 'bench', 'results');
/**
 * The servers' settings, the same at every scale: shared buffers a deployment serving a million
 * customers would give PostgreSQL (the default 128 MB holds a fraction of the indexes a write
 * touches), and checkpoints spaced as such a deployment would (with the default 1 GB of WAL a
 * checkpoint falls inside a 5 s write workload, and every page first written after it is logged
 * whole). BENCH_PG_SETTINGS=name=value,... replaces them ('' for the defaults).
 */
const SERVING: Record<string, string> = Object.fromEntries(
  (process.env.BENCH_PG_SETTINGS ?? 'shared_buffers=2GB,max_wal_size=8GB,checkpoint_timeout=30min')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=') as [string, string]),
);
const CREDENTIALS_KEY = 'bench-credentials-key-that-is-long-enough-0123456789';

const log = (...args: unknown[]) => console.log(`[scale ${new Date().toISOString().slice(11, 19)}]`, ...args);
const f = (x: number | undefined, d = 0) => (x !== undefined && Number.isFinite(x) ? x.toFixed(d) : 'n/a');

// ---------------------------------------------------------------- the world of one scale

interface World {
  scale: number;
  url: string;
  stop: () => Promise<void>;
  seedMs: number | null;
  /** The PostgreSQL data directory (its server's CPU time is read from /proc). */
  pgDir: string;
}

/**
 * The seeded world of `scale` (bench/scale-seed.ts: kept per scale outside the repository,
 * seeded on first use), and a fresh copy of it for this run.
 */
async function prepareWorld(scale: number, port: number): Promise<World> {
  const prepared = await prepareScaleWorld({ scale, port, log: (m) => log(`${scale}: ${m}`), serving: SERVING });
  const pg = { url: prepared.url, stop: () => prepared.stop() };
  const seedMs = prepared.how === 'seeded' ? Object.values(prepared.steps).reduce((x, y) => x + y, 0) : null;
  // This run's copy: the writes below stay in it.
  const admin = new Client({ connectionString: pg.url.replace(/\/consent_gateway$/, '/postgres') });
  await admin.connect();
  await admin.query('drop database if exists bench_run with (force)');
  await admin.query('create database bench_run template consent_gateway strategy file_copy');
  await admin.end();
  const url = pg.url.replace(/\/consent_gateway$/, '/bench_run');
  const db = new Client({ connectionString: url });
  await db.connect();
  // RequestAttestation needs a Customer Agreement template: the simulator's (as bench/attestations.ts
  // adds it), only in a world that has none (bench/seed.ts's), so as not to change another's statuses.
  await db.query(
    `insert into agreement_templates (template_id, type, version, version_rank, country, language, display_uri, effective_from, created_at)
     select $1, 'MICROSOFT_CUSTOMER_AGREEMENT', 'bench', 100, 'GLOBAL', 'en-US', 'https://example.com/mca', '2020-01-01', now()
      where not exists (select 1 from agreement_templates where type = 'MICROSOFT_CUSTOMER_AGREEMENT')`,
    [MCA_TEMPLATE_ID],
  );
  await db.end();
  return { scale, url, stop: () => pg.stop(), seedMs, pgDir: join(prepared.dir, 'pg') };
}

/** Sample ids picked by SQL, so the harness depends on no seeder's exports. */
interface Sample {
  partnerId: string;
  partnerTenant: string;
  adminUser: string;
  /** The (customer, partner) pair with the longest acceptance history. */
  trailCustomer: string;
  trailPartner: string;
  search: string;
  afterAlert: string;
  replayable: number;
  /** `active`: its active confirmation (template, day), which the confirmation workload records again. */
  relationships: (WriteRelationship & { public: boolean; active: { templateId: string; dateAgreed: string } | null })[];
  globalTemplate: string;
  attestCustomers: string[];
}

async function sampleOf(url: string): Promise<Sample> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    const one = async <R>(sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows[0] as R;
    // The billing partner serving the most customers.
    const p = await one<{ partner_id: string; tenant_id: string }>(
      `select r.partner_id, p.tenant_id from customer_relationships r join partners p on p.id = r.partner_id
        group by r.partner_id, p.tenant_id order by count(*) desc, r.partner_id limit 1`,
    );
    const admin = await one<{ id: string } | undefined>(`select id from users where partner_id = $1 and 'ADMIN' = any(roles) order by id limit 1`, [p.partner_id]);
    const trail = await one<{ customer_id: string; partner_id: string }>(
      `select customer_id, partner_id from acceptances group by 1, 2 order by count(*) desc, 1, 2 limit 1`,
    );
    const name = await one<{ word: string }>(`select split_part(company_name, ' ', 1) as word from customers order by id limit 1`);
    const alerts = await one<{ n: string }>(`select count(*) as n from blocked_order_alerts`);
    const replayable = Math.min(REPLAY, Number(alerts.n));
    const after = await one<{ id: string } | undefined>(`select id::text from blocked_order_alerts order by id desc offset $1 limit 1`, [replayable]);
    // `blocked` is a guess (no active acceptance on a public cloud): the mix's outcomes are counted from the answers.
    // A confirmation dated on or after a rule requiring attestation is refused (DESIGN.md section 11):
    // the confirmation workload records again only acceptances dated before the earliest such rule.
    const rels = await db.query<{ customer_id: string; partner_id: string; reseller_id: string | null; blocked: boolean; public: boolean; template_id: string | null; date_agreed: string | null }>(
      `select r.customer_id, r.partner_id, rr.reseller_id, c.cloud = 'PUBLIC' as public,
              case when a.valid and a.date_agreed < (select coalesce(min(effective_from), 'infinity'::date) from acceptance_policy_rules where attestation_required)
                   then a.template_id end as template_id, a.date_agreed::text,
              (c.cloud = 'PUBLIC' and a.id is null) as blocked
         from customer_relationships r join customers c on c.id = r.customer_id
         left join customer_relationship_resellers rr on rr.relationship_id = r.id
         left join lateral (select a.id, a.template_id, a.date_agreed, a.date_agreed >= t.effective_from as valid from acceptances a
                              join agreement_templates t on t.template_id = a.template_id
                             where a.customer_id = r.customer_id and a.partner_id = r.partner_id and a.status = 'ACTIVE' limit 1) a on true
        order by r.id limit 4000`,
    );
    const tpl = await one<{ template_id: string }>(
      `select template_id from agreement_templates where type = 'MICROSOFT_CLOUD_AGREEMENT' and country = 'GLOBAL' and effective_from <= current_date order by version_rank desc limit 1`,
    );
    const attest = await db.query<{ customer_id: string }>(
      `select r.customer_id from customer_relationships r join customers c on c.id = r.customer_id where r.partner_id = $1 and c.cloud = 'PUBLIC'
          and not exists (select 1 from attestations t where t.customer_id = r.customer_id) order by r.id limit $2`,
      [p.partner_id, ATTEST_N * ROUNDS],
    );
    return {
      partnerId: p.partner_id,
      partnerTenant: p.tenant_id,
      adminUser: admin?.id ?? `bench-scale-admin-${p.partner_id}`,
      trailCustomer: trail.customer_id,
      trailPartner: trail.partner_id,
      search: name.word,
      afterAlert: after?.id ?? '0',
      replayable,
      relationships: rels.rows.map((r) => ({ customerId: r.customer_id, partnerId: r.partner_id, resellerId: r.reseller_id, blocked: r.blocked, public: r.public, active: r.template_id ? { templateId: r.template_id, dateAgreed: r.date_agreed! } : null })),
      globalTemplate: tpl.template_id,
      attestCustomers: attest.rows.map((r) => r.customer_id),
    };
  } finally {
    await db.end();
  }
}

// ---------------------------------------------------------------- the reads

interface Read {
  name: string;
  /** Method and path (with query) of the request. */
  method: 'POST' | 'GET';
  path: string;
  body?: string;
  token: 'analyst' | 'admin';
  /** Time to the first byte instead of the last (the export). */
  firstByte?: boolean;
  /**
   * Timed by hand, one request after the other (at least one, however long it takes), and
   * not at the fixed rate: the export streams a partner's whole trail, and its concurrent
   * exports are limited (src/audit/export-slots.ts), so 100/s measures refusals.
   */
  whole?: boolean;
  /** Not a request: the alert replay over graphql-ws. */
  replay?: boolean;
}

function reads(s: Sample): Read[] {
  const gql = (name: string, file: string, op: string, variables: Record<string, unknown>, token: Read['token'] = 'analyst'): Read => ({
    name,
    method: 'POST',
    path: '/graphql',
    body: JSON.stringify({ query: operation(file, op), variables, operationName: op }),
    token,
  });
  const statuses = ['CONFIRMED', 'OUTDATED', 'WITHDRAWN', 'MISSING', 'NOT_APPLICABLE', 'REACCEPTANCE_REQUIRED'];
  const pair = { customerId: s.trailCustomer, partnerId: s.trailPartner };
  const exportPath = `/exports/acceptances?partnerId=${s.partnerId}&format=csv`;
  const all: Read[] = [
    gql('customers', 'customers.graphql', 'Customers', { first: PAGE }),
    ...statuses.map((st) => gql(`customers-${st.toLowerCase()}`, 'customers.graphql', 'Customers', { first: PAGE, filter: { complianceStatus: st } })),
    gql('customers-search', 'customers.graphql', 'Customers', { first: PAGE, filter: { search: s.search } }),
    gql('customers-partner-admin', 'customers.graphql', 'Customers', { first: PAGE }, 'admin'),
    gql('customer', 'customers.graphql', 'Customer', { id: s.trailCustomer, partnerId: s.trailPartner }),
    gql('orders', 'transactions.graphql', 'Orders', { first: PAGE }),
    gql('orders-partner-admin', 'transactions.graphql', 'Orders', { first: PAGE }, 'admin'),
    gql('compliance-summary', 'alerts.graphql', 'ComplianceSummary', {}),
    gql('compliance-summary-partner-admin', 'alerts.graphql', 'ComplianceSummary', {}, 'admin'),
    gql('renewal-risks', 'renewals.graphql', 'RenewalRisks', { first: PAGE }),
    gql('renewal-risks-partner-admin', 'renewals.graphql', 'RenewalRisks', { first: PAGE }, 'admin'),
    gql('sync-backlog', 'partner-center.graphql', 'SyncBacklog', { first: PAGE }),
    gql('acceptance-sync', 'partner-center.graphql', 'AcceptanceSync', pair),
    gql('attestations', 'attestation.graphql', 'Attestations', { first: PAGE }),
    gql('acceptance-drift', 'attestation.graphql', 'AcceptanceDrift', { first: PAGE }),
    gql('acceptance-audit', 'renewals.graphql', 'AcceptanceAudit', pair),
    gql('verify-audit-trail', 'evidence.graphql', 'VerifyAuditTrail', pair),
    { name: 'evidence-bundle', method: 'GET', path: `/exports/evidence/${s.trailCustomer}?partnerId=${s.trailPartner}&format=json`, token: 'analyst' },
    { name: 'export-first-byte', method: 'GET', path: exportPath, token: 'admin', firstByte: true, whole: true },
    { name: 'export-last-byte', method: 'GET', path: exportPath, token: 'admin', whole: true },
    { name: 'alert-replay', method: 'GET', path: '/graphql', token: 'analyst', replay: true },
  ];
  return all.filter((r) => (!READS || READS.has(r.name)) && !SKIP_READS.has(r.name));
}

/** One request by hand: status, time to the first byte and to the last, the body. */
function timed(base: string, read: Read, token: string): Promise<{ status: number; firstMs: number; lastMs: number; text: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = httpRequest(`${base}${read.path}`, { method: read.method, headers: { authorization: `Bearer ${token}`, ...(read.body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let first = NaN;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        if (Number.isNaN(first)) first = performance.now() - t0;
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, firstMs: first, lastMs: performance.now() - t0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(read.body);
  });
}

/**
 * The fixed-rate load (bench/rate-child.ts, a process of its own: this process's collections would
 * delay its requests). Without V8's memory reducer: idle between windows, the generator had it
 * start a series of three full collections (up to 67 ms each) that fell into the next window's
 * first requests, counted as the gateway's latency (history, twenty-first session).
 */
let rater: Child | undefined;
async function rate(opts: Parameters<typeof fixedRate>[0]): Promise<{ result: Cannon; generator: GeneratorFacts; machine: MachineFacts }> {
  if (!rater) {
    rater = spawnChild(['--no-memory-reducer', ...TS_NODE, 'bench/rate-child.ts'], {});
    await rater.ready;
  }
  return rater.ask('rate', { opts });
}

/** What the load generator did itself during a fixed-rate window (bench/rate-child.ts). */
interface GeneratorFacts {
  majorCollections: number;
  collectionMs: number;
  longestCollectionMs: number;
  loopMaxMs: number;
}

/** The machine during a fixed-rate window (bench/rate-child.ts): major page faults, KiB paged in, I/O wait and steal (ms over all cores). */
interface MachineFacts {
  majorFaults: number;
  pagedInKiB: number;
  iowaitMs: number;
  stealMs: number;
}

/** The alert replay (bench/scale-replay.ts, a process of its own): OnBlockedOrder over graphql-ws from a cursor `count` alerts back; ms to the last one. */
let replayer: Child | undefined;
async function replay(base: string, token: string, after: string, count: number): Promise<{ ms: number; received: number; error?: string }> {
  if (!replayer) {
    replayer = spawnChild([...TS_NODE, 'bench/scale-replay.ts'], {});
    await replayer.ready;
  }
  return replayer.ask('replay', { url: `${base.replace('http', 'ws')}/graphql`, token, after, count, timeoutMs: REPLAY_TIMEOUT * 1000 });
}

interface Captured {
  sql: string;
  bindings: unknown;
  /** The transaction it runs in, when not a plain `begin` (the export's EXPORT_BEGIN: its settings shape the plan). */
  begin?: string;
}

interface Plan {
  sql: string;
  params: unknown[];
  /** How many times this text ran in the request. */
  times: number;
  plan: string;
  /** Tables over LARGE_TABLE rows read by a sequential scan. */
  seqScans: string[];
}

/** knex's own statements announce `?` placeholders; `queryRows` announces `$n` already. */
function positional(sql: string): string {
  if (/\$\d/.test(sql)) return sql;
  let n = 0;
  return sql.replace(/\?\?|\?/g, (m) => (m === '??' ? '?' : `$${++n}`));
}

/** EXPLAIN (ANALYZE, BUFFERS) of each distinct statement, in a transaction rolled back, on a connection of its own. */
async function explainAll(url: string, captured: Captured[], rows: Map<string, number>): Promise<Plan[]> {
  const distinct = new Map<string, { c: Captured; times: number }>();
  for (const c of captured) {
    const d = distinct.get(c.sql);
    if (d) d.times++;
    else distinct.set(c.sql, { c, times: 1 });
  }
  const db = new Client({ connectionString: url });
  await db.connect();
  const plans: Plan[] = [];
  try {
    for (const { c, times } of distinct.values()) {
      const sql = positional(c.sql);
      const params = Array.isArray(c.bindings) ? c.bindings : [];
      if (!/^\s*(\(|select|with|insert|update|delete|values|table)\b/i.test(sql)) {
        plans.push({ sql, params, times, plan: '(not explainable: not a query)', seqScans: [] });
        continue;
      }
      let plan: string;
      try {
        await db.query(c.begin ?? 'begin');
        plan = (await db.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${sql}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n');
      } catch (err) {
        plan = `(explain failed: ${String((err as Error).message)})`;
      } finally {
        await db.query('rollback').catch(() => undefined);
      }
      const seqScans = unboundedSeqScans(plan).filter((t) => (rows.get(t) ?? 0) > LARGE_TABLE);
      plans.push({ sql, params, times, plan, seqScans: [...new Set(seqScans)] });
    }
  } finally {
    await db.end();
  }
  return plans;
}

async function tableRows(url: string): Promise<Map<string, number>> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    const { rows } = await db.query<{ relname: string; n: string }>(
      `select c.relname, greatest(c.reltuples, coalesce(s.n_live_tup, 0))::bigint as n
         from pg_class c left join pg_stat_user_tables s on s.relid = c.oid
        where c.relkind in ('r', 'p', 'm') and c.relnamespace = 'public'::regnamespace`,
    );
    return new Map(rows.map((r) => [r.relname, Number(r.n)]));
  } finally {
    await db.end();
  }
}

interface ReadResult {
  name: string;
  viewer: string;
  request: string;
  status: number;
  error?: string;
  responseBytes: number;
  statements: number;
  plans: Plan[];
  indexBound: boolean;
  oneConnection: Cannon[];
  rate: (Cannon & { offered: number; achieved: number; connections: number; gc?: GcDuring; generator?: GeneratorFacts; machine?: MachineFacts; newConnections?: { warmup: number; window: number }; warmupP99?: number })[];
  /** The replay: ms to the last of `replayCount` alerts, per run. */
  replayMs?: number[];
  replayCount?: number;
}

interface Target {
  world: World;
  sample: Sample;
  gw: { child: Child; base: string };
  tokens: Tokens & { admin: string };
  rows: Map<string, number>;
  sim: PartnerCenterSimulator;
}

/** Statements, plans and a check of one read (once per scale). */
async function inspectRead(t: Target, read: Read): Promise<ReadResult> {
  const token = read.token === 'admin' ? t.tokens.admin : t.tokens.analyst;
  const result: ReadResult = {
    name: read.name,
    viewer: read.token === 'admin' ? `ADMIN of partner ${t.sample.partnerId}` : 'ANALYST',
    request: `${read.method} ${read.path}${read.body ? ' ' + JSON.parse(read.body).operationName + ' ' + JSON.stringify(JSON.parse(read.body).variables) : ''}`,
    status: 0,
    responseBytes: 0,
    statements: NaN,
    plans: [],
    indexBound: true,
    oneConnection: [],
    rate: [],
  };
  // Once the gateway is quiet (start-up work, the previous read) and warm (this read's first request
  // loads the user and prepares statements). The gateway's own background statements (the alert
  // hub's timer, jobs) count too when they fall in a request: the least of five, and its statements.
  await settle(t);
  if (!read.replay) await timed(t.gw.base, read, token).catch(() => undefined);
  let best: Captured[] | null = null;
  for (let k = 0; k < 5; k++) {
    if (k) await sleep(200);
    await t.gw.child.ask('captureStart');
    let error: string | undefined;
    if (read.replay) {
      const r = await replay(t.gw.base, token, t.sample.afterAlert, t.sample.replayable);
      result.status = r.error ? 0 : 200;
      error = r.error;
      result.replayCount = t.sample.replayable;
    } else {
      const res = await timed(t.gw.base, read, token);
      result.status = res.status;
      result.responseBytes = res.text.length;
      if (res.status !== 200) error = `HTTP ${res.status}: ${res.text.slice(0, 300)}`;
      else if (read.body && JSON.parse(res.text).errors) error = res.text.slice(0, 300);
    }
    const { captured } = await t.gw.child.ask<{ captured: Captured[] }>('captureStop');
    if (error) {
      result.error = error;
      break;
    }
    if (!best || captured.length < best.length) best = captured;
    // Three replays (seconds each): the least of them, as for the other reads, so that a background job's statements falling in one are not counted.
    if (read.replay && k === 2) break;
  }
  if (best && read.path.startsWith('/exports/acceptances')) {
    // The export runs on a connection of its own (COPY), which knex's query event does not see:
    // its statements are rebuilt here with the gateway's own builders (src/audit/audit.export.ts's
    // order: the transaction's begin, the COPY, whose query is explained in the export's transaction).
    best = [...best, ...(await exportStatements(t))];
  }
  if (best) {
    result.statements = best.length;
    result.plans = await explainAll(t.world.url, best, t.rows);
    result.indexBound = result.plans.every((p) => p.seqScans.length === 0);
  }
  return result;
}

async function exportStatements(t: Target): Promise<Captured[]> {
  const db = new Client({ connectionString: t.world.url });
  await db.connect();
  try {
    const { rows } = await db.query<{ type: PartnerType }>('select type from partners where id = $1', [t.sample.partnerId]);
    const viewer: Viewer = { userId: t.sample.adminUser, displayName: 'Bench admin', roles: [Role.ADMIN], partnerId: t.sample.partnerId, partnerType: rows[0]?.type };
    const req: ExportRequest = { partnerId: t.sample.partnerId, from: null, to: null, format: 'csv' };
    const { sql, params } = exportSql(viewer, req, { columns: masksContacts(viewer) ? copyRowColumns() : copyCsvRecord() });
    return [{ sql: 'begin isolation level repeatable read read only (export connection)', bindings: [] }, { sql, bindings: params, begin: EXPORT_BEGIN }];
  } finally {
    await db.end();
  }
}

/**
 * Until the gateway's statements of the previous measurement are done (at most 30 s): autocannon
 * stops at its duration, but the requests it leaves behind still run and would load the next one.
 */
async function settle(t: Target): Promise<void> {
  await onWorld(t, async (db) => {
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      const { rows } = await db.query<{ n: string }>(`select count(*) as n from pg_stat_activity where datname = current_database() and state = 'active' and pid <> pg_backend_pid()`);
      if (Number(rows[0].n) === 0) return;
      await sleep(100);
    }
  });
}

/** The gateway's garbage collections during a run (prom-client's nodejs_gc_duration_seconds, by kind), from /metrics before and after. */
interface GcDuring {
  /** Collections per kind (minor, major, incremental, weakcb). */
  count: Record<string, number>;
  /** Pauses longer than 10 ms and 100 ms, and their total in ms. */
  over10ms: number;
  over100ms: number;
  totalMs: number;
  /** The event loop's longest delay during the run (prom-client's nodejs_eventloop_lag_max_seconds: its histogram restarts at each scrape), ms. */
  loopMaxMs: number;
}

/** A query on the measured database, on a connection of its own. */
async function onWorld<T>(t: Target, work: (db: Client) => Promise<T>): Promise<T> {
  const db = new Client({ connectionString: t.world.url });
  await db.connect();
  try {
    return await work(db);
  } finally {
    await db.end();
  }
}

/** The measured database's clock, as text (for `connectionsOpenedSince`). */
const worldNow = (t: Target) => onWorld(t, async (db) => (await db.query<{ now: string }>('select now()::text as now')).rows[0].now);

/**
 * How many of the gateway's connections to the measured database were opened since `since` and are
 * still open: its pool grows from the few connections a 1-connection run uses to what the offered
 * rate needs (and, with DATABASE_POOL_IDLE_TIMEOUT_MS short, again after every quiet spell), and a
 * new connection prepares every statement again on a backend whose caches are cold.
 */
const connectionsOpenedSince = (t: Target, since: string) =>
  onWorld(t, async (db) => {
    const { rows } = await db.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and backend_start >= $1 and pid <> pg_backend_pid()`,
      [since],
    );
    return Number(rows[0].n);
  });

async function gcSnapshot(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^nodejs_gc_duration_seconds_(bucket|count|sum)\{([^}]*)\} ([0-9.e+-]+)$/gm)) out.set(`${m[1]}{${m[2]}}`, Number(m[3]));
  const loop = /^nodejs_eventloop_lag_max_seconds ([0-9.e+-]+)$/m.exec(text);
  if (loop) out.set('loopMax', Number(loop[1]));
  return out;
}

function gcBetween(before: Map<string, number>, after: Map<string, number>): GcDuring {
  const d = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const kinds = [...after.keys()].flatMap((k) => (k.startsWith('count{') ? [/kind="([^"]+)"/.exec(k)![1]] : []));
  const le = (bound: string) => kinds.reduce((n, kind) => n + d(`bucket{le="${bound}",kind="${kind}"}`), 0);
  const count = Object.fromEntries(kinds.map((kind) => [kind, d(`count{kind="${kind}"}`)]));
  const total = Object.values(count).reduce((a, b) => a + b, 0);
  return { count, over10ms: total - le('0.01'), over100ms: total - le('0.1'), totalMs: kinds.reduce((n, kind) => n + d(`sum{kind="${kind}"}`), 0) * 1000, loopMaxMs: (after.get('loopMax') ?? NaN) * 1000 };
}

/** One round of timings of one read: 1 connection, then the fixed offered rate. */
async function timeRead(t: Target, read: Read, result: ReadResult): Promise<void> {
  if (result.error) return;
  const token = read.token === 'admin' ? t.tokens.admin : t.tokens.analyst;
  if (read.replay) {
    const r = await replay(t.gw.base, token, t.sample.afterAlert, t.sample.replayable);
    (result.replayMs ??= []).push(r.ms);
    log(`${t.world.scale} ${read.name}: ${r.received} alerts in ${f(r.ms)} ms ${r.error ?? ''}`);
    return;
  }
  if (read.whole) {
    // autocannon times the last byte and gives up at its duration: timed by hand instead.
    const times: number[] = [];
    let non2xx = 0;
    const end = performance.now() + DURATION * 1000;
    do {
      const r = await timed(t.gw.base, read, token);
      times.push(read.firstByte ? r.firstMs : r.lastMs);
      if (r.status !== 200) non2xx++;
    } while (performance.now() < end);
    const s = summarize(times);
    result.oneConnection.push({ rps: times.length / DURATION, p50: s.p50, p99: s.p99, non2xx, errors: 0, total: times.length });
    log(`${t.world.scale} ${read.name}: 1 conn p50 ${f(s.p50, 1)} p99 ${f(s.p99, 1)} ms (${read.firstByte ? 'first' : 'last'} byte, ${times.length} requests)`);
    return;
  }
  const opts = { url: `${t.gw.base}${read.path}`, method: read.method, headers: { authorization: `Bearer ${token}`, ...(read.body ? { 'content-type': 'application/json' } : {}) }, body: read.body };
  // No answer within the duration: no figure.
  const none = (c: Cannon): Cannon => (c.total === 0 ? { ...c, p50: NaN, p99: NaN } : c);
  await settle(t);
  const one = none(await oneConnection({ ...opts, duration: DURATION }));
  result.oneConnection.push(one);
  await settle(t);
  // The same rate first, not measured: the window measures the gateway at 100/s, not its way
  // out of the 1-connection run before (as fast as one connection goes, ~150/s, leaving the
  // collections it made due to the window). Its p99 is kept beside the window's.
  const warmupStart = await worldNow(t);
  const warmup = RATE_WARMUP > 0 ? none((await rate({ ...opts, connections: RATE_CONNECTIONS, rate: RATE, duration: RATE_WARMUP })).result) : undefined;
  const windowStart = await worldNow(t);
  const gcBefore = await gcSnapshot(t.gw.base);
  const { result: rateResult, generator, machine } = await rate({ ...opts, connections: RATE_CONNECTIONS, rate: RATE, duration: DURATION });
  const rated = none(rateResult);
  const gc = gcBetween(gcBefore, await gcSnapshot(t.gw.base));
  const inWindow = await connectionsOpenedSince(t, windowStart);
  const newConnections = { warmup: (await connectionsOpenedSince(t, warmupStart)) - inWindow, window: inWindow };
  await settle(t);
  result.rate.push({ ...rated, offered: RATE, achieved: rated.total / DURATION, connections: RATE_CONNECTIONS, gc, generator, machine, newConnections, warmupP99: warmup?.p99 });
  log(
    `${t.world.scale} ${read.name}: 1 conn p50 ${f(one.p50, 2)} p99 ${f(one.p99, 1)} ms; ${RATE}/s p50 ${rated.p50} p99 ${rated.p99} ms achieved ${f(rated.total / DURATION)}/s non2xx ${rated.non2xx + one.non2xx}` +
      `${warmup ? ` (warm-up ${RATE_WARMUP} s before: p99 ${f(warmup.p99, 1)} ms)` : ''}; gc ${JSON.stringify(gc.count)} over 10 ms ${gc.over10ms}, total ${f(gc.totalMs)} ms; event loop max ${f(gc.loopMaxMs)} ms; ` +
      `generator ${JSON.stringify(generator)}; machine ${JSON.stringify(machine)}; connections opened ${JSON.stringify(newConnections)}; over ${SLOW_MS} ms at [due ms, ms] ${JSON.stringify(rated.slow ?? [])}`,
  );
}

/**
 * What the server did during a workload: WAL (records, full-page images, bytes), block reads
 * outside shared buffers, commits, and CPU of PostgreSQL and of the gateway, as counters read
 * before and after; `perRequest` divides them by the workload's requests. A ratio between scales says
 * little without them: the same order costing more WAL or more reads at 1M is a cause, not noise.
 */
async function serverCounters(t: Target): Promise<Record<string, number>> {
  const db = new Client({ connectionString: t.world.url });
  await db.connect();
  try {
    const [wal] = (await db.query(`select wal_records::float8 as records, wal_fpi::float8 as fpi, wal_bytes::float8 as bytes from pg_stat_wal`)).rows;
    const [io] = (await db.query(`select blks_read::float8 as reads, blks_hit::float8 as hits, xact_commit::float8 as commits from pg_stat_database where datname = current_database()`)).rows;
    const stat = readFileSync(`/proc/${t.gw.child.proc.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      walRecords: wal.records, walFpi: wal.fpi, walBytes: wal.bytes, blocksRead: io.reads, blocksHit: io.hits, commits: io.commits,
      ...(({ userMs, sysMs, minorFaults }) => ({ postgresUserMs: userMs, postgresSysMs: sysMs, postgresMinorFaults: minorFaults }))(postgresProcess(t.world.pgDir)),
      gatewayCpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / 100,
    };
  } finally {
    await db.end();
  }
}

/**
 * BENCH_STATEMENTS=1 (with pg_stat_statements preloaded: BENCH_PG_SETTINGS
 * ...,shared_preload_libraries=pg_stat_statements,pg_stat_statements.track=all): the statements
 * of a workload, the costliest first, per request: where a scale's extra time goes.
 */
const PROFILE_STATEMENTS = process.env.BENCH_STATEMENTS === '1';

async function statementsReset(t: Target): Promise<void> {
  if (!PROFILE_STATEMENTS) return;
  const db = new Client({ connectionString: t.world.url });
  await db.connect();
  try {
    await db.query('create extension if not exists pg_stat_statements');
    await db.query('select pg_stat_statements_reset()');
  } finally {
    await db.end();
  }
}

async function statementsPer(t: Target, n: number): Promise<string[]> {
  if (!PROFILE_STATEMENTS || !n) return [];
  const db = new Client({ connectionString: t.world.url });
  await db.connect();
  try {
    const { rows } = await db.query(
      `select calls::float8 / $1 as calls, total_exec_time / $1 as ms, shared_blks_hit::float8 / $1 as hits, shared_blks_read::float8 / $1 as reads,
              wal_fpi::float8 / $1 as fpi, regexp_replace(left(query, 160), '[[:space:]]+', ' ', 'g') as query
         from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
        order by total_exec_time desc limit 25`,
      [n],
    );
    return rows.map((r) => `${f(r.ms, 3)} ms ${f(r.calls, 2)} calls ${f(r.hits, 1)} hits ${f(r.reads, 2)} reads ${f(r.fpi, 2)} fpi | ${r.query}`);
  } finally {
    await db.end();
  }
}

/**
 * Runs a write workload between two readings of the server's counters and keeps its work per
 * request on the result as `key` (logged, with the statements under BENCH_STATEMENTS=1);
 * `requests` counts what the workload sent. A failed workload (`error`) is answered as it is.
 */
async function counted<R extends { error?: string }>(t: Target, label: string, key: string, run: () => Promise<R>, requests: (r: R) => number): Promise<R> {
  await statementsReset(t);
  const before = await serverCounters(t);
  const result = await run();
  if (result.error) return result;
  const n = requests(result);
  const per = perRequest(before, await serverCounters(t), n);
  (result as Record<string, unknown>)[key] = per;
  log(t.world.scale, label, JSON.stringify(per));
  for (const line of await statementsPer(t, n)) log(t.world.scale, '  ', line);
  return result;
}

/** Counters' growth per request (`n` requests) between two readings of `serverCounters`. */
function perRequest(before: Record<string, number>, after: Record<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((k) => [k, n ? Math.round(((after[k] - before[k]) / n) * 100) / 100 : NaN]));
}

// ---------------------------------------------------------------- the writes

const CONFIRM = operation('acceptance.graphql', 'ConfirmCustomerAcceptance');
const CONNECT = `mutation ConnectPartnerCenter($input: ConnectPartnerCenterInput!) { connectPartnerCenter(input: $input) { connection { status } } }`;

/**
 * ConfirmCustomerAcceptance by the billing partner's ADMIN, each request another public relationship
 * with an active confirmation, recorded again (same template and day: the policy accepted them) and
 * superseding it.
 */
async function confirmations(t: Target) {
  const rels = t.sample.relationships.filter((r) => r.public && r.active);
  let n = 0;
  const outcome = { confirmed: 0, failed: 0 };
  let firstError = '';
  const res = await cannon({
    url: `${t.gw.base}/graphql`,
    method: 'POST',
    connections: 16,
    duration: DURATION,
    requests: [
      {
        method: 'POST',
        setupRequest: (req: any) => {
          const rel = rels[n++ % rels.length];
          return {
            ...req,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${t.tokens.partner.get(rel.partnerId)}` },
            body: JSON.stringify({
              query: CONFIRM,
              operationName: 'ConfirmCustomerAcceptance',
              variables: { input: { customerId: rel.customerId, templateId: rel.active!.templateId, dateAgreed: rel.active!.dateAgreed, contact: { firstName: 'Bench', lastName: 'Signer', email: 'bench.signer@example.com' } } },
            }),
          };
        },
        onResponse: (_status: number, body: string) => {
          if (body.includes('"acceptance":{"id"')) outcome.confirmed++;
          else {
            outcome.failed++;
            firstError ||= body.slice(0, 300);
          }
        },
      },
    ] as any,
  });
  log(`${t.world.scale} confirmations: ${f(outcome.confirmed / DURATION)}/s p50 ${res.p50} p99 ${res.p99} ms`, outcome, firstError);
  return { ...res, ...outcome, perSec: outcome.confirmed / DURATION, firstError };
}

/** RequestAttestation (bench/attestations.ts's steps) for fresh customers of the sample partner, then followed to RECORDED. */
async function attestationBookkeeping(t: Target, round: number) {
  const work = t.sample.attestCustomers.slice(round * ATTEST_N, (round + 1) * ATTEST_N).map((customerId) => ({ customerId, token: t.tokens.admin }));
  if (!work.length) return { error: 'no customer of the partner without an attestation left' };
  const started = Date.now();
  const { times, ids } = await requestAttestations(`${t.gw.base}/graphql`, work, 8);
  const requestSeconds = (Date.now() - started) / 1000;
  const db = new Client({ connectionString: t.world.url });
  await db.connect();
  try {
    const rowsOf = async () => (await db.query<AttestationRow>('select status, upstream_id from attestations where id = any($1::uuid[])', [ids])).rows;
    const { recorded, failed } = await followAttestations(t.sim, work.length, rowsOf, started);
    const totalSeconds = (Date.now() - started) / 1000;
    const s = summarize(times);
    log(`${t.world.scale} attestations: ${work.length} requested at ${f(work.length / requestSeconds)}/s (p50 ${f(s.p50)} p99 ${f(s.p99)} ms), ${recorded} recorded in ${f(totalSeconds, 1)} s`);
    return { requested: work.length, requestsPerSec: work.length / requestSeconds, p50: s.p50, p99: s.p99, recorded, failed, followedPerSec: recorded / totalSeconds, totalSeconds };
  } finally {
    await db.end();
  }
}

// ---------------------------------------------------------------- run

/** BENCH_GATEWAY_STDOUT=1: the gateways' standard output on the runner's (`BENCH_NODE_FLAGS='--max-semi-space-size=16 --trace-gc'`). */
const GATEWAY_STDOUT = process.env.BENCH_GATEWAY_STDOUT === '1' ? 'inherit' : 'ignore';

async function startTarget(scale: number, index: number, sim: PartnerCenterSimulator): Promise<Target> {
  const world = await prepareWorld(scale, PG_PORT + index);
  const sample = await sampleOf(world.url);
  const child = spawnChild([...GATEWAY_NODE_FLAGS, ...TS_NODE, '--expose-gc', 'bench/gateway-child.ts'], {
    ...gatewayEnv(world.url),
    LOG_LEVEL: 'warn',
    PARTNER_CENTER_URL: sim.url,
    PARTNER_CENTER_TOKEN_URL: sim.tokenUrl,
    CREDENTIALS_KEY,
    ATTESTATION_POLL_SECONDS: '1',
    PARTNER_CENTER_BUDGET_PER_MINUTE: '1000000',
  }, { stdout: GATEWAY_STDOUT });
  const { port } = await child.ready;
  const gw = { child, base: `http://127.0.0.1:${port}` };
  const partners = [...new Set([sample.partnerId, ...sample.relationships.map((r) => r.partnerId)])];
  const db = new Client({ connectionString: world.url });
  await db.connect();
  const admins = new Map((await db.query<{ partner_id: string; id: string }>(`select distinct on (partner_id) partner_id, id from users where partner_id = any($1::uuid[]) and 'ADMIN' = any(roles) order by partner_id, id`, [partners])).rows.map((r) => [r.partner_id, r.id]));
  await db.end();
  const partnerToken = (id: string) => mintToken(SECRET, { sub: admins.get(id) ?? `bench-scale-admin-${id}`, name: 'Bench admin', partnerId: id, roles: [Role.ADMIN] }, { expiresIn: '12h' });
  const tokens = {
    analyst: await mintToken(SECRET, { sub: 'bench-analyst', name: 'Bench Analyst', roles: [Role.ANALYST] }, { expiresIn: '12h' }),
    platformAdmin: await mintToken(SECRET, { sub: 'bench-platform-admin', name: 'Bench Platform Admin', roles: [Role.PLATFORM_ADMIN] }, { expiresIn: '12h' }),
    partner: new Map(await Promise.all(partners.map(async (id) => [id, await partnerToken(id)] as const))),
    admin: await partnerToken(sample.partnerId),
  };
  // The simulator knows the world's Customer Agreement templates (the seeded ids are not its own):
  // an attestation's agreement names the template the gateway judges current.
  const mca = await worldRows(world.url, `select template_id, version_rank from agreement_templates where type = 'MICROSOFT_CUSTOMER_AGREEMENT'`);
  for (const r of mca as { template_id: string; version_rank: number }[]) {
    if (!sim.templates.some((x) => x.templateId === r.template_id)) {
      sim.templates = [...sim.templates, { templateId: r.template_id, agreementType: 'MicrosoftCustomerAgreement', agreementLink: 'https://aka.ms/customeragreement', versionRank: r.version_rank }];
    }
  }
  // The sample partner connected to the simulator, for the attestation bookkeeping.
  const creds = { clientId: `bench-scale-${scale}`, clientSecret: `secret-${sample.partnerId}`, refreshToken: `rt-${sample.partnerId}` };
  sim.registerApp({ tenantId: sample.partnerTenant, ...creds });
  const connected = await postJson(`${gw.base}/graphql`, { query: CONNECT, variables: { input: creds } }, { authorization: `Bearer ${tokens.admin}` });
  if (!connected.text.includes('"status"')) log(`${scale}: connecting the partner to the simulator failed: ${connected.text.slice(0, 300)}`);
  // Connecting queues the partner's NOT_CONNECTED acceptances for delivery (1,201 at 1M, about 12 at
  // 10k): delivered in the background, they would load the larger world's reads and add their
  // statements to the reads' counts. The measurements start once none is PENDING.
  const drained = Date.now();
  for (;;) {
    const [{ n }] = (await worldRows(world.url, `select count(*)::int as n from acceptance_syncs where partner_id = '${sample.partnerId}' and status = 'PENDING'`)) as { n: number }[];
    if (n === 0) break;
    if (Date.now() - drained > 600_000) {
      log(`${scale}: ${n} deliveries still PENDING after 10 min; measuring anyway`);
      break;
    }
    await sleep(1000);
  }
  log(`${scale}: the connected partner's queued deliveries done in ${Date.now() - drained} ms`);
  log(`${scale}: gateway up at ${gw.base}`, { partner: sample.partnerId, trail: `${sample.trailCustomer}/${sample.trailPartner}`, search: sample.search, replay: sample.replayable });
  return { world, sample, gw, tokens, rows: await tableRows(world.url), sim };
}

async function worldRows(url: string, sql: string): Promise<unknown[]> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    return (await db.query(sql)).rows;
  } finally {
    await db.end();
  }
}

function machine() {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    /* not a checkout */
  }
  return { cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, commit, loadAverageAtStart: loadavg() };
}

/** The summary figures of a read over its rounds (medians of the rounds' percentiles). */
export function figures(r: ReadResult) {
  if (r.replayMs) {
    const s = summarize(r.replayMs.filter(Number.isFinite));
    return { p50: s.p50, p99: s.p99, rateP50: NaN, rateP99: NaN, achieved: NaN, non2xx: 0 };
  }
  return {
    p50: median(r.oneConnection.map((x) => x.p50)),
    p99: median(r.oneConnection.map((x) => x.p99)),
    rateP50: median(r.rate.map((x) => x.p50)),
    rateP99: median(r.rate.map((x) => x.p99)),
    achieved: median(r.rate.map((x) => x.achieved)),
    non2xx: r.rate.reduce((s, x) => s + x.non2xx, 0) + r.oneConnection.reduce((s, x) => s + x.non2xx, 0),
  };
}

/** The server's work per request (`perRequest` of each round), as one paragraph of medians; none without rounds. */
function serverWorkLine(title: string, byRound: (Record<string, number> | undefined)[]): string[] {
  const rounds = byRound.filter((r): r is Record<string, number> => Boolean(r));
  if (!rounds.length) return [];
  const m = (k: string, d = 1) => f(median(rounds.map((r) => r[k])), d);
  return [
    '',
    `${title} (median of ${rounds.length} round(s)): PostgreSQL ${m('postgresUserMs', 2)} ms user + ${m('postgresSysMs', 2)} ms system CPU, ` +
      `gateway ${m('gatewayCpuMs', 2)} ms CPU; ${m('blocksHit')} buffer hits, ${m('blocksRead', 2)} blocks read; ${m('walRecords')} WAL records, ${m('walFpi', 2)} full-page images, ${m('walBytes', 0)} WAL bytes; ${m('commits', 2)} commits.`,
  ];
}

function markdown(result: any): string {
  const lines: string[] = [];
  const m = result.machine;
  lines.push(
    `**Scale ${result.scale.toLocaleString('en-US')} customers**: run ${result.startedAt} (${m.cores} cores, Node ${m.node}, commit ${m.commit}; load average at start ${m.loadAverageAtStart.map((x: number) => x.toFixed(2)).join(' / ')}, at end ${result.loadAverageAtEnd.map((x: number) => x.toFixed(2)).join(' / ')}); ${result.settings.ROUNDS} round(s) × ${result.settings.DURATION} s${result.settings.SCALES.length > 1 ? `, interleaved with ${result.settings.SCALES.filter((s: number) => s !== result.scale).join(', ')}` : ''}. PostgreSQL settings: ${Object.entries(result.settings.SERVING ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || 'defaults'}. p99 at 1 connection over a few hundred requests is a rough figure.`,
    '',
  );
  lines.push(`| read | viewer | 1 conn p50 ms | 1 conn p99 ms | ${RATE}/s p50 ms | ${RATE}/s p99 ms | achieved req/s | non-2xx | statements | index-bound |`, '|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of result.reads as ReadResult[]) {
    if (r.error) {
      lines.push(`| ${r.name} | ${r.viewer.startsWith('ADMIN') ? 'partner ADMIN' : 'ANALYST'} | error: ${r.error.replace(/\|/g, '\\|').slice(0, 120)} | | | | | | | |`);
      continue;
    }
    const x = figures(r);
    const label = r.replayMs ? `${r.name} (${r.replayCount} alerts, to the last)` : r.name;
    const seq = r.plans.flatMap((p) => p.seqScans);
    lines.push(
      `| ${label} | ${r.viewer.startsWith('ADMIN') ? 'partner ADMIN' : 'ANALYST'} | ${f(x.p50, 1)} | ${f(x.p99, 1)} | ${f(x.rateP50, 1)} | ${f(x.rateP99, 1)} | ${f(x.achieved)} | ${x.non2xx} | ${f(r.statements)} | ${r.indexBound ? 'yes' : `no (seq scan: ${[...new Set(seq)].join(', ')})`} |`,
    );
  }
  if (result.writes) {
    const w = result.writes;
    lines.push('', '| write | per s | p50 ms | p99 ms | outcome |', '|---|---:|---:|---:|---|');
    if (w.attempt) {
      const c = w.attempt.runs.reduce((s: number, x: any) => s + x.completed, 0);
      const b = w.attempt.runs.reduce((s: number, x: any) => s + x.blocked, 0);
      const fl = w.attempt.runs.reduce((s: number, x: any) => s + x.failed, 0);
      lines.push(`| AttemptTransaction mix (16 conn) | ${f(w.attempt.medians.ordersPerSec)} | ${f(w.attempt.medians.p50)} | ${f(w.attempt.medians.p99)} | ${c} completed : ${b} blocked, ${fl} failed |`);
    }
    for (const c of (w.confirm ?? []).filter((x: any) => x.error)) lines.push(`| ConfirmCustomerAcceptance | | | | ${c.error} |`);
    w.confirm = (w.confirm ?? []).filter((x: any) => !x.error);
    if (w.confirm.length) {
      const perSec = median(w.confirm.map((x: any) => x.perSec));
      lines.push(`| ConfirmCustomerAcceptance (16 conn) | ${f(perSec)} | ${f(median(w.confirm.map((x: any) => x.p50)))} | ${f(median(w.confirm.map((x: any) => x.p99)))} | ${w.confirm.reduce((s: number, x: any) => s + x.confirmed, 0)} confirmed, ${w.confirm.reduce((s: number, x: any) => s + x.failed, 0)} failed${w.confirm.find((x: any) => x.firstError) ? ` (first: ${w.confirm.find((x: any) => x.firstError).firstError.replace(/\|/g, '/').slice(0, 160)})` : ''} |`);
    }
    for (const a of w.attest ?? []) {
      if (a.error) lines.push(`| RequestAttestation | | | | ${a.error} |`);
      else lines.push(`| RequestAttestation (8 at a time) | ${f(a.requestsPerSec)} | ${f(a.p50)} | ${f(a.p99)} | ${a.recorded}/${a.requested} recorded, ${a.failed} failed or expired upstream, followed at ${f(a.followedPerSec, 1)}/s |`);
    }
    lines.push(...serverWorkLine('Per confirmation', (w.confirm ?? []).map((x: any) => x.perRequest)));
    lines.push(...serverWorkLine('Per order of AttemptTransaction, warm-up included', w.attempt?.perOrderByRound ?? []));
  }
  return lines.join('\n');
}

async function main() {
  const startedAt = new Date().toISOString();
  // Read now: its load average is the one at the start (the results are written at the end).
  const host = machine();
  const stamp = startedAt.replace(/[:.]/g, '-');
  const sim = await startPartnerCenterSimulator({ port: 0 });
  const targets: Target[] = [];
  const results = new Map<number, { reads: ReadResult[]; writes: any }>();
  try {
    // Every world up first (the gateways idle while another is measured), then the rounds interleaved.
    for (const [i, scale] of SCALES.entries()) targets.push(await startTarget(scale, i, sim));
    const plan = new Map(targets.map((t) => [t.world.scale, reads(t.sample)]));
    if (ONLY.has('reads')) {
      for (const t of targets) {
        const list: ReadResult[] = [];
        for (const read of plan.get(t.world.scale)!) {
          const r = await inspectRead(t, read);
          log(`${t.world.scale} ${read.name}: ${r.error ? 'ERROR ' + r.error : `${r.statements} statements, index-bound ${r.indexBound ? 'yes' : 'no'}`}`);
          list.push(r);
        }
        results.set(t.world.scale, { reads: list, writes: {} });
      }
      for (let round = 0; round < ROUNDS; round++) {
        // Read by read, each scale in turn: background noise falls on both alike.
        const names = plan.get(targets[0].world.scale)!.map((r) => r.name);
        for (const name of names) {
          for (const t of targets) {
            const read = plan.get(t.world.scale)!.find((r) => r.name === name)!;
            await timeRead(t, read, results.get(t.world.scale)!.reads.find((r) => r.name === name)!);
          }
        }
      }
    }
    if (ONLY.has('writes')) {
      for (const t of targets) if (!results.has(t.world.scale)) results.set(t.world.scale, { reads: [], writes: {} });
      const attempts = new Map<number, any[]>();
      for (let round = 0; round < ROUNDS; round++) {
        for (const t of targets) {
          const w = results.get(t.world.scale)!.writes;
          const rels = t.sample.relationships;
          // A workload that fails is reported as such; the others still run.
          const guard = async <T>(name: string, run: () => Promise<T>): Promise<T | { error: string }> =>
            run().catch((err) => (log(`${t.world.scale} ${name} failed: ${String(err).slice(0, 300)}`), { error: String(err).slice(0, 300) }));
          // Per order, over the warm-up and the measured runs alike (the counters cannot tell them apart).
          const attempt: any = await counted(t, 'per order', 'perOrder', () =>
            guard('write', () => writeWorkload(t.gw, rels, t.tokens, { runs: WRITE_RUNS, duration: DURATION, log: (...a: unknown[]) => log(t.world.scale, ...a) })),
            (a: any) => a.warmUpOrders + a.runs.reduce((n: number, r: any) => n + r.completed + r.blocked + r.failed, 0),
          );
          (attempts.get(t.world.scale) ?? attempts.set(t.world.scale, []).get(t.world.scale)!).push(attempt);
          const confirmed: any = await counted(t, 'per confirmation', 'perRequest', () => guard('confirmations', () => confirmations(t)), (c: any) => c.confirmed + c.failed);
          (w.confirm ??= []).push(confirmed);
          (w.attest ??= []).push(await guard('attestations', () => attestationBookkeeping(t, round)));
        }
      }
      for (const t of targets) {
        const list = attempts.get(t.world.scale)!.filter((x) => !x.error);
        if (!list.length) continue;
        const runs = list.flatMap((x) => x.runs);
        results.get(t.world.scale)!.writes.attempt = {
          ...list[0],
          runs,
          perOrderByRound: list.map((x) => x.perOrder),
          medians: { ordersPerSec: median(runs.map((r: any) => r.ordersPerSec)), p50: median(runs.map((r: any) => r.p50)), p99: median(runs.map((r: any) => r.p99)) },
        };
      }
    }
  } finally {
    // BENCH_HOLD seconds: the gateways and databases stay up to look at (debugging).
    if (process.env.BENCH_HOLD) await sleep(Number(process.env.BENCH_HOLD) * 1000);
    for (const t of targets) await t.gw.child.stop();
    for (const t of targets) await t.world.stop();
    await sim.close();
    await replayer?.stop();
    await rater?.stop();
  }
  mkdirSync(RESULTS, { recursive: true });
  const outputs: string[] = [];
  for (const t of targets) {
    const r = results.get(t.world.scale);
    if (!r) continue;
    const result = {
      scale: t.world.scale,
      startedAt,
      machine: host,
      settings: { SCALES, DURATION, ROUNDS, RATE, RATE_CONNECTIONS, RATE_WARMUP, PAGE, REPLAY, SERVING },
      sample: { ...t.sample, relationships: t.sample.relationships.length, attestCustomers: t.sample.attestCustomers.length },
      seedMs: t.world.seedMs,
      tableRows: Object.fromEntries(t.rows),
      reads: r.reads,
      writes: r.writes,
      loadAverageAtEnd: loadavg(),
    };
    const file = join(RESULTS, `scale-${t.world.scale}-${stamp}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2));
    const planDir = join(RESULTS, 'plans', String(t.world.scale));
    mkdirSync(planDir, { recursive: true });
    for (const read of r.reads) {
      const text = [`-- ${read.name} as ${read.viewer}: ${read.request}`, `-- ${read.statements} statements, ${read.plans.length} distinct; index-bound: ${read.indexBound ? 'yes' : 'no'}`, ''];
      for (const [i, p] of read.plans.entries()) {
        text.push(`-- statement ${i + 1}${p.times > 1 ? ` (ran ${p.times} times)` : ''}${p.seqScans.length ? ` SEQ SCAN of ${p.seqScans.join(', ')}` : ''}`, p.sql, `-- parameters: ${JSON.stringify(p.params)}`, p.plan, '');
      }
      writeFileSync(join(planDir, `${read.name}.txt`), text.join('\n'));
    }
    const md = markdown(result);
    writeFileSync(join(RESULTS, `scale-${t.world.scale}-latest.md`), md + '\n');
    outputs.push(md);
    log(`results: ${file}, bench/results/scale-${t.world.scale}-latest.md, plans in ${planDir}`);
  }
  console.log('\n' + outputs.join('\n\n'));
  if (SCALES.length === 2 && outputs.length === 2) {
    // The goals, straight away (the same as `npm run bench:scale -- compare <a.json> <b.json>`).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { compare } = require('./scale-compare') as typeof import('./scale-compare');
    const [a, b] = SCALES.map((s) => JSON.parse(readFileSync(join(RESULTS, `scale-${s}-${stamp}.json`), 'utf8')));
    console.log('\n' + compare(a, b));
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
