import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Services } from './context';
import { RuntimeSlot, type Feature } from './feature';
import type { DerivedTable } from './derived.types';
export type { DerivedTable } from './derived.types';
import { DerivedEpoch } from './derived-epoch.entity';
import { queryRows } from '../db/query';

/**
 * Derived tables kept right by the writes (issue 23): a table computed from the base
 * tables by rules written once in TypeScript (SQL generators), maintained in the
 * writer's own transaction by triggers. The triggers (created by the feature's migration)
 * call SQL functions whose bodies are generated from those rules and installed here at
 * start-up; the migration gives them a placeholder body that only invalidates the epoch.
 *
 * A derived table answers reads only while its epoch (`derived_epochs`) is current: rebuilt
 * under the functions installed now (`body_hash`) and valid today (statuses that depend on
 * "today" change on the next effective date: `valid_until`). Otherwise reads fall back to
 * the live SQL and the scheduler here rebuilds it: at start-up, after an invalidation,
 * and once today passes `valid_until`, never inside a request.
 */

/** Arbitrary but fixed: first key of the derived tables' transaction-level advisory locks. */
export const DERIVED_LOCK = 730_211;
/** Second key of the lock that serialises installs of every table's functions. */
const INSTALL_KEY = 0;

/** Today as the epoch compares it: the UTC date, as the compliance rules use it. */
const TODAY = `(now() at time zone 'utc')::date`;

const hashes = new WeakMap<DerivedTable, string>();

/** The hash of the table's generated functions (what `body_hash` holds once installed). */
export function derivedHash(table: DerivedTable): string {
  let hash = hashes.get(table);
  if (!hash) {
    hash = createHash('sha256').update(table.functions().join('\n;\n')).digest('hex');
    hashes.set(table, hash);
  }
  return hash;
}

/**
 * A SQL condition, true when `table` may answer reads now: its epoch was rebuilt under the
 * functions this code generates and today lies in [valid_from, valid_until). Put it in the
 * read's own statement (the epoch and the rows are then read in one snapshot).
 */
export function derivedValidSql(table: DerivedTable): { sql: string; params: unknown[] } {
  return {
    sql: `exists (select 1 from derived_epochs de where de.name = ? and de.body_hash = ?
                    and de.valid_from <= ${TODAY} and ${TODAY} < de.valid_until)`,
    params: [table.name, derivedHash(table)],
  };
}

/**
 * Rows of `derived` while `table` is valid, else of `live` (same columns), in ONE statement
 * either way (a request's statement count does not depend on the epoch): both branches gated
 * by the validity check, which PostgreSQL evaluates once, first (an init plan), so the other
 * branch is never executed. Each branch is fenced (`offset 0`) so that the gate stays above
 * it and a parallel plan below is not even started. Such a statement is planned at the cost
 * of its live branch: with JIT on, PostgreSQL would compile it at every run, which is why the
 * gateway's sessions run with jit off (src/db/orm.ts). `orderBy` orders the rows (columns of `q`).
 */
export async function queryDerivedOrLive<R extends object>(
  em: EntityManager,
  table: DerivedTable,
  derived: { sql: string; params: unknown[] },
  live: { sql: string; params: unknown[] },
  orderBy?: string,
): Promise<R[]> {
  const valid = derivedValidSql(table);
  return queryRows<R>(
    em,
    `select q.* from (
        select * from (${derived.sql} offset 0) d where ${valid.sql}
        union all
        select * from (${live.sql} offset 0) l where not ${valid.sql}) q${orderBy ? ` order by ${orderBy}` : ''}`,
    [...derived.params, ...valid.params, ...live.params, ...valid.params],
  );
}

/** The same check as one statement (tests, tools; reads put `derivedValidSql` in their own statement). */
export async function isDerivedValid(em: EntityManager, table: DerivedTable): Promise<boolean> {
  const valid = derivedValidSql(table);
  const [row] = await queryRows<{ ok: boolean }>(em, `select ${valid.sql} as ok`, valid.params);
  return row!.ok;
}

