import { startPartnerCenterSimulator } from './index';

/**
 * `npm run partner-center:sandbox`: the simulator on PORT (default 4100) with a demo partner app
 * registered, for running the gateway against it by hand. Demo values only; nothing secret.
 */
const DEMO = {
  tenantId: '00000000-0000-4000-8000-00000000d3e0',
  clientId: '00000000-0000-4000-8000-0000000c11e0',
  clientSecret: 'sandbox-client-secret',
  refreshToken: 'sandbox-refresh-token',
  userId: '00000000-0000-4000-8000-00000000a5e0',
  mfa: true,
};

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 4100);
  const sim = await startPartnerCenterSimulator({ port, host: process.env.HOST ?? '127.0.0.1' });
  sim.registerApp(DEMO);
  const lines = [
    'Partner Center simulator',
    `  PARTNER_CENTER_URL=${sim.url}`,
    `  PARTNER_CENTER_TOKEN_URL=${sim.tokenUrl}`,
    'Demo partner app (App+User grant with MFA, and AppOnly):',
    `  tenantId      ${DEMO.tenantId}`,
    `  clientId      ${DEMO.clientId}`,
    `  clientSecret  ${DEMO.clientSecret}`,
    `  refreshToken  ${DEMO.refreshToken}`,
    'Try:',
    `  curl -s -d resource=https://api.partnercenter.microsoft.com -d grant_type=client_credentials -d client_id=${DEMO.clientId} -d client_secret=${DEMO.clientSecret} ${sim.tokenUrl.replace('{tenantId}', DEMO.tenantId)}`,
  ];
  console.log(lines.join('\n'));
  const stop = () => void sim.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
