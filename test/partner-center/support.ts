import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { loadConfig, type Config, type PartnerCenterConfig } from '../../src/config';
import { createGateway } from '../../src/gateway';
import { freshDatabase } from '../support/database';
import { FOUNDING_RULES_SQL, gql, statementCounter, TEST_SECRET, platformAdminToken, type TestGateway } from '../support/gateway';
import { aPartner, aPartnerToken } from '../factories';
import { Role } from '../../src/auth/roles';
import { PartnerType } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import type { PartnerCenterSimulator, RecordedRequest } from '../../simulator';

export const CREDENTIALS_KEY = 'test-credentials-key-that-is-long-enough-0123456789';

/** Small delays so retries happen within a test; pg-boss polls every 0.5 s (its minimum). */
export function pcConfig(sim: Pick<PartnerCenterSimulator, 'url' | 'tokenUrl'>, overrides: Partial<PartnerCenterConfig> = {}): PartnerCenterConfig {
  return {
    url: sim.url,
    tokenUrl: sim.tokenUrl,
    maxAttempts: 5,
    retryBaseMs: 20,
    credentialsKey: CREDENTIALS_KEY,
    timeoutMs: 2_000,
    concurrency: 8,
    pollingIntervalSeconds: 0.5,
    jobExpireSeconds: 3,
    maintenanceIntervalSeconds: 1,
    budgetPerMinute: 100_000,
    maxWaitMs: 10_000,
    callRetries: 2,
    callRetryBaseMs: 10,
    tokenRefreshDays: 7,
    tokenRefreshSchedule: false,
    ...overrides,
  };
}

/** A gateway wired to the simulator, on a fresh database unless `databaseUrl` names one (a second instance). */
export async function startPcGateway(
  fake: Pick<PartnerCenterSimulator, 'url' | 'tokenUrl'>,
  opts: { pc?: Partial<PartnerCenterConfig>; databaseUrl?: string; log?: Logger; config?: Partial<Config> } = {},
): Promise<TestGateway> {
  const db = opts.databaseUrl ? undefined : await freshDatabase();
  const url = opts.databaseUrl ?? db!.url;
  const base = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_SECRET, SEED_DEMO: 'false' });
  // The evidence's document fetch (issue 20) is off here: these tests count the calls upstream (test/evidence turns it on).
  const config: Config = { ...base, port: 0, databaseUrl: url, seedDemo: false, logLevel: 'silent', partnerCenter: pcConfig(fake, opts.pc), evidence: { fetchDocuments: false }, ...opts.config };
  const gateway = await createGateway(config, opts.log ?? pino({ level: 'silent' }));
  await gateway.orm.em.getConnection().execute(FOUNDING_RULES_SQL);
  return {
    ...gateway,
    databaseUrl: url,
    stop: async () => {
      await gateway.stop();
      await db?.drop();
    },
    gql: (query, variables, token) => gql(gateway.url, query, variables, token),
    countStatements: statementCounter(gateway),
  };
}

export const CONNECT = `mutation ConnectPartnerCenter($input: ConnectPartnerCenterInput!) {
  connectPartnerCenter(input: $input) { connection { partner { id } clientId status connectedAt lastTokenAt lastError } }
}`;

export const SYNC_FIELDS = 'status attempts requestId lastAttemptAt nextAttemptAt syncedAt lastError';

export const CONFIRM = `mutation Confirm($input: ConfirmCustomerAcceptanceInput!) {
  confirmCustomerAcceptance(input: $input) { acceptance { id sync { ${SYNC_FIELDS} } } }
}`;

export const SYNC_OF = `query Sync($id: ID!) { customer(id: $id) { acceptanceHistory { id sync { ${SYNC_FIELDS} } } } }`;

export interface ConnectedPartner {
  partner: Partner;
  admin: string;
  agent: string;
  creds: { clientId: string; clientSecret: string; refreshToken: string };
}

let n = 0;

/** A partner whose app the simulator knows, connected through the API by its ADMIN (unless `connect: false`). */
export async function aConnectedPartner(gw: TestGateway, sim: PartnerCenterSimulator, opts: { connect?: boolean; type?: PartnerType } = {}): Promise<ConnectedPartner> {
  const partner = await aPartner(gw, { type: opts.type ?? PartnerType.DIRECT_BILL });
  n++;
  const creds = { clientId: `client-${n}-${partner.id.slice(0, 8)}`, clientSecret: `SECRET-${n}-${partner.id}`, refreshToken: `REFRESH-${n}-${partner.id}` };
  sim.registerApp({ tenantId: partner.tenantId, ...creds });
  const admin = await aPartnerToken(partner, Role.ADMIN);
  const agent = await aPartnerToken(partner, Role.AGENT);
  if (opts.connect !== false) {
    const res = await gw.gql(CONNECT, { input: creds }, admin);
    if (res.errors) throw new Error(`connect failed: ${JSON.stringify(res.errors)}`);
  }
  return { partner, admin, agent, creds };
}

/** Polls `probe` until `done` holds (or gives up after `ms` and answers the last value). */
export async function eventually<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  let last = await probe();
  while (!done(last) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    last = await probe();
  }
  return last;
}

export const adminToken = platformAdminToken;

/** The confirmation POSTs the simulator received (for one customer tenant, or all). */
export const confirmationsOf = (sim: PartnerCenterSimulator, customerTenantId?: string): RecordedRequest[] =>
  sim.requests.filter((r) => r.method === 'POST' && /^\/v1\/customers\/[^/]+\/agreements$/.test(r.path) && (!customerTenantId || r.path === `/v1/customers/${customerTenantId}/agreements`));

/** The token requests the simulator received (for one partner tenant, or all). */
export const tokenRequestsOf = (sim: PartnerCenterSimulator, tenantId?: string): RecordedRequest[] =>
  sim.requests.filter((r) => /\/oauth2\/(v2\.0\/)?token$/.test(r.path) && (!tenantId || r.path.startsWith(`/${tenantId}/`)));


/**
 * A gateway in a child process (test/partner-center/gateway-child.ts) with these config overrides,
 * so a test can SIGKILL it mid-call; answers the child and its GraphQL URL once it listens.
 */
export async function spawnGatewayChild(overrides: Partial<Config>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['-r', 'reflect-metadata', '-r', '@swc-node/register', join(__dirname, 'gateway-child.ts')], {
    cwd: join(__dirname, '../..'),
    env: { ...process.env, CHILD_CONFIG: JSON.stringify(overrides) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/graphql` };
}
