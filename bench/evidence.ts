/**
 * Issue 20 benchmarks: (1) the evidence bundle of a customer with BUNDLE_EVENTS events
 * (time to last byte, JSON and HTML, median of BUNDLE_RUNS), (2) the chain's backfill and
 * verification of VERIFY_EVENTS events across customers (EVENTS_PER_PAIR per customer and
 * partner): rows/s, and process memory sampled every 200 ms (peak RSS and heap, flat means
 * the peak does not grow with the event count).
 *
 *   TEST_ADMIN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *   node -r reflect-metadata -r @swc-node/register bench/evidence.ts
 *
 * Knobs (environment): BUNDLE_EVENTS (1000), BUNDLE_RUNS (5), VERIFY_EVENTS (1000000),
 * EVENTS_PER_PAIR (10), VERIFY_BATCH (500 pairs). Events are written in set-based SQL (a
 * confirmation and its contact corrections, consistent with each other) and chained by the
 * start-up backfill's function; the throw-away database is dropped at the end.
 */
import 'reflect-metadata';
import pino from 'pino';
import { Client } from 'pg';
import type { EntityManager } from '@mikro-orm/postgresql';
import { loadConfig, type Config } from '../src/config';
import { createGateway } from '../src/gateway';
import { freshDatabase } from '../test/support/database';
import { aPartner, aPartnerToken, anAgreement } from '../test/factories';
import { PartnerType, Role } from '../src/auth/roles';
import { backfillAuditChain, verifyEveryPair } from '../src/audit/audit.chain';

process.env.TEST_ADMIN_DATABASE_URL ??= process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
process.env.JWT_SECRET ??= 'test-secret-that-is-long-enough-for-hs256';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const BUNDLE_EVENTS = env('BUNDLE_EVENTS', 1000);
const BUNDLE_RUNS = env('BUNDLE_RUNS', 5);
const VERIFY_EVENTS = env('VERIFY_EVENTS', 1_000_000);
const EVENTS_PER_PAIR = env('EVENTS_PER_PAIR', 10);
const VERIFY_BATCH = env('VERIFY_BATCH', 500);
const MiB = (b: number) => Math.round(b / 1024 / 1024);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** Peak memory while `work` runs, sampled every 200 ms. */
async function sampled<T>(work: () => Promise<T>): Promise<{ result: T; peakRss: number; peakHeap: number; startRss: number }> {
  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  let peakHeap = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 200);
  try {
    return { result: await work(), peakRss, peakHeap, startRss };
  } finally {
    clearInterval(timer);
  }
}

/**
 * `pairs` customers of `partnerId`, each with one confirmation and `perPair - 1` corrections of
 * its email (each correction's old value the one before; the acceptance holds the last).
 */
async function seedEvents(db: Client, partnerId: string, templateId: string, userId: string, pairs: number, perPair: number, prefix: string): Promise<void> {
  const corrections = perPair - 1;
  for (let from = 0; from < pairs; from += 20_000) {
    const n = Math.min(20_000, pairs - from);
    await db.query(
      `with c as (
         insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
         select gen_random_uuid(), $1 || '-' || i, 'Bench ' || i, 'bench' || i || '.example', 'US', 'Jane', 'Doe', 'jane@example.com', now()
           from generate_series($2::int, $2::int + $3::int - 1) i returning id),
       r as (insert into customer_relationships (id, customer_id, partner_id, created_at) select gen_random_uuid(), c.id, $4, now() from c returning customer_id)
       insert into acceptances (id, customer_id, partner_id, template_id, date_agreed, contact_first_name, contact_last_name, contact_email, channel, status,
                                confirmed_by_id, recorded_at, source)
       select gen_random_uuid(), r.customer_id, $4, $5, '2024-03-01', 'Ada', 'Lovelace', 'e' || $6::int || '@example.com', 'API', 'ACTIVE', $7,
              now() - interval '30 days', 'PARTNER_RECORDED'
         from r`,
      [prefix, from, n, partnerId, templateId, corrections, userId],
    );
  }
  if (corrections > 0) {
    await db.query(
      `insert into acceptance_corrections (id, acceptance_id, corrected_by_id, corrected_at, field, old_value, new_value)
       select gen_random_uuid(), a.id, $3, a.recorded_at + make_interval(secs => k), 'email', 'e' || (k - 1) || '@example.com', 'e' || k || '@example.com'
         from acceptances a join customers c on c.id = a.customer_id cross join generate_series(1, $2::int) k
        where a.partner_id = $1 and c.tenant_id like $4 || '-%'`,
      [partnerId, corrections, userId, prefix],
    );
  }
  await db.query('analyze');
}