/** Marks the table for a rebuild (what the migration's `derived_invalidate` trigger does on a global write). */
export async function invalidateDerived(em: EntityManager, table: DerivedTable): Promise<void> {
  await queryRows(em, `update derived_epochs set valid_until = '-infinity' where name = ?`, [table.name]);
}

/**
 * Installs the tables' generated functions where their hash differs from the stored one
 * (`create or replace`; the stored hash is updated and the epoch invalidated, so the table
 * is rebuilt under the new rule). Under a transaction-level advisory lock: instances
 * starting together install one after the other, the later ones finding nothing to do.
 * Returns the names of the tables whose functions were (re)installed.
 */
export async function installDerivedFunctions(em: EntityManager, tables: readonly DerivedTable[]): Promise<string[]> {
  if (!tables.length) return [];
  return em.transactional(async (tx) => {
    await queryRows(tx, 'select pg_advisory_xact_lock(?::int, ?::int)', [DERIVED_LOCK, INSTALL_KEY]);
    const rows = await queryRows<{ name: string; body_hash: string | null }>(tx, 'select name, body_hash from derived_epochs where name = any(?::text[])', [tables.map((t) => t.name)]);
    const stored = new Map(rows.map((r) => [r.name, r.body_hash]));
    const installed: string[] = [];
    for (const table of tables) {
      if (!stored.has(table.name)) throw new Error(`derived table ${table.name} has no derived_epochs row: its migration inserts one`);
      const hash = derivedHash(table);
      if (stored.get(table.name) === hash) continue;
      for (const statement of table.functions()) await queryRows(tx, statement);
      await queryRows(tx, `update derived_epochs set body_hash = ?, valid_until = '-infinity' where name = ?`, [hash, table.name]);
      installed.push(table.name);
    }
    return installed;
  });
}

/**
 * The rows of `fresh` (a SELECT of a rebuild's staging rows, in the order of `columns`) that
 * `table` lacks: an EXCEPT (hashed) after the rebuild's deletes and updates, or, into an empty
 * table (a seed, a first rebuild), `fresh` as it is: hashing every row to take away nothing
 * cost the seeder's compliance directory about a third of its insert at 1M.
 */
export async function rowsToInsertSql(tx: EntityManager, fresh: string, table: string, columns: string): Promise<string> {
  const [row] = await queryRows<{ empty: boolean }>(tx, `select not exists (select 1 from ${table}) as empty`);
  return row!.empty ? fresh : `${fresh} except select ${columns} from ${table}`;
}

/**
 * Rebuilds `table` in one transaction (its rows, then its epoch) unless, once its lock is
 * held, the epoch is current and valid today (another instance rebuilt it meanwhile) and
 * `force` is not set. The epoch row is locked first, so a global write that would
 * invalidate it waits for the rebuild and then invalidates the rebuilt epoch: no write
 * is lost between the rebuild's snapshot and its commit. Returns whether it rebuilt.
 */
export async function rebuildDerived(em: EntityManager, table: DerivedTable, opts: { force?: boolean } = {}): Promise<boolean> {
  return em.transactional(async (tx) => {
    // A rebuild of a large table legitimately outlasts the sessions' statement timeout.
    await queryRows(tx, 'set local statement_timeout = 0');
    // Writers wait for a rebuild's locks; a rebuild waits for theirs only so long, then retries at the next poll.
    await queryRows(tx, "set local lock_timeout = '10s'");
    await queryRows(tx, 'select pg_advisory_xact_lock(?::int, hashtext(?))', [DERIVED_LOCK, table.name]);
    const valid = derivedValidSql(table);
    const [epoch] = await queryRows<{ ok: boolean }>(tx, `select ${valid.sql} as ok from derived_epochs where name = ? for update`, [...valid.params, table.name]);
    if (!epoch) throw new Error(`derived table ${table.name} has no derived_epochs row: its migration inserts one`);
    if (epoch.ok && !opts.force) return false;
    await queryRows(tx, `select set_config('consent.derived_rebuild', ?, true)`, [table.name]);
    await table.rebuild(tx as EntityManager);
    await queryRows(tx, `select set_config('consent.derived_rebuild', '', true)`);
    await queryRows(
      tx,
      `update derived_epochs set valid_from = ${TODAY}, valid_until = coalesce((${table.validUntilSql}), 'infinity'::date), rebuilt_at = now()
        where name = ?`,
      [table.name],
    );
    return true;
  });
}

