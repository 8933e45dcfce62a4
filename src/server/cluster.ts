import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded';

/** Set in each worker's environment: its index, so exactly one (0) prints the demo tokens. */
export const WORKER_INDEX_ENV = 'GATEWAY_WORKER_INDEX';

/** How long workers get to drain on shutdown before they are killed. */
const STOP_GRACE_MS = 10_000;

/**
 * The primary of `WORKERS` > 1: node is single-threaded, so one gateway process uses
 * one core. The workers are ordinary gateway instances sharing the listening port
 * (node's cluster hands connections round-robin) and one database; everything that
 * must happen once across instances is already safe for that (migrations under an
 * advisory lock, alerts through LISTEN/NOTIFY, pg-boss jobs). Without DATABASE_URL the
 * primary owns the embedded PostgreSQL, so it starts once and stops last.
 * A worker that dies after start-up is replaced; one that dies before it ever listened
 * stops the whole cluster, since its replacement would fail the same way.
 */
export async function runCluster(config: Config, log: Logger): Promise<void> {
  let embedded: EmbeddedDatabase | undefined;
  const env: NodeJS.ProcessEnv = {};
  if (!config.databaseUrl) {
    // Stopped last, after the workers: this primary handles SIGINT/SIGTERM.
    embedded = await startEmbeddedPostgres(`${config.dataDir}/pg`, config.embeddedPgPort, undefined, false);
    env.DATABASE_URL = embedded.url;
    log.info({ port: config.embeddedPgPort, dir: `${config.dataDir}/pg` }, 'embedded PostgreSQL started');
  }

  let stopping: Promise<void> | undefined;
  const workers = new Set<Worker>();
  const stop = (code: number) =>
    (stopping ??= (async () => {
      const exits = [...workers].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
      for (const w of workers) w.process.kill('SIGTERM');
      const killer = setTimeout(() => {
        for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
      }, STOP_GRACE_MS);
      await Promise.all(exits);
      clearTimeout(killer);
      await embedded?.stop().catch((err) => log.error({ err }, 'embedded PostgreSQL did not stop cleanly'));
      process.exit(code);
    })());

  const fork = (index: number) => {
    const worker = cluster.fork({ ...env, [WORKER_INDEX_ENV]: String(index) });
    let listening = false;
    workers.add(worker);
    worker.once('listening', () => (listening = true));
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) return;
      if (!listening) {
        log.error({ worker: index, code, signal }, 'a worker failed to start; stopping');
        void stop(1);
        return;
      }
      log.warn({ worker: index, code, signal }, 'a worker exited; starting another');
      fork(index);
    });
  };
  for (let i = 0; i < config.workers; i++) fork(i);
  log.info({ workers: config.workers, port: config.port }, 'consent-gateway cluster started');

  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
}
