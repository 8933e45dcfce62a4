/**
 * Issue 19 benchmark: reconciliation of RECON_N customers (default 10,000) of one partner
 * against the bundled Partner Center simulator, reporting the upstream requests it used
 * (its request budget) and the time, for a first run (drift found, imports and direct
 * acceptances written) and a second, idempotent run.
 *
 *   TEST_ADMIN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *   node -r reflect-metadata -r @swc-node/register bench/reconciliation.ts
 *
 * Knobs (environment): RECON_N (10000), RECONCILIATION_CONCURRENCY (16), UPSTREAM_LATENCY_MS
 * (20, added by the simulator to every call), PARTNER_CENTER_BUDGET_PER_MINUTE (1000000 here:
 * the bench measures the requests a run needs; at the default 300 a minute the same run is
 * paced by the budget, see the printed estimate). The world: half the customers confirmed
 * and synced locally and on record upstream; 1 % missing upstream, 1 % unknown locally,
 * 0.5 % with another contact upstream, 0.5 % accepted directly. Loopback only; the
 * throw-away database is dropped at the end.
 */
import 'reflect-metadata';
import { loadavg } from 'node:os';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Client } from 'pg';
import { loadConfig, type Config } from '../src/config';
import { createGateway, type Gateway } from '../src/gateway';
import { Role, PartnerType } from '../src/auth/roles';
import { AgreementType } from '../src/agreements/agreement.enums';
import { reconciliation } from '../src/reconciliation/reconciliation.runtime';
import { startPartnerCenterSimulator, MCA_TEMPLATE_ID } from '../simulator';
import { freshDatabase } from '../test/support/database';
import { gql } from '../test/support/gateway';
import { aPartner, aPartnerToken, anAgreement } from '../test/factories';

process.env.TEST_ADMIN_DATABASE_URL ??= process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
process.env.JWT_SECRET ??= 'test-secret-that-is-long-enough-for-hs256';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const N = env('RECON_N', 10_000);
const CONCURRENCY = env('RECONCILIATION_CONCURRENCY', 16);
const LATENCY = env('UPSTREAM_LATENCY_MS', 20);
const BUDGET = env('PARTNER_CENTER_BUDGET_PER_MINUTE', 1_000_000);
const CREDENTIALS_KEY = 'bench-credentials-key-that-is-long-enough-0123456789';
const CONNECT = `mutation ($input: ConnectPartnerCenterInput!) { connectPartnerCenter(input: $input) { connection { status } } }`;
const log = (...args: unknown[]) => console.log(`[recon ${new Date().toISOString().slice(11, 19)}]`, ...args);