async function main() {
  const db0 = await freshDatabase();
  const base = loadConfig({ NODE_ENV: 'test', JWT_SECRET: process.env.JWT_SECRET!, SEED_DEMO: 'false' });
  const config: Config = { ...base, port: 0, databaseUrl: db0.url, seedDemo: false, logLevel: 'silent' };
  const gw = await createGateway(config, pino({ level: 'silent' }));
  const db = new Client({ connectionString: db0.url });
  await db.connect();
  const em = () => gw.orm.em.fork() as EntityManager;
  const report: Record<string, unknown> = { node: process.version, bundleEvents: BUNDLE_EVENTS, verifyEvents: VERIFY_EVENTS, eventsPerPair: EVENTS_PER_PAIR };
  try {
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const template = await anAgreement(gw, { versionRank: 1, effectiveFrom: '2019-01-01' });
    const token = await aPartnerToken(partner, Role.AGENT, 'bench-agent');
    await db.query(`insert into users (id, display_name, partner_id, roles, first_seen_at, last_seen_at) values ('bench-agent', 'Bench Agent', $1, '{AGENT}', now(), now())`, [partner.id]);

    // (1) One customer with BUNDLE_EVENTS events.
    await seedEvents(db, partner.id, template.templateId, 'bench-agent', 1, BUNDLE_EVENTS, 'bundle');
    await backfillAuditChain(em());
    const [{ id: customerId }] = (await db.query(`select id from customers where tenant_id = 'bundle-0'`)).rows;
    const origin = gw.url.replace(/\/graphql$/, '');
    for (const format of ['json', 'html']) {
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < BUNDLE_RUNS; i++) {
        const t0 = performance.now();
        const res = await fetch(`${origin}/exports/evidence/${customerId}?format=${format}`, { headers: { authorization: `Bearer ${token}` } });
        const body = Buffer.from(await res.arrayBuffer());
        times.push(performance.now() - t0);
        if (res.status !== 200) throw new Error(`bundle answered ${res.status}: ${body.toString().slice(0, 200)}`);
        bytes = body.length;
        if (i === 0 && format === 'json') {
          const b = JSON.parse(body.toString());
          if (b.partners[0].trail.length !== BUNDLE_EVENTS || !b.partners[0].verification.valid) throw new Error('the bundle does not hold the events, verified');
        }
      }
      report[`bundle_${format}`] = { medianMs: Math.round(median(times)), minMs: Math.round(Math.min(...times)), bytes };
      console.log(`bundle ${format}: ${BUNDLE_EVENTS} events, time to last byte median ${Math.round(median(times))} ms (runs ${times.map(Math.round).join(', ')}), ${bytes} bytes`);
    }

    // (2) VERIFY_EVENTS events across customers: backfill, then verify every pair.
    const pairs = Math.ceil(VERIFY_EVENTS / EVENTS_PER_PAIR);
    let t0 = performance.now();
    await seedEvents(db, partner.id, template.templateId, 'bench-agent', pairs, EVENTS_PER_PAIR, 'verify');
    console.log(`seeded ${pairs} pairs x ${EVENTS_PER_PAIR} events in ${Math.round((performance.now() - t0) / 1000)} s`);
    t0 = performance.now();
    const backfill = await sampled(() => backfillAuditChain(em(), VERIFY_BATCH));
    const backfillS = (performance.now() - t0) / 1000;
    report.backfill = { links: backfill.result.links, seconds: +backfillS.toFixed(1), rowsPerSecond: Math.round(backfill.result.links / backfillS), peakRssMiB: MiB(backfill.peakRss), peakHeapMiB: MiB(backfill.peakHeap) };
    console.log(`backfill: ${backfill.result.links} links in ${backfillS.toFixed(1)} s (${Math.round(backfill.result.links / backfillS)} rows/s), peak RSS ${MiB(backfill.peakRss)} MiB, heap ${MiB(backfill.peakHeap)} MiB`);

    t0 = performance.now();
    let broken = 0;
    const verify = await sampled(() =>
      verifyEveryPair(
        em(),
        (results) => {
          broken += results.filter((r) => !r.valid).length;
        },
        VERIFY_BATCH,
      ),
    );
    const verifyS = (performance.now() - t0) / 1000;
    report.verify = {
      pairs: verify.result.pairs,
      events: verify.result.events,
      broken,
      seconds: +verifyS.toFixed(1),
      rowsPerSecond: Math.round(verify.result.events / verifyS),
      startRssMiB: MiB(verify.startRss),
      peakRssMiB: MiB(verify.peakRss),
      peakHeapMiB: MiB(verify.peakHeap),
    };
    console.log(
      `verify: ${verify.result.events} events of ${verify.result.pairs} pairs in ${verifyS.toFixed(1)} s (${Math.round(verify.result.events / verifyS)} rows/s), ${broken} broken, RSS ${MiB(verify.startRss)} -> peak ${MiB(verify.peakRss)} MiB, peak heap ${MiB(verify.peakHeap)} MiB`,
    );
    console.log(JSON.stringify(report));
  } finally {
    await db.end();
    await gw.stop();
    await db0.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
