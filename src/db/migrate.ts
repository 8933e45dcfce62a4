import { Client } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { sessionUrl } from './topology';

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
    // Tried, not waited for: a session blocked in pg_advisory_lock sits in a transaction with a
    // snapshot, and the holder's `create index concurrently` waits for every such transaction to
    // end, so the two would wait for each other for ever. Each try is a transaction of its own.
    while (!(await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [STARTUP_LOCK])).rows[0].locked) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    try {
      return await work();
    } finally {
      await client.query('select pg_advisory_unlock($1)', [STARTUP_LOCK]);
    }
  } finally {
    await client.end();
  }
}

/** Applies the pending migrations (up to and including `to`, when named: a previous release's database in tests). */
export async function migrate(orm: MikroORM, opts: { to?: string } = {}): Promise<string[]> {
  // Pending migrations in batches, each one transaction (allOrNothing within it), free of the
  // sessions' timeouts: building an index on a large table may take minutes. A migration that
  // must run outside a transaction (`create index concurrently`) is a batch of its own, after
  // the ones before it have committed: its statements run on a connection of their own, which
  // would otherwise wait for the locks of the uncommitted batch (and never get them).
  const migrator = orm.getMigrator();
  let pending = (await migrator.getPendingMigrations()).map((m) => m.name);
  if (opts.to) {
    if (!pending.includes(opts.to)) throw new Error(`migration ${opts.to} is not pending`);
    pending = pending.slice(0, pending.indexOf(opts.to) + 1);
  }
  const applied: string[] = [];
  for (let i = 0; i < pending.length; ) {
    let j = i + 1;
    if (isTransactional(orm, pending[i])) while (j < pending.length && isTransactional(orm, pending[j])) j++;
    const batch = pending.slice(i, j);
    const done = await orm.em.getConnection().transactional(async (trx) => {
      await orm.em.getConnection().execute('set local statement_timeout = 0', [], 'run', trx);
      await orm.em.getConnection().execute('set local idle_in_transaction_session_timeout = 0', [], 'run', trx);
      return migrator.up({ migrations: batch, transaction: trx });
    });
    applied.push(...done.map((m) => m.name));
    i = j;
  }
  return applied;
}

/** Whether a committed migration runs in a transaction (the default; `isTransactional()` false says not). */
function isTransactional(orm: MikroORM, name: string): boolean {
  const listed = (orm.config.get('migrations').migrationsList ?? []) as { name?: string; class?: unknown }[];
  const found = listed.find((m) => m.name === name);
  if (!found?.class) return true;
  const MigrationClass = found.class as new (driver: unknown, config: unknown) => { isTransactional(): boolean };
  return new MigrationClass(orm.em.getDriver(), orm.config).isTransactional();
}

/**
 * Runs a non-transactional migration's statements (`create index concurrently`) on a session
 * of its own (DATABASE_DIRECT_URL when set: behind a transaction pooler a session setting would
 * not follow the next statement to its server connection), free of the statement timeout.
 */
export async function onOwnConnection(config: object, work: (c: Client) => Promise<void>): Promise<void> {
  // A migration's `this.config` (the ORM's configuration, typed for any driver).
  const c = new Client({ connectionString: sessionUrl({ config } as Pick<MikroORM, 'config'>) });
  await c.connect();
  try {
    await c.query('set statement_timeout = 0');
    await work(c);
  } finally {
    await c.end();
  }
}

/**
 * Builds each index `concurrently` (writers keep writing while a large table is indexed),
 * unless a valid one of its name exists; one a failed run left invalid is dropped and built again.
 * `create` is the index's statement from `create index concurrently` on.
 */
export async function createIndexesConcurrently(c: Client, indexes: readonly { name: string; create: string }[]): Promise<void> {
  for (const index of indexes) {
    const { rows } = await c.query<{ valid: boolean }>(`select i.indisvalid as valid from pg_index i join pg_class x on x.oid = i.indexrelid where x.relname = $1`, [index.name]);
    if (rows[0]?.valid) continue;
    if (rows[0]) await c.query(`drop index concurrently if exists "${index.name}"`);
    await c.query(index.create);
  }
}
