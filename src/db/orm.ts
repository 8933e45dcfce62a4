import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { MikroORM, Options, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { MigrationObject } from '@mikro-orm/core';
import { Setting } from './setting.entity';
import type { DatabaseSessionLimits } from '../config';

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

/** An entity or embeddable class, as the ORM takes it. */
type Entity = NonNullable<Options['entities']>[number];

/**
 * `entities`: the features' (src/features.ts), beside the database's own settings table.
 * `pool.max`: DATABASE_POOL_MAX (src/config); 20 lets 32 concurrent readers wait less for a connection.
 * `pool.idleTimeoutMs`: DATABASE_POOL_IDLE_TIMEOUT_MS (src/config, 10 min): a new connection is cold.
 * `session`: timeouts every pooled session starts with, so no request can hold a statement
 * or an open transaction for long (a client that stalls mid-upload, a runaway statement);
 * work that legitimately runs longer raises its own with `SET LOCAL` in its transaction.
 */
function ormOptions(clientUrl: string, entities: readonly Entity[], extra: Partial<Options> = {}, pool: PoolSize = {}, session?: DatabaseSessionLimits): Options {
  return {
    driver: PostgreSqlDriver,
    clientUrl,
    entities: [...entities, Setting],
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
    // Fail fast while the database is down (SERVICE_UNAVAILABLE in seconds, not knex's
    // 60 s default), and recover by itself: broken connections are dropped, new ones made.
    pool: {
      min: 0,
      max: pool.max ?? 20,
      acquireTimeoutMillis: 5_000,
      createTimeoutMillis: 3_000,
      idleTimeoutMillis: pool.idleTimeoutMs ?? 600_000,
      createRetryIntervalMillis: 200,
    },
    driverOptions: {
      connection: {
        connectionTimeoutMillis: 3_000,
        keepAlive: true,
        // Sent as start-up parameters by pg; 0 (off) is not sent.
        ...(session ? { statement_timeout: session.statementTimeoutMs, idle_in_transaction_session_timeout: session.idleInTransactionTimeoutMs } : {}),
        // JIT off: reads that answer from a derived table or live in one statement
        // (src/kernel/derived.ts) are planned at the live branch's cost, and JIT would compile
        // that branch (up to a second) on every run without executing it. Short OLTP statements
        // gain nothing from it.
        // Generic plans for the prepared statements (src/db/query.ts): PostgreSQL otherwise plans
        // a statement anew on every run while its generic plan looks costlier than the custom
        // ones, and the never-run live branch of those reads makes it look so once the tables are
        // large: at 1,000,000 customers a Customers page by status planned 1.6 ms per statement
        // that ran in 0.4 (2.8 ms against 0.8 at 10,000). Their texts are written for one plan
        // (keys, ordered ranges, materialized steps). Measured in BENCHMARKS.md (issue 23).
        // Behind a transaction pooler: set both on the role (docs/deployment.md).
        ...(session ? { options: '-c jit=off -c plan_cache_mode=force_generic_plan' } : {}),
      },
      // knex would print pool warnings ("Connection Error: ...") to the console; they go to the ORM log.
      log: { warn: (m: unknown) => extra.logger?.(`knex: ${m}`), error: (m: unknown) => extra.logger?.(`knex: ${m}`), debug: () => {}, deprecate: () => {} },
    },
    // Entities are created from code; the identity map is per forked EntityManager.
    allowGlobalContext: false,
    forceUtcTimezone: true,
    ...extra,
  };
}

/** The pool's size and how long an unused connection is kept (defaults: 20, 10 min). */
export interface PoolSize {
  max?: number;
  idleTimeoutMs?: number;
}

export async function initOrm(clientUrl: string, entities: readonly Entity[], extra: Partial<Options> = {}, pool: PoolSize = {}, session?: DatabaseSessionLimits): Promise<MikroORM> {
  return MikroORM.init(ormOptions(clientUrl, entities, extra, pool, session));
}
