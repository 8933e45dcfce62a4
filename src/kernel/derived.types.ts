import type { EntityManager } from '@mikro-orm/postgresql';

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
export interface DerivedTable {
  /** Its `derived_epochs` row (inserted by the migration that creates the table). */
  readonly name: string;
  /** `create or replace function` statements generated from the rules in code; installed at start-up. */
  functions(): string[];
  /**
   * Refills the table in the rebuild's transaction `tx` (delete and insert ... select). The
   * kernel has already taken the table's rebuild lock and set `consent.derived_rebuild` to
   * the table's name, which the table's own triggers may check to skip per-row work.
   */
  rebuild(tx: EntityManager): Promise<void>;
  /**
   * A SQL expression, evaluated in the rebuild's transaction: the first day after today on
   * which the rebuilt rows may be wrong without any write (the next effective date), or
   * null when none is known.
   */
  readonly validUntilSql: string;
}
