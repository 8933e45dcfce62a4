import 'reflect-metadata';
import cluster from 'node:cluster';
import pino from 'pino';
import { ConfigError, loadConfig } from './config';
import { createGateway } from './gateway';
import { mintToken } from './auth/token';
import { runCluster, WORKER_INDEX_ENV } from './server/cluster';
import { withDemoPartnerCenter } from './seed/demo-partner-center';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = pino({ level: config.logLevel });
  if (config.workers > 1 && cluster.isPrimary) return runCluster(config, log);
  const demoPartnerCenter = await withDemoPartnerCenter(config);
  if (demoPartnerCenter) config = demoPartnerCenter.config;
  const gateway = await createGateway(config, log);
  const url = `http://localhost:${gateway.port}/graphql`;
  log.info({ url }, 'consent-gateway ready');

  const firstWorker = (process.env[WORKER_INDEX_ENV] ?? '0') === '0';
  if (firstWorker && gateway.demo?.users.length && config.jwt.secret && !config.production) {
    const lines = [`\nconsent-gateway is up: ${url}`, gateway.demo.seededNow ? 'Demo data loaded.' : 'Demo data present.', 'Demo tokens (paste as "Authorization: Bearer <token>"):'];
    for (const u of gateway.demo.users) {
      const token = await mintToken(config.jwt.secret, u);
      lines.push(`\n  ${u.roles.join(',')}${u.partnerName ? ` @ ${u.partnerName}` : ''} (${u.sub}):\n  ${token}`);
    }
    if (demoPartnerCenter) lines.push('', ...demoPartnerCenter.lines);
    console.log(lines.join('\n') + '\n');
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    try {
      await gateway.stop();
      await demoPartnerCenter?.sim.close();
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
