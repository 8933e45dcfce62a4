import { startPartnerCenterSimulator, type PartnerCenterSimulator } from '../../simulator';
import type { Config } from '../config';
import { DEMO_PARTNERS } from './demo';

/**
 * The demo's Partner Center (DESIGN.md section 11: the demo never reaches the internet).
 * `npm start` with demo data and no Partner Center configured starts the bundled simulator
 * in-process, points the gateway at it, and registers an app for each demo partner, so a
 * person can connect a partner, sync confirmations and walk an attestation through the
 * simulator's acceptance page. Never in production, never when PARTNER_CENTER_URL or
 * PARTNER_CENTER_TOKEN_URL is set.
 */

/** Development only: encrypts the demo partners' sandbox credentials when no CREDENTIALS_KEY is set. */
export const DEMO_CREDENTIALS_KEY = 'demo-only-key-for-sandbox-credentials-never-production';

export interface DemoPartnerCenter {
  sim: PartnerCenterSimulator;
  /** The configuration, pointed at the simulator. */
  config: Config;
  /** What to print: the simulator's address and each demo partner's sandbox credentials. */
  lines: string[];
}

export const demoApp = (key: string) => ({ clientId: `demo-client-${key}`, clientSecret: `demo-secret-${key}`, refreshToken: `demo-refresh-${key}` });

export async function withDemoPartnerCenter(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<DemoPartnerCenter | undefined> {
  if (config.production || !config.seedDemo || config.workers > 1 || env.PARTNER_CENTER_URL || env.PARTNER_CENTER_TOKEN_URL) return undefined;
  const sim = await startPartnerCenterSimulator({ port: 0 });
  const lines = [`Partner Center: the bundled simulator at ${sim.url} (sandbox credentials for connectPartnerCenter, per demo partner):`];
  for (const p of DEMO_PARTNERS) {
    const app = demoApp(p.key);
    sim.registerApp({ tenantId: p.tenantId, ...app });
    lines.push(`  ${p.name}: clientId ${app.clientId}, clientSecret ${app.clientSecret}, refreshToken ${app.refreshToken}`);
  }
  return {
    sim,
    config: { ...config, partnerCenter: { ...config.partnerCenter, url: sim.url, tokenUrl: sim.tokenUrl, credentialsKey: config.partnerCenter.credentialsKey ?? DEMO_CREDENTIALS_KEY } },
    lines,
  };
}
