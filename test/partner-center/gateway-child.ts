/**
 * A gateway in its own process, so a test can SIGKILL it mid-delivery:
 *   node -r reflect-metadata -r @swc-node/register test/partner-center/gateway-child.ts
 * Configuration overrides come as JSON in CHILD_CONFIG; it prints `ready <port>` once listening.
 */
import 'reflect-metadata';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config';
import { createGateway } from '../../src/gateway';
import { TEST_SECRET } from '../support/gateway';

const overrides = JSON.parse(process.env.CHILD_CONFIG ?? '{}') as Partial<Config>;
const base = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_SECRET, SEED_DEMO: 'false' });
createGateway({ ...base, port: 0, seedDemo: false, logLevel: 'silent', ...overrides }, pino({ level: 'silent' })).then(
  (gw) => process.stdout.write(`ready ${gw.port}\n`),
  (err) => {
    process.stderr.write(`child gateway failed: ${err}\n`);
    process.exit(1);
  },
);
