import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Whether a derived table (src/kernel/derived.ts) may answer reads: rebuilt under the
 * functions whose hash is `bodyHash`, right from `validFrom` until the day before
 * `validUntil` (the next day a rule in force changes; '-infinity' once invalidated,
 * 'infinity' when no change is scheduled). Rows are inserted by the migration that
 * creates the derived table.
 */
@Entity({ tableName: 'derived_epochs' })
export class DerivedEpoch {
  @PrimaryKey({ type: 'text' })
  name!: string;

  @Property({ type: 'text', nullable: true })
  bodyHash?: string | null;

  @Property({ type: 'date', default: '-infinity' })
  validFrom!: string;

  @Property({ type: 'date', default: '-infinity' })
  validUntil!: string;

  @Property({ columnType: 'timestamptz', nullable: true })
  rebuiltAt?: Date | null;
}
