import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { MikroORM, Options, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { MigrationObject } from '@mikro-orm/core';
import { entities } from './entities';

/** The committed migrations folder, from `src/db` or from `dist/src/db`. */
export const MIGRATIONS_DIR = join(__dirname, '..', '..', 'migrations');

/** Loads every committed migration, in file-name (timestamp) order. */
function migrationsList(): MigrationObject[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^Migration\d+.*\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .sort()
    .map((file) => {
      const name = basename(file).replace(/\.(ts|js)$/, '');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(join(MIGRATIONS_DIR, file));
      return { name, class: mod[name] ?? Object.values(mod)[0] } as MigrationObject;
    });
}

export function ormOptions(clientUrl: string, extra: Partial<Options> = {}): Options {
  return {
    driver: PostgreSqlDriver,
    clientUrl,
    entities,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: true },
    migrations: {
      tableName: 'mikro_orm_migrations',
      path: MIGRATIONS_DIR,
      pathTs: MIGRATIONS_DIR,
      emit: 'ts',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      migrationsList: migrationsList(),
    },
    pool: { min: 0, max: 10 },
    // Entities are created from code; the identity map is per forked EntityManager.
    allowGlobalContext: false,
    forceUtcTimezone: true,
    ...extra,
  };
}

export async function initOrm(clientUrl: string, extra: Partial<Options> = {}): Promise<MikroORM> {
  return MikroORM.init(ormOptions(clientUrl, extra));
}
