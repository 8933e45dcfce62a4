/** Applies the committed migrations: `npm run migrate` (DATABASE_URL, else the embedded PostgreSQL). */
import 'reflect-metadata';
import { loadConfig } from '../src/config';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { initOrm } from '../src/db/orm';
import { entities } from '../src/features';
import { migrate, withStartupLock } from '../src/db/migrate';

async function main() {
  const config = loadConfig();
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(`${config.dataDir}/pg`, config.embeddedPgPort);
  const url = config.databaseUrl ?? embedded!.url;
  const orm = await initOrm(url, entities, { logger: () => undefined });
  try {
    const applied = await withStartupLock(url, () => migrate(orm));
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'the database is up to date');
  } finally {
    await orm.close();
    await embedded?.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
