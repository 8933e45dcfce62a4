import { randomUUID } from 'node:crypto';
import type { Config } from '../../src/config';
import { startPartnerCenterSimulator, MCA_TEMPLATE_ID, type PartnerCenterSimulator } from '../../simulator';
import type { TestGateway } from '../support/gateway';
import { CONNECT, pcConfig, startPcGateway } from '../partner-center/support';
import type { Partner } from '../../src/partners/partner.entity';
import { aPartnerToken } from '../factories';
import { Role } from '../../src/auth/roles';
import { FAST } from './support';

export { MCA_TEMPLATE_ID };

/** The upstream settings of attestation tests: the simulator answers within 5 s even on a busy machine. */
const PC = { timeoutMs: 5_000 };

/** The gateway's configuration against the simulator, with small intervals (a child gateway's CHILD_CONFIG). */
export function simConfig(sim: PartnerCenterSimulator, databaseUrl: string): Partial<Config> {
  return { databaseUrl, partnerCenter: pcConfig(sim, PC), ...FAST };
}

/** A gateway against the simulator with small follow intervals, on a fresh database unless one is named (a restart). */
export function startSimGateway(sim: PartnerCenterSimulator, databaseUrl?: string): Promise<TestGateway> {
  return startPcGateway(sim, { databaseUrl, pc: PC, config: FAST });
}

export function startSim(): Promise<PartnerCenterSimulator> {
  return startPartnerCenterSimulator({ port: 0 });
}

/** Registers the partner's app with the simulator and connects it through the API (its ADMIN). */
export async function connectOnSim(gw: { gql: TestGateway['gql'] }, sim: PartnerCenterSimulator, partner: Partner): Promise<void> {
  const creds = { clientId: randomUUID(), clientSecret: `secret-${randomUUID()}`, refreshToken: `rt-${randomUUID()}` };
  sim.registerApp({ tenantId: partner.tenantId, ...creds });
  const res = await gw.gql(CONNECT, { input: creds }, await aPartnerToken(partner, Role.ADMIN));
  if (res.errors) throw new Error(`connect failed: ${JSON.stringify(res.errors)}`);
}
