import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, ManyToOne, OneToOne, PrimaryKey, Property, Unique, OptionalProps } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { Customer } from '../customers/customer.entity';
import { Partner } from '../partners/partner.entity';
import { DriftKind } from './reconciliation.enums';

/**
 * One drift of a (customer, billing partner) pair. At most one OPEN row per customer,
 * partner and kind (a partial unique index): a run that finds it again moves
 * `detectedAt` (and refreshes `detail`, while `firstDetail` and the acceptance stay as the
 * audit trail's DRIFT_DETECTED event recorded them: the trail is hash-chained); a run that checks the customer and no longer
 * finds it sets `resolvedAt`. Found again later, it opens a new row, so the table is the
 * drift's history and a re-run never duplicates it. `detail` never holds a contact value.
 */
@ObjectType('AcceptanceDrift', { description: 'A difference between the gateway and Partner Center for one customer and billing partner' })
@Entity({ tableName: 'acceptance_drift' })
@Unique({
  name: 'acceptance_drift_one_open',
  expression: 'create unique index "acceptance_drift_one_open" on "acceptance_drift" ("customer_id", "partner_id", "kind") where "resolved_at" is null',
})
@Index({ properties: ['partner', 'firstDetectedAt', 'id'] })
// The all-partners page in keyset order (Migration20261204120000, built concurrently).
@Index({ name: 'acceptance_drift_first_detected_at_id_index', properties: ['firstDetectedAt', 'id'] })
export class AcceptanceDriftRecord {
  [OptionalProps]?: 'id' | 'firstDetectedAt' | 'detectedAt';

  @Field(() => ID, { description: 'The drift id' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Customer, { deleteRule: 'cascade', index: true })
  customer!: Customer;

  /** The billing partner whose Partner Center account was read. */
  @ManyToOne(() => Partner, { deleteRule: 'cascade' })
  partner!: Partner;

  @Field(() => DriftKind, { description: 'What differs' })
  @Enum({ items: () => DriftKind })
  kind!: DriftKind;

  @Field({ description: 'What was found and what the gateway did, in words; never a contact value' })
  @Property({ type: 'text' })
  detail!: string;

  /** `detail` when first found: the audit event's note, never changed (src/audit/audit.chain.ts hashes it). */
  @Property({ type: 'text' })
  firstDetail!: string;

  /** The local acceptance concerned (the active one, or the one imported). */
  @Property({ type: 'uuid', nullable: true })
  acceptanceId?: string | null;

  @Field({ description: 'When a reconciliation first found this drift' })
  @Property({ columnType: 'timestamptz' })
  firstDetectedAt: Date = new Date();

  @Field({ description: 'When a reconciliation last found it' })
  @Property({ columnType: 'timestamptz' })
  detectedAt: Date = new Date();

  @Field(() => Date, { nullable: true, description: 'When a later reconciliation no longer found it; null while open' })
  @Property({ columnType: 'timestamptz', nullable: true })
  resolvedAt?: Date | null;
}

/**
 * The last reconciliation of a partner. The row is also the run's lease: a run takes it
 * (`leaseUntil` in the future) or finds it taken, so one partner is reconciled by one
 * run at a time across every instance, scheduled or on demand.
 */
@Entity({ tableName: 'partner_center_reconciliations' })
export class ReconciliationRun {
  [OptionalProps]?: 'checked' | 'failed' | 'driftFound';

  @OneToOne({ entity: () => Partner, primary: true, owner: true, deleteRule: 'cascade', fieldName: 'partner_id' })
  partner!: Partner;

  @Property({ columnType: 'timestamptz' })
  startedAt!: Date;

  @Property({ columnType: 'timestamptz', nullable: true })
  finishedAt?: Date | null;

  @Property({ columnType: 'timestamptz' })
  leaseUntil!: Date;

  @Property()
  checked: number = 0;

  @Property()
  failed: number = 0;

  @Property()
  driftFound: number = 0;
}

/**
 * Drift rows per billing partner and open/resolved (Migration20261211100000), moved by
 * statement triggers on `acceptance_drift` in the writer's transaction: the count of
 * `acceptanceDrift` for a viewer who sees every customer (src/reconciliation/reconciliation.queries.ts).
 */
@Entity({ tableName: 'acceptance_drift_counts' })
export class AcceptanceDriftCount {
  @PrimaryKey({ type: 'uuid' })
  partnerId!: string;

  @PrimaryKey({ type: 'boolean' })
  open!: boolean;

  @Property({ type: 'bigint' })
  n!: string;
}
