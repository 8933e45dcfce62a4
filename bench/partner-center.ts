/**
 * Issue 9 benchmarks: (1) sync throughput against the Partner Center simulator with 50 ms
 * added upstream latency, (2) a large CSV through POST /imports/acceptances with
 * process memory sampled every 200 ms.
 *
 *   TEST_ADMIN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *   node -r reflect-metadata -r @swc-node/register bench/partner-center.ts
 *
 * Knobs (environment): SYNC_N (2000), SYNC_PARTNERS (2), PARTNER_CENTER_CONCURRENCY (16),
 * UPSTREAM_LATENCY_MS (50), IMPORT_LINES (comma list, "100000"), IMPORT_LIMIT_S (330: a
 * bigger file is abandoned and reported as not finished). Everything is loopback; the
 * throw-away database is dropped at the end.
 */
import 'reflect-metadata';
import { request } from 'node:http';
import pino from 'pino';
import { Client } from 'pg';
import { loadConfig, type Config } from '../src/config';
import { createGateway, type Gateway } from '../src/gateway';
import { freshDatabase } from '../test/support/database';
import { gql } from '../test/support/gateway';
import { aPartner, aPartnerToken, anAgreement } from '../test/factories';
import { Role, PartnerType } from '../src/auth/roles';
import type { Partner } from '../src/partners/partner.entity';
import { AgreementType } from '../src/agreements/agreement.enums';
import { MCA_TEMPLATE_ID, startPartnerCenterSimulator } from '../simulator';
import { CONNECT, CREDENTIALS_KEY } from '../test/partner-center/support';

process.env.TEST_ADMIN_DATABASE_URL ??= process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
process.env.JWT_SECRET ??= 'test-secret-that-is-long-enough-for-hs256';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const SYNC_N = env('SYNC_N', 2000);
const SYNC_PARTNERS = env('SYNC_PARTNERS', 2);
const LATENCY = env('UPSTREAM_LATENCY_MS', 50);
const IMPORT_LINES = (process.env.IMPORT_LINES ?? '100000').split(',').filter(Boolean).map(Number);
const IMPORT_LIMIT_S = env('IMPORT_LIMIT_S', 330);
const TEMPLATE = MCA_TEMPLATE_ID;
const HEADER = 'customerTenantId,firstName,lastName,email,phoneNumber,dateAgreed,templateId';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = (b: number) => Math.round(b / 1024 / 1024);

/** `n` customers of `partner` in two set-based statements (customers, then relationships). */
async function bulkCustomers(db: Client, partner: Partner, n: number, prefix: string): Promise<string[]> {
  await db.query(
    `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
     select gen_random_uuid(), $1 || '-' || i, 'Bench ' || i, 'bench' || i || '.example', 'US', 'Jane', 'Doe', 'jane@example.com', now()
     from generate_series(0, $2 - 1) i`,
    [prefix, n],
  );
  await db.query(
    `insert into customer_relationships (id, customer_id, partner_id, created_at)
     select gen_random_uuid(), c.id, $2, now() from customers c where c.tenant_id like $1 || '-%'`,
    [prefix, partner.id],
  );
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}

const csvOf = (tenants: string[]) => [HEADER, ...tenants.map((t, i) => `${t},First${i},Last${i},p${i}@example.com,,2024-03-01,${TEMPLATE}`)].join('\n');

/** POST the file with node:http (no client-side timeout other than `limitMs`). */
function postCsv(url: string, body: string, token: string, limitMs: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'text/csv', authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') }));
    });
    const timer = setTimeout(() => req.destroy(new Error(`not finished within ${limitMs / 1000} s`)), limitMs);
    req.on('error', (e) => (clearTimeout(timer), reject(e)));
    req.on('close', () => clearTimeout(timer));
    req.end(body);
  });
}

