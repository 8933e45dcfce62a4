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
  // One transaction for every pending migration (allOrNothing), free of the sessions'
  // statement timeout: building an index on a large table may take minutes.
  const applied = await orm.em.getConnection().transactional(async (trx) => {
    await orm.em.getConnection().execute('set local statement_timeout = 0', [], 'run', trx);
    return orm.getMigrator().up({ transaction: trx });
  });
  return applied.map((m) => m.name);
}
