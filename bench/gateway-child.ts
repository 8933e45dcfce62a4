/**
 * The gateway under test, in its own process: the real start-up path
 * (`createGateway`, configuration from the environment), plus an IPC channel
 * through which the runner reads the SQL statements run and the memory used.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import pino from 'pino';
import { loadConfig } from '../src/config';
import { createGateway } from '../src/gateway';
import { serveIpc } from './lib';

async function main() {
  const config = loadConfig(process.env);
  const gateway = await createGateway(config, pino({ level: config.logLevel }));
  let statements = 0;
  // bench/scale.ts: the statements (text and values) between captureStart and captureStop.
  let captured: { sql: string; bindings: unknown }[] | null = null;
  gateway.orm.em.getConnection().getKnex().on('query', (q: { sql: string; bindings?: unknown }) => {
    statements++;
    captured?.push({ sql: q.sql, bindings: q.bindings ?? [] });
  });
  // CPU profile on demand (BENCH_PROFILE=1): the same format as `node --cpu-prof`.
  const inspector = new Session();
  inspector.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => inspector.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  serveIpc({
    statements: () => ({ statements }),
    captureStart: () => ((captured = []), {}),
    captureStop: () => {
      const list = captured ?? [];
      captured = null;
      return { captured: list };
    },
    profileStart: async () => (await post('Profiler.enable'), await post('Profiler.start'), {}),
    profileStop: async (m) => {
      const { profile } = await post('Profiler.stop');
      writeFileSync(m.file, JSON.stringify(profile));
      return { file: m.file };
    },
    // Without collecting first: what the process holds at this moment (sampled during a stream).
    memoryRaw: () => ({ memory: process.memoryUsage() }),
    memory: () => {
      // Two passes: the first frees, the second collects what finalizers released.
      (global as { gc?: () => void }).gc?.();
      (global as { gc?: () => void }).gc?.();
      return { memory: process.memoryUsage() };
    },
  });
  // Nothing to drain between workloads: a stop that hangs (a feature's shutdown) is cut short.
  process.on('SIGTERM', () => {
    setTimeout(() => process.exit(0), 3_000).unref();
    void gateway.stop().then(() => process.exit(0), () => process.exit(1));
  });
  process.send?.({ type: 'ready', port: gateway.port });
}

main().catch((err) => {
  process.send?.({ type: 'failed', error: String(err?.stack ?? err) });
  process.exit(1);
});