async function statusCounts(db: Client, partnerIds: string[]): Promise<Record<string, number>> {
  const { rows } = await db.query(`select status, count(*)::int as n from acceptance_syncs where partner_id = any($1) group by status`, [partnerIds]);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

async function main() {
  const fake = await startPartnerCenterSimulator();
  // 50 ms upstream latency on every call (token, confirm, metadata), before the simulator answers.
  fake.misbehave({ latencyMs: LATENCY });
  const database = await freshDatabase();
  const base = loadConfig({ ...process.env, NODE_ENV: 'test', SEED_DEMO: 'false', CREDENTIALS_KEY });
  const config: Config = {
    ...base,
    port: 0,
    databaseUrl: database.url,
    seedDemo: false,
    logLevel: 'silent',
    // The budget per partner tenant is the test's: the simulator throttles nothing here.
    partnerCenter: { ...base.partnerCenter, url: fake.url, tokenUrl: fake.tokenUrl, credentialsKey: base.partnerCenter.credentialsKey, budgetPerMinute: env('PARTNER_CENTER_BUDGET_PER_MINUTE', 1_000_000) },
  };
  const gw: Gateway = await createGateway(config, pino({ level: 'silent' }));
  const importUrl = gw.url.replace('/graphql', '/imports/acceptances');
  const db = new Client({ connectionString: database.url });
  await db.connect();
  const out: Record<string, unknown> = { concurrencyPerPartner: config.partnerCenter.concurrency, latencyMs: LATENCY, pollingIntervalSeconds: config.partnerCenter.pollingIntervalSeconds };
  try {
    await anAgreement(gw, { templateId: TEMPLATE, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-10-01' });

    // (1) Sync throughput: SYNC_N confirmations over SYNC_PARTNERS connected partners, recorded through the import route.
    const partners: { partner: Partner; agent: string; tenants: string[] }[] = [];
    for (let p = 0; p < SYNC_PARTNERS; p++) {
      const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
      const creds = { clientId: `bench-${p}`, clientSecret: `SECRET-${p}-${partner.id}`, refreshToken: `REFRESH-${p}-${partner.id}` };
      fake.registerApp({ tenantId: partner.tenantId, ...creds });
      const res = await gql(gw.url, CONNECT, { input: creds }, await aPartnerToken(partner, Role.ADMIN));
      if (res.errors) throw new Error(`connect failed: ${JSON.stringify(res.errors)}`);
      const share = Math.floor(SYNC_N / SYNC_PARTNERS) + (p < SYNC_N % SYNC_PARTNERS ? 1 : 0);
      partners.push({ partner, agent: await aPartnerToken(partner, Role.AGENT), tenants: await bulkCustomers(db, partner, share, `sync${p}-${partner.id.slice(0, 8)}`) });
    }
    const ids = partners.map((p) => p.partner.id);
    const t0 = Date.now();
    const results = await Promise.all(partners.map((p) => postCsv(importUrl, csvOf(p.tenants), p.agent, 300_000)));
    const tImported = Date.now();
    for (const r of results) if (r.status !== 200 || r.body.rejected) throw new Error(`sync import failed: ${JSON.stringify(r.body).slice(0, 500)}`);
    let counts = await statusCounts(db, ids);
    let firstSynced = 0;
    const limit = Date.now() + 300_000;
    while ((counts.SYNCED ?? 0) + (counts.FAILED ?? 0) < SYNC_N && Date.now() < limit) {
      await sleep(200);
      counts = await statusCounts(db, ids);
      if (!firstSynced && counts.SYNCED) firstSynced = Date.now();
    }
    const tSynced = Date.now();
    const posts = fake.requests.filter((r) => r.method === 'POST' && /^\/v1\/customers\/[^/]+\/agreements$/.test(r.path));
    const requestIds = new Set(posts.map((r) => r.headers['ms-requestid']));
    const { rows: window } = await db.query(
      `select extract(epoch from min(synced_at)) * 1000 as first, extract(epoch from max(synced_at)) * 1000 as last from acceptance_syncs where partner_id = any($1) and status = 'SYNCED'`,
      [ids],
    );
    const syncSpanMs = Number(window[0].last) - Number(window[0].first);
    out.sync = {
      confirmations: SYNC_N,
      partners: SYNC_PARTNERS,
      importMs: tImported - t0,
      statuses: counts,
      importCommitToAllSyncedMs: tSynced - tImported,
      firstToLastSyncedMs: Math.round(syncSpanMs),
      confirmationsPerSecondSteady: Math.round((SYNC_N / syncSpanMs) * 1000),
      confirmationsPerSecondFromCommit: Math.round((SYNC_N / (tSynced - tImported)) * 1000),
      upstreamPosts: posts.length,
      distinctRequestIds: requestIds.size,
      agreementsStored: partners.reduce((n, p) => n + p.tenants.reduce((m, t) => m + fake.agreementsOf(t).length, 0), 0),
      tokenRequests: fake.requests.filter((r) => /\/oauth2\/token$/.test(r.path)).length,
    };
    console.log(JSON.stringify(out.sync));

    // (2) Import: a partner without a connection (lines become NOT_CONNECTED, no upstream traffic during the measure).
    const imports: unknown[] = [];
    for (const lines of IMPORT_LINES) {
      const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
      const agent = await aPartnerToken(partner, Role.AGENT);
      const tc = Date.now();
      const tenants = await bulkCustomers(db, partner, lines, `imp${lines}-${partner.id.slice(0, 8)}`);
      const csv = csvOf(tenants);
      const customersMs = Date.now() - tc;
      (global as { gc?: () => void }).gc?.();
      const samples: { t: number; rss: number; heap: number }[] = [];
      const ts = Date.now();
      const sample = () => {
        const m = process.memoryUsage();
        samples.push({ t: Date.now() - ts, rss: m.rss, heap: m.heapUsed });
      };
      sample();
      const timer = setInterval(sample, 200);
      let res: { status: number; body: any } | undefined;
      let error: string | undefined;
      try {
        res = await postCsv(importUrl, csv, agent, IMPORT_LIMIT_S * 1000);
      } catch (e) {
        error = String((e as Error).message);
      }
      const wallMs = Date.now() - ts;
      clearInterval(timer);
      sample();
      const q = (k: 'rss' | 'heap') => {
        const v = samples.map((s) => s[k]);
        const tenth = Math.max(1, Math.floor(v.length / 10));
        const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
        return { startMiB: MiB(v[0]), maxMiB: MiB(Math.max(...v)), firstTenthAvgMiB: MiB(avg(v.slice(0, tenth))), lastTenthAvgMiB: MiB(avg(v.slice(-tenth - 1, -1).length ? v.slice(-tenth - 1, -1) : v)) };
      };
      const recorded = (await db.query('select count(*)::int as n from acceptances where partner_id = $1', [partner.id])).rows[0].n;
      const r = {
        lines,
        csvMiB: +(Buffer.byteLength(csv) / 1024 / 1024).toFixed(1),
        customersSetupMs: customersMs,
        status: res?.status,
        accepted: res?.body?.accepted,
        rejected: res?.body?.rejected,
        error,
        wallMs,
        linesPerSecond: Math.round((lines / wallMs) * 1000),
        recorded,
        samples: samples.length,
        rss: q('rss'),
        heapUsed: q('heap'),
      };
      imports.push(r);
      console.log(JSON.stringify(r));
      if (error) break;
    }
    out.imports = imports;
  } finally {
    console.log(JSON.stringify(out, null, 1));
    await db.end();
    await Promise.race([gw.stop(), sleep(10_000)]);
    await fake.close();
    await database.drop();
  }
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