async function main() {
  const sim = await startPartnerCenterSimulator({ port: 0 });
  const database = await freshDatabase();
  const base = loadConfig({ ...process.env, NODE_ENV: 'test', SEED_DEMO: 'false', CREDENTIALS_KEY });
  const config: Config = {
    ...base,
    port: 0,
    databaseUrl: database.url,
    seedDemo: false,
    logLevel: 'silent',
    partnerCenter: { ...base.partnerCenter, url: sim.url, tokenUrl: sim.tokenUrl, budgetPerMinute: BUDGET },
    reconciliation: { ...base.reconciliation, concurrency: CONCURRENCY },
  };
  const gw: Gateway = await createGateway(config, pino({ level: 'silent' }));
  const db = new Client({ connectionString: database.url });
  await db.connect();
  try {
    await anAgreement(gw, { templateId: MCA_TEMPLATE_ID, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, versionRank: 0, effectiveFrom: '2019-10-01' });
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL, tenantId: randomUUID() });
    const creds = { clientId: randomUUID(), clientSecret: `secret-${randomUUID()}`, refreshToken: `rt-${randomUUID()}` };
    sim.registerApp({ tenantId: partner.tenantId, ...creds });
    const res = await gql(gw.url, CONNECT, { input: creds }, await aPartnerToken(partner, Role.ADMIN));
    if (res.errors) throw new Error(`connect failed: ${JSON.stringify(res.errors)}`);

    // The world, set-based: N customers, half of them confirmed and synced.
    const t0 = Date.now();
    await db.query(`insert into users (id, display_name, partner_id, roles, first_seen_at, last_seen_at) values ('bench-agent', 'Bench Agent', $1, '{AGENT}', now(), now())`, [partner.id]);
    await db.query(
      `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
       select gen_random_uuid(), 'recon-' || i, 'Recon ' || i, 'recon' || i || '.example', 'US', 'Jane', 'Doe', 'jane@example.com', now() from generate_series(0, $1 - 1) i`,
      [N],
    );
    await db.query(`insert into customer_relationships (id, customer_id, partner_id, created_at) select gen_random_uuid(), c.id, $1, now() from customers c`, [partner.id]);
    await db.query(
      `insert into acceptances (id, customer_id, partner_id, template_id, date_agreed, contact_first_name, contact_last_name, contact_email, channel, status, confirmed_by_id, recorded_at, source)
       select gen_random_uuid(), c.id, $1, $2, '2025-09-01', 'Pat', 'Doe', 'pat' || substr(c.tenant_id, 7) || '@example.com', 'API', 'ACTIVE', 'bench-agent', now(), 'PARTNER_RECORDED'
         from customers c where substr(c.tenant_id, 7)::int % 2 = 0`,
      [partner.id, MCA_TEMPLATE_ID],
    );
    await db.query(`insert into acceptance_syncs (acceptance_id, partner_id, status, attempts, created_at, synced_at) select a.id, a.partner_id, 'SYNCED', 0, now(), now() from acceptances a`);
    const expected = { MISSING_UPSTREAM: 0, UNKNOWN_LOCALLY: 0, CONTACT_DIFFERS: 0, DIRECT_ACCEPTANCE_FOUND: 0 };
    for (let i = 0; i < N; i++) {
      const tenant = `recon-${i}`;
      const record = (email: string) => ({ templateId: MCA_TEMPLATE_ID, dateAgreed: '2025-09-01T10:00:00Z', primaryContact: { firstName: 'Pat', lastName: 'Doe', email } });
      if (i % 2 === 0) {
        if (i % 100 === 0) expected.MISSING_UPSTREAM++;
        else if (i % 200 === 2) (sim.seedAgreement(tenant, record(`other${i}@example.com`)), expected.CONTACT_DIFFERS++);
        else sim.seedAgreement(tenant, record(`pat${i}@example.com`));
      } else if (i % 100 === 1) {
        sim.seedAgreement(tenant, record(`pat${i}@example.com`));
        expected.UNKNOWN_LOCALLY++;
      }
      if (i % 200 === 3) (sim.setDirectSigned(tenant, true), expected.DIRECT_ACCEPTANCE_FOUND++);
    }
    log(`seeded ${N} customers in ${((Date.now() - t0) / 1000).toFixed(1)} s; expected drift`, expected);
    sim.misbehave({ latencyMs: LATENCY });

    const runs: Record<string, unknown>[] = [];
    for (const label of ['first', 'second (idempotent)']) {
      const before = sim.requests.length;
      const loadBefore = loadavg()[0].toFixed(2);
      const started = process.hrtime.bigint();
      const result = await reconciliation(gw.services).run(partner.id);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const requests = sim.requests.slice(before);
      const byKind = (re: RegExp) => requests.filter((r) => re.test(r.path)).length;
      const kinds: Record<string, number> = {};
      for (const d of result.drift) kinds[d.kind] = (kinds[d.kind] ?? 0) + 1;
      const used = requests.length;
      const run = {
        run: label,
        customers: N,
        checked: result.checked,
        failed: result.failed,
        drift: kinds,
        seconds: Number(seconds.toFixed(1)),
        customersPerSecond: Math.round(result.checked / seconds),
        upstreamRequests: used,
        agreements: byKind(/\/agreements$/),
        directStatus: byKind(/directSignedMicrosoftCustomerAgreementStatus$/),
        tokens: byKind(/oauth2/),
        requestsPerCustomer: Number((used / N).toFixed(2)),
        minutesAtDefaultBudget300: Math.ceil(used / 300),
        load1: `${loadBefore} -> ${loadavg()[0].toFixed(2)}`,
      };
      log(JSON.stringify(run));
      runs.push(run);
    }
    const { rows } = await db.query(`select count(*)::int as n from partner_center_exchanges where partner_id = $1`, [partner.id]);
    log(`exchange log rows: ${rows[0].n}`);
    console.log(JSON.stringify({ concurrency: CONCURRENCY, latencyMs: LATENCY, budgetPerMinute: BUDGET, expected, runs }, null, 2));
  } finally {
    await db.end();
    await gw.stop();
    await sim.close();
    await database.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
