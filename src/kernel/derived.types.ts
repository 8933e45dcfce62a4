import type { EntityManager } from '@mikro-orm/postgresql';

/** A table derived from the base tables, as a feature declares it (`Feature.derived`; the mechanism: src/kernel/derived.ts). */
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
