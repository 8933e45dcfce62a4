import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshDatabase } from '../support/database';
import { gql, platformAdminToken, TEST_SECRET, untilReady } from '../support/gateway';
import { freePort } from '../hardening/child-postgres';

const ROOT = join(__dirname, '..', '..');

jest.setTimeout(60_000);

/** The pids of a process's children, from /proc (the parent pid follows the command name in `stat`). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/**
 * `WORKERS=2 npm start`: two gateway processes share the port and the database, so
 * the gateway uses more than one core; SIGTERM to the primary stops them all.
 */
describe('src/main.ts with WORKERS', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let primary: ChildProcess | undefined;

  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    if (primary && primary.exitCode === null) primary.kill('SIGKILL');
    await db?.drop();
  });

  it('serves from two worker processes on one port, and SIGTERM to the primary stops them all with exit code 0', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, WORKERS: '2', DATABASE_URL: db.url, PORT: String(port), JWT_SECRET: TEST_SECRET, SEED_DEMO: 'false', LOG_LEVEL: 'silent', RENEWAL_SCAN_ON_START: 'false' };
    delete env.NODE_ENV;
    primary = spawn(process.execPath, ['-r', 'reflect-metadata', '-r', '@swc-node/register', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => primary!.once('exit', (code) => resolve(code)));

    // Ready when both workers answer: each new connection goes to the next worker.
    let workers: number[] = [];
    for (let i = 0; i < 400 && workers.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      workers = childrenOf(primary.pid!);
    }
    expect(workers).toHaveLength(2);
    await untilReady(port);
    const token = await platformAdminToken();
    const answers = await Promise.all(Array.from({ length: 8 }, () => gql(`http://127.0.0.1:${port}/graphql`, '{ viewer { roles } }', {}, token)));
    for (const res of answers) expect(res.data).toEqual({ viewer: { roles: ['PLATFORM_ADMIN'] } });

    primary.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  });
});
