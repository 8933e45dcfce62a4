/**
 * Issue 19 benchmark: attestations followed per second, request to RECORDED, against the
 * Partner Center simulator with 50 ms added latency on every call (token, create, status
 * polls, agreement). Customers accept as soon as their link is issued (sim.acceptAttestation),
 * so the figure is the gateway's following, not a person's reading time.
 *
 *   node -r reflect-metadata -r @swc-node/register bench/attestations.ts
 *
 * Knobs (environment): ATTEST_N (200), ATTEST_PARTNERS (2), UPSTREAM_LATENCY_MS (50),
 * ATTESTATION_POLL_SECONDS (1), REQUEST_CONCURRENCY (8). Loopback only; the throw-away
 * database is dropped at the end.
 */
import 'reflect-metadata';
import pino from 'pino';
import type { EntityManager } from '@mikro-orm/postgresql';
import { loadConfig } from '../src/config';
import { createGateway } from '../src/gateway';
import { queryRows } from '../src/db/query';
import { AgreementType } from '../src/agreements/agreement.enums';
import { PartnerType, Role } from '../src/auth/roles';
import { startPartnerCenterSimulator, MCA_TEMPLATE_ID } from '../simulator';
import { freshDatabase } from '../test/support/database';
import { gql } from '../test/support/gateway';
import { aPartner, aPartnerToken, anAgreement } from '../test/factories';
import { CONNECT, CREDENTIALS_KEY } from '../test/partner-center/support';

process.env.TEST_ADMIN_DATABASE_URL ??= process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = 'test-secret-that-is-long-enough-for-hs256';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const N = env('ATTEST_N', 200);
const PARTNERS = env('ATTEST_PARTNERS', 2);
const LATENCY = env('UPSTREAM_LATENCY_MS', 50);
const POLL = env('ATTESTATION_POLL_SECONDS', 1);
const CONCURRENCY = env('REQUEST_CONCURRENCY', 8);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const REQUEST = `mutation ($input: RequestAttestationInput!) { requestAttestation(input: $input) { attestation { id } } }`;

async function main() {
  const sim = await startPartnerCenterSimulator({ port: 0 });
  const db = await freshDatabase();
  const base = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, SEED_DEMO: 'false' });
  const gw = await createGateway(
    {
      ...base,
      port: 0,
      databaseUrl: db.url,
      seedDemo: false,
      logLevel: 'silent',
      partnerCenter: { ...base.partnerCenter, url: sim.url, tokenUrl: sim.tokenUrl, credentialsKey: CREDENTIALS_KEY },
      attestations: { pollSeconds: POLL, retrySeconds: 1, jobExpireSeconds: 60, maintenanceIntervalSeconds: 5, pollingIntervalSeconds: 0.5 },
    },
    pino({ level: 'silent' }),
  );
  const em = () => gw.orm.em.fork() as EntityManager;
  try {
    await anAgreement(gw, { templateId: MCA_TEMPLATE_ID, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, versionRank: 100, effectiveFrom: '2020-01-01' });
    const partners = [];
    for (let p = 0; p < PARTNERS; p++) {
      const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
      const creds = { clientId: `bench-${p}`, clientSecret: `secret-${p}-${partner.id}`, refreshToken: `rt-${p}-${partner.id}` };
      sim.registerApp({ tenantId: partner.tenantId, ...creds });
      const admin = await aPartnerToken(partner, Role.ADMIN);
      const res = await gql(gw.url, CONNECT, { input: creds }, admin);
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      await queryRows(
        em(),
        `with c as (
           insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
           select gen_random_uuid(), ? || '-' || i, 'Bench ' || i, 'bench' || i || '.example', 'US', 'Jane', 'Doe', 'jane@example.com', now()
             from generate_series(0, ? - 1) i returning id)
         insert into customer_relationships (id, customer_id, partner_id, created_at) select gen_random_uuid(), c.id, ?, now() from c`,
        [`bench-${p}`, Math.ceil(N / PARTNERS), partner.id],
      );
      const customers = await queryRows<{ id: string }>(em(), 'select customer_id as id from customer_relationships where partner_id = ?', [partner.id]);
      partners.push({ partner, admin, customers: customers.map((c) => c.id) });
    }
    sim.misbehave({ latencyMs: LATENCY });
    const work = partners.flatMap((p) => p.customers.map((customerId) => ({ customerId, token: p.admin }))).slice(0, N);
    console.log(`following ${work.length} attestations of ${PARTNERS} partners; upstream latency ${LATENCY} ms, status poll every ${POLL} s`);

    const started = Date.now();
    await requestAttestations(gw.url, work, CONCURRENCY);
    const requested = Date.now();
    const { recorded, failed } = await followAttestations(sim, work.length, () => queryRows<AttestationRow>(em(), 'select status, upstream_id from attestations'), started);
    const done = Date.now();
    const seconds = (done - started) / 1000;
    console.log(
      JSON.stringify(
        {
          attestations: work.length,
          recorded,
          failed,
          requestSeconds: (requested - started) / 1000,
          totalSeconds: seconds,
          attestationsFollowedPerSecond: Math.round((recorded / seconds) * 10) / 10,
          upstreamRequests: sim.requests.length,
          latencyMs: LATENCY,
          pollSeconds: POLL,
        },
        null,
        2,
      ),
    );
  } finally {
    await gw.stop();
    await sim.close();
    await db.drop();
  }
}

export interface AttestationRow {
  status: string;
  upstream_id: string | null;
}

/**
 * RequestAttestation for each `work` item, `concurrency` at a time; answers each request's
 * time in ms and the attestations' ids (the bookkeeping a partner's call costs, without the following).
 */
export async function requestAttestations(url: string, work: { customerId: string; token: string }[], concurrency: number): Promise<{ times: number[]; ids: string[] }> {
  let next = 0;
  const times: number[] = [];
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < work.length) {
        const { customerId, token } = work[next++];
        const t0 = performance.now();
        const res = await gql(url, REQUEST, { input: { customerId, language: 'en-US', signatory: { firstName: 'Sam', lastName: 'Signer', email: `sam+${customerId.slice(0, 8)}@example.com` } } }, token);
        times.push(performance.now() - t0);
        if (res.errors) throw new Error(JSON.stringify(res.errors));
        ids.push((res.data as { requestAttestation: { attestation: { id: string } } }).requestAttestation.attestation.id);
      }
    }),
  );
  return { times, ids };
}

/** The customers: each accepts as soon as its link is issued; until `n` attestations are RECORDED (or failed). */
export async function followAttestations(
  sim: { acceptAttestation(id: string): unknown },
  n: number,
  rowsOf: () => Promise<AttestationRow[]>,
  started: number,
): Promise<{ recorded: number; failed: number }> {
  const accepted = new Set<string>();
  let recorded = 0;
  let failed = 0;
  while (recorded + failed < n) {
    const rows = await rowsOf();
    for (const r of rows) {
      if (r.status === 'LINK_ISSUED' && r.upstream_id && !accepted.has(r.upstream_id)) {
        sim.acceptAttestation(r.upstream_id);
        accepted.add(r.upstream_id);
      }
    }
    recorded = rows.filter((r) => r.status === 'RECORDED').length;
    failed = rows.filter((r) => r.status === 'FAILED' || r.status === 'EXPIRED').length;
    if (Date.now() - started > 600_000) throw new Error(`gave up: ${recorded} recorded after 10 minutes`);
    await sleep(100);
  }
  return { recorded, failed };
}

// Run as a script; bench/scale.ts imports the two steps above.
if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
