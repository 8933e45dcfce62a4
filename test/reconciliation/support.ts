import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { EntityManager } from '@mikro-orm/postgresql';
import { loadConfig, type Config, type PartnerCenterConfig } from '../../src/config';
import { createGateway } from '../../src/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import { AgreementType } from '../../src/agreements/agreement.enums';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { queryRows } from '../../src/db/query';
import { startPartnerCenterSimulator, MCA_TEMPLATE_ID, type PartnerCenterSimulator } from '../../simulator';
import { freshDatabase } from '../support/database';
import { FOUNDING_RULES_SQL, gql, TEST_SECRET, type TestGateway } from '../support/gateway';
import { aPartner, aPartnerToken, anAcceptance, anAgreement } from '../factories';

export { MCA_TEMPLATE_ID };
export { CLOUD_TEMPLATE_ID } from '../../simulator';
const CREDENTIALS_KEY = 'test-credentials-key-that-is-long-enough-0123456789';

/** A simulator on a free port for the file's tests. */
export function useSimulator(): () => PartnerCenterSimulator {
  let sim: PartnerCenterSimulator | undefined;
  beforeAll(async () => {
    sim = await startPartnerCenterSimulator({ port: 0 });
  });
  afterAll(async () => {
    await sim?.close();
  });
  return () => sim!;
}

export function pcConfig(sim: PartnerCenterSimulator, overrides: Partial<PartnerCenterConfig> = {}): PartnerCenterConfig {
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
    callRetries: 1,
    callRetryBaseMs: 10,
    ...overrides,
  };
}

/** A gateway wired to the simulator, on a fresh database unless `databaseUrl` names one (a second instance). */
export async function startReconGateway(
  sim: PartnerCenterSimulator,
  opts: { pc?: Partial<PartnerCenterConfig>; databaseUrl?: string; config?: Partial<Config> } = {},
): Promise<TestGateway> {
  const db = opts.databaseUrl ? undefined : await freshDatabase();
  const url = opts.databaseUrl ?? db!.url;
  const base = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_SECRET, SEED_DEMO: 'false' });
  const config: Config = {
    ...base,
    port: 0,
    databaseUrl: url,
    seedDemo: false,
    logLevel: 'silent',
    partnerCenter: pcConfig(sim, opts.pc),
    ...opts.config,
  };
  const gateway = await createGateway(config, pino({ level: 'silent' }));
  await gateway.orm.em.getConnection().execute(FOUNDING_RULES_SQL);
  return {
    ...gateway,
    databaseUrl: url,
    stop: async () => {
      await gateway.stop();
      await db?.drop();
    },
    gql: (query, variables, token) => gql(gateway.url, query, variables, token),
    countStatements: async () => 0,
  };
}

export const CONNECT = `mutation ($input: ConnectPartnerCenterInput!) { connectPartnerCenter(input: $input) { connection { status } } }`;

export interface ConnectedPartner {
  partner: Partner;
  admin: string;
  agent: string;
}

/** A partner whose app the simulator knows, connected through the API by its ADMIN (unless `connect: false`). */
export async function aConnectedPartner(gw: TestGateway, sim: PartnerCenterSimulator, opts: { connect?: boolean; type?: PartnerType } = {}): Promise<ConnectedPartner> {
  const partner = await aPartner(gw, { type: opts.type ?? PartnerType.DIRECT_BILL, tenantId: randomUUID() });
  const creds = { clientId: randomUUID(), clientSecret: `secret-${randomUUID()}`, refreshToken: `rt-${randomUUID()}` };
  sim.registerApp({ tenantId: partner.tenantId, ...creds });
  const admin = await aPartnerToken(partner, Role.ADMIN);
  const agent = await aPartnerToken(partner, Role.AGENT);
  if (opts.connect !== false) {
    const res = await gw.gql(CONNECT, { input: creds }, admin);
    if (res.errors) throw new Error(`connect failed: ${JSON.stringify(res.errors)}`);
  }
  return { partner, admin, agent };
}

/** The simulator's Customer Agreement template, known locally (once per gateway). */
export async function theMcaTemplate(gw: TestGateway): Promise<AgreementTemplate> {
  const em = gw.orm.em.fork() as EntityManager;
  const [row] = await queryRows<{ template_id: string }>(em, 'select template_id from agreement_templates where template_id = ?', [MCA_TEMPLATE_ID]);
  if (row) return { templateId: MCA_TEMPLATE_ID, effectiveFrom: '2019-10-01' } as AgreementTemplate;
  return anAgreement(gw, { templateId: MCA_TEMPLATE_ID, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, versionRank: 0, effectiveFrom: '2019-10-01' });
}

/** An active confirmation (contact Ada Lovelace, ada@example.com) that the gateway holds as delivered (SYNCED) unless `synced: false`. */
export async function aConfirmation(gw: TestGateway, data: { customer: Customer; partner: Partner; template: AgreementTemplate; synced?: boolean; dateAgreed?: string }): Promise<string> {
  const acceptance = await anAcceptance(gw, { customer: data.customer, partner: data.partner, template: data.template, dateAgreed: data.dateAgreed ?? '2025-09-01' });
  const em = gw.orm.em.fork() as EntityManager;
  await queryRows(
    em,
    `insert into acceptance_syncs (acceptance_id, partner_id, status, attempts, created_at, synced_at) values (?, ?, ?, 0, now(), ${data.synced === false ? 'null' : 'now()'})`,
    [acceptance.id, data.partner.id, data.synced === false ? 'PENDING' : 'SYNCED'],
  );
  return acceptance.id;
}

/** The contact `anAcceptance` records. */
export const ADA = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' };

export const RECONCILE = `mutation ($partnerId: ID) { reconcilePartnerCenter(partnerId: $partnerId) { checked failed drift { id kind detail detectedAt customer { id } partner { id } } } }`;

export const DRIFT = `query ($partnerId: ID, $open: Boolean, $first: Int, $after: String) {
  acceptanceDrift(partnerId: $partnerId, open: $open, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id kind detail detectedAt firstDetectedAt resolvedAt customer { id tenantId } partner { id } } }
  }
}`;

/** The simulator's requests for one customer's agreements or direct status. */
export const customerReads = (sim: PartnerCenterSimulator, tenantIds: string[]) =>
  sim.requests.filter((r) => r.method === 'GET' && tenantIds.some((t) => r.path === `/v1/customers/${t}/agreements` || r.path === `/v1/customers/${t}/directSignedMicrosoftCustomerAgreementStatus`));
