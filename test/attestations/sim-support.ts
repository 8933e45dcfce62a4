import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config';
import { createGateway } from '../../src/gateway';
import { startPartnerCenterSimulator, MCA_TEMPLATE_ID, type PartnerCenterSimulator } from '../../simulator';
import { freshDatabase } from '../support/database';
import { FOUNDING_RULES_SQL, gql, TEST_SECRET, type TestGateway } from '../support/gateway';
import { CONNECT, pcConfig } from '../partner-center/support';
import type { Partner } from '../../src/partners/partner.entity';
import { aPartnerToken } from '../factories';
import { Role } from '../../src/auth/roles';
import { FAST } from './support';

export { MCA_TEMPLATE_ID };

/** The gateway's configuration against the simulator, with small intervals. */
export function simConfig(sim: PartnerCenterSimulator, databaseUrl: string): Partial<Config> {
  return {
    databaseUrl,
    partnerCenter: pcConfig(sim, { timeoutMs: 5_000 }),
    ...FAST,
  };
}

/** A gateway against the simulator, on a fresh database unless one is named (a restart). */
export async function startSimGateway(sim: PartnerCenterSimulator, databaseUrl?: string): Promise<TestGateway> {
  const db = databaseUrl ? undefined : await freshDatabase();
  const url = databaseUrl ?? db!.url;
  const base = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_SECRET, SEED_DEMO: 'false' });
  const gateway = await createGateway({ ...base, port: 0, seedDemo: false, logLevel: 'silent', ...simConfig(sim, url) }, pino({ level: 'silent' }));
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

export async function startSim(): Promise<PartnerCenterSimulator> {
  return startPartnerCenterSimulator({ port: 0 });
}

/** Registers the partner's app with the simulator and connects it through the API (its ADMIN). */
export async function connectOnSim(gw: { gql: TestGateway['gql'] }, sim: PartnerCenterSimulator, partner: Partner): Promise<void> {
  const creds = { clientId: randomUUID(), clientSecret: `secret-${randomUUID()}`, refreshToken: `rt-${randomUUID()}` };
  sim.registerApp({ tenantId: partner.tenantId, ...creds });
  const res = await gw.gql(CONNECT, { input: creds }, await aPartnerToken(partner, Role.ADMIN));
  if (res.errors) throw new Error(`connect failed: ${JSON.stringify(res.errors)}`);
}
