import { Client } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';

/** Arbitrary but fixed: every gateway instance takes the same advisory lock. */
const STARTUP_LOCK = 7_302_118_401;

/**
 * Runs `work` while holding a PostgreSQL session advisory lock, so that of several
 * instances starting at once on one database exactly one migrates and seeds while
 * the others wait, then find nothing left to do.
 */
export async function withStartupLock<T>(clientUrl: string, work: () => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: clientUrl });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [STARTUP_LOCK]);
    try {
      return await work();
    } finally {
      await client.query('select pg_advisory_unlock($1)', [STARTUP_LOCK]);
    }
  } finally {
    await client.end();
  }
}

export async function migrate(orm: MikroORM): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}
