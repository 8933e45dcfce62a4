import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstUnenterableFolder } from '../../src/db/embedded';
import { TEST_SECRET, untilReady } from '../support/gateway';
import { freePort } from '../hardening/child-postgres';

const ROOT = join(__dirname, '..', '..');
jest.setTimeout(120_000);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls until the process is gone; false if it is still there after `limitMs` (a bound, not a measurement). */
async function untilGone(pid: number, limitMs = 30_000): Promise<boolean> {
  for (const deadline = Date.now() + limitMs; Date.now() < deadline; ) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

const postmasterPid = (dataDir: string) => Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

async function gatewayEnv(dataDir: string, port: number): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), PORT: String(port), JWT_SECRET: TEST_SECRET, SEED_DEMO: 'false', LOG_LEVEL: 'info', RENEWAL_SCAN_ON_START: 'false' };
  delete env.NODE_ENV;
  delete env.DATABASE_URL;
  return env;
}

/** How a supervisor, a terminal or a container runtime stops `npm start`, and what a SIGKILL leaves behind. */
describe('npm start under a supervisor, on its embedded PostgreSQL', () => {
  const dataDirs: string[] = [];
  const children: ChildProcess[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-supervised-'));
    chmodSync(dir, 0o755); // as a user's .data folder: the database's own user must reach the pg folder inside
    dataDirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s to the npm process reaches the gateway, which stops its database and exits with 0', async (signal) => {
    const dir = dataDir();
    const port = await freePort();
    const npm = spawn('npm', ['start'], { cwd: ROOT, env: await gatewayEnv(dir, port), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(npm);
    let output = '';
    npm.stdout!.on('data', (chunk) => (output += String(chunk)));
    npm.stderr!.on('data', (chunk) => (output += String(chunk)));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    await untilReady(port, 900);
    const postgres = postmasterPid(dir);

    npm.kill(signal);
    expect(await exited).toBe(0);
    expect(output).toContain('"msg":"shutting down"');
    expect(await untilGone(postgres)).toBe(true);
    expect(await fetch(`http://127.0.0.1:${port}/healthz`).then(() => 'answered', () => 'refused')).toBe('refused');
  });

  it('a SIGKILLed gateway (no handler runs) leaves no PostgreSQL behind, and the next start succeeds', async () => {
    const dir = dataDir();
    const port = await freePort();
    const env = await gatewayEnv(dir, port);
    const start = () => {
      const child = spawn(process.execPath, ['-r', 'reflect-metadata', '-r', '@swc-node/register', 'src/main.ts'], { cwd: ROOT, env, stdio: 'ignore' });
      children.push(child);
      return child;
    };
    const first = start();
    await untilReady(port, 900);
    const postgres = postmasterPid(dir);

    first.kill('SIGKILL');
    expect(await untilGone(postgres)).toBe(true);

    const second = start();
    const exited = new Promise<number | null>((resolve) => second.once('exit', (code) => resolve(code)));
    await untilReady(port, 900);
    expect(await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status)).toBe(200);
    second.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('the embedded PostgreSQL started by root in a private folder', () => {
  const privateDir = mkdtempSync(join(tmpdir(), 'cg-private-')); // mode 0700, as root's home
  afterAll(() => rmSync(privateDir, { recursive: true, force: true }));

  it('finds the first folder another user cannot enter, by owner, group and mode', () => {
    const stranger = { uid: 987_654, gid: 987_654 };
    expect(firstUnenterableFolder(join(privateDir, 'data', 'pg'), stranger)).toBe(privateDir);
    chmodSync(privateDir, 0o711);
    expect(firstUnenterableFolder(join(privateDir, 'data', 'pg'), stranger)).toBeUndefined();
    chmodSync(privateDir, 0o700);
    const owner = { uid: process.getuid!(), gid: -1 };
    expect(firstUnenterableFolder(join(privateDir, 'data', 'pg'), owner)).toBeUndefined();
  });

  it('npm start stops with one sentence that says why and what to do, no stack trace', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['-r', 'reflect-metadata', '-r', '@swc-node/register', 'src/main.ts'], {
      cwd: ROOT,
      env: await gatewayEnv(join(privateDir, 'data'), port),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    if (process.getuid!() === 0) {
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(
        `The embedded PostgreSQL runs as the "postgres" user when started by root, and that user cannot enter ${privateDir} (mode 0700): ` +
          'clone the project under a folder every user can enter (such as /srv or /opt), run npm as a non-root user, or set DATABASE_URL to a PostgreSQL server of your own.',
      );
    } else {
      // Not root: PostgreSQL runs as this user, who owns the folder; the gateway starts.
      expect(code).not.toBe(1);
    }
  });
});