/**
 * Installs the tables' functions and rebuilds them now, current or not (tools: the bench
 * seeder after a COPY with the triggers disabled). Needs no running gateway.
 */
export async function installAndRebuildDerived(em: EntityManager, tables: readonly DerivedTable[], opts: { force?: boolean } = { force: true }): Promise<void> {
  await installDerivedFunctions(em, tables);
  for (const table of tables) await rebuildDerived(em, table, opts);
}

/** How often an instance looks for invalidated or expired epochs (one small statement). */
export const DERIVED_POLL_MS = 10_000;

/**
 * One gateway's rebuild scheduler: installs the functions at start-up and rebuilds what is
 * not current (awaited, so a started gateway answers from the derived tables); then polls
 * the epochs and rebuilds invalidated or expired ones, one at a time, outside any request.
 * `stop` ends the timer and waits for a rebuild under way.
 */
export class DerivedScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly services: Pick<Services, 'orm' | 'log'>,
    readonly tables: readonly DerivedTable[],
    private readonly pollMs = DERIVED_POLL_MS,
  ) {}

  async start(): Promise<void> {
    if (!this.tables.length) return;
    const installed = await installDerivedFunctions(this.services.orm.em.fork() as EntityManager, this.tables);
    if (installed.length) this.services.log.info({ installed }, 'derived tables: functions installed');
    await this.rebuildStale();
    this.timer = setInterval(() => void this.rebuildStale(), this.pollMs);
    this.timer.unref();
  }

  /** Rebuilds every table whose epoch is not valid now (one run at a time); failures are logged, retried at the next poll. */
  rebuildStale(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return (this.running ??= this.run().finally(() => (this.running = undefined)));
  }

  /** Rebuilds `name` now even when current (tools, tests). */
  async rebuild(name: string, opts: { force?: boolean } = {}): Promise<boolean> {
    const table = this.tables.find((t) => t.name === name);
    if (!table) throw new Error(`no derived table ${name}`);
    await this.running;
    return rebuildDerived(this.services.orm.em.fork() as EntityManager, table, opts);
  }

  private async run(): Promise<void> {
    const em = this.services.orm.em.fork() as EntityManager;
    let stale: string[];
    try {
      const rows = await queryRows<{ name: string }>(
        em,
        `select name from derived_epochs where name = any(?::text[]) and not (valid_from <= ${TODAY} and ${TODAY} < valid_until)`,
        [this.tables.map((t) => t.name)],
      );
      stale = rows.map((r) => r.name);
    } catch (err) {
      this.services.log.warn({ err }, 'derived tables: epochs not read');
      return;
    }
    for (const name of stale) {
      if (this.stopped) return;
      const started = Date.now();
      try {
        if (await rebuildDerived(em, this.tables.find((t) => t.name === name)!)) {
          this.services.log.info({ table: name, ms: Date.now() - started }, 'derived table rebuilt');
        }
      } catch (err) {
        this.services.log.warn({ err, table: name }, 'derived table rebuild failed; reads use the live SQL until it succeeds');
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}

/** The running scheduler of a gateway (tests and tools reach `rebuild` through it). */
export const derivedRuntime = new RuntimeSlot<DerivedScheduler>('derived tables');

/**
 * The kernel's feature: listed last in src/features.ts (started after every other feature,
 * stopped first, before the database closes), it runs the scheduler over the derived
 * tables the features declare (`Feature.derived`).
 */
export function derivedTablesFeature(features: () => readonly Feature<unknown>[]): Feature<DerivedScheduler> {
  return {
    name: 'derived tables',
    entities: [DerivedEpoch],
    runtime: derivedRuntime,
    async start(services) {
      const scheduler = new DerivedScheduler(services, features().flatMap((f) => f.derived ?? []));
      await scheduler.start();
      return scheduler;
    },
    stop: (scheduler) => scheduler.stop(),
  };
}
