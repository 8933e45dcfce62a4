import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/**
 * One link of the tamper-evident audit trail (DESIGN.md section 13, src/audit/audit.chain.ts):
 * an event of a (customer, partner) trail as it was when it was chained, its canonical JSON
 * and the SHA-256 over the previous link's hash and that text. Appended in the transaction
 * that records the event, never updated; `seq` counts from 1 per pair, and the primary key
 * makes sure no two links claim the same predecessor.
 */
@Entity({ tableName: 'audit_chain' })
@Unique({ properties: ['customerId', 'partnerId', 'eventKey'] })
export class AuditChainLink {
  @PrimaryKey({ type: 'uuid' })
  customerId!: string;

  @PrimaryKey({ type: 'uuid' })
  partnerId!: string;

  @PrimaryKey({ type: 'integer' })
  seq!: number;

  /** The event's identity in the derived trail (src/audit/audit.chain.ts, `eventKeySql`). */
  @Property({ type: 'text' })
  eventKey!: string;

  @Property({ type: 'text' })
  event!: string;

  @Property({ columnType: 'timestamptz' })
  at!: Date;

  /** The event's canonical JSON when chained (sorted keys, UTC times, no whitespace). */
  @Property({ type: 'text' })
  canonical!: string;

  /** SHA-256 (hex) of `prevHash` followed by `canonical`. */
  @Property({ type: 'text' })
  hash!: string;

  /** The previous link's hash; 64 zeros for the first. */
  @Property({ type: 'text' })
  prevHash!: string;

  @Property({ columnType: 'timestamptz' })
  chainedAt!: Date;
}
