/**
 * Writes a new migration for whatever the entities have that the migrations do not:
 *   npm run migration:create
 * It diffs against a scratch database brought up to date by the committed migrations.
 */
import 'reflect-metadata';
import { Client } from 'pg';
import { initOrm } from '../src/db/orm';
import { entities } from '../src/features';
import { migrate } from '../src/db/migrate';

async function main() {
  const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const scratch = `cg_migration_${Date.now()}`;
  const admin = new Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${scratch}`);
  const url = new URL(base);
  url.pathname = `/${scratch}`;
  try {
    const orm = await initOrm(url.toString(), entities);
    await migrate(orm);
    const result = await orm.getMigrator().createMigration(undefined, false, process.argv.includes('--initial'));
    console.log(result.fileName ? `wrote migrations/${result.fileName}` : 'entities and migrations agree: nothing to write');
    await orm.close();
  } finally {
    await admin.query(`drop database ${scratch} with (force)`);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
