import { Client } from 'pg';
import { initOrm } from '../../src/db/orm';
import { migrate } from '../../src/db/migrate';
import { entities } from '../../src/features';
import { freshDatabase } from './database';

/**
 * For a migration test: a fresh database migrated up to `release` (a previous release's
 * schema), with an ORM and a client on it. `close` ends both; the caller drops `db`.
 */
export async function previousReleaseDatabase(release: string) {
  const db = await freshDatabase();
  const orm = await initOrm(db.url, entities);
  const c = new Client({ connectionString: db.url });
  await c.connect();
  await migrate(orm, { to: release });
  return { db, orm, c, close: async () => (await c.end(), await orm.close()) };
}

/** Whether each of the named indexes exists and is valid (a failed `create index concurrently` leaves one invalid). */
export async function indexValidity(c: Client, names: readonly string[]): Promise<Record<string, boolean>> {
  const { rows } = await c.query(`select x.relname as name, i.indisvalid as valid from pg_index i join pg_class x on x.oid = i.indexrelid where x.relname = any($1)`, [names]);
  return Object.fromEntries(rows.map((r) => [r.name, r.valid]));
}
