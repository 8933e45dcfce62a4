import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded';

/**
 * Tests run against a real PostgreSQL: the one at DATABASE_URL when set, else an
 * embedded one started here once for the whole run (each test file then makes
 * its own fresh database on it).
 */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.TEST_ADMIN_DATABASE_URL = process.env.DATABASE_URL;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'cg-test-pg-'));
  const port = await freePort();
  // Two jest workers, each starting gateways (a pool of 20, pg-boss's pools, listeners) and
  // clients of their own: PostgreSQL's default 100 connections ran out on a slow machine.
  const db = await startEmbeddedPostgres(dir, port, 'postgres', true, { max_connections: '300' });
  process.env.TEST_ADMIN_DATABASE_URL = db.url;
  (globalThis as Record<string, unknown>).__embeddedPg = { db, dir };
}
