import { ArrayType, Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Derived tables of renewal risks (issue 23), kept right in the writer's own transaction
 * by triggers (migrations/Migration20261204110000.ts) that call `renewal_facts_refresh`,
 * whose body the gateway generates at start-up from the SQL of the gate's facts
 * (src/renewals/renewal.derived.queries.ts). They hold stored facts only: what the facts
 * mean today (current agreements, policy rules) is judged at read time, so they need no
 * date horizon. Not read or written through the ORM: declared so that the schema check
 * knows them.
 */

/** One ACTIVE subscription: its place in renewal order, its parties and the fact set of its renewal. */
@Entity({ tableName: 'renewal_facts' })
@Index({ properties: ['renewsOn', 'subscriptionId'] })
@Index({ properties: ['partnerId', 'renewsOn', 'subscriptionId'] })
@Index({ properties: ['resellerId', 'renewsOn', 'subscriptionId'] })
export class RenewalFact {
  @PrimaryKey({ type: 'uuid' })
  subscriptionId!: string;

  @Property({ type: 'date' })
  renewsOn!: string;

  @Property({ type: 'uuid' })
  customerId!: string;

  @Property({ type: 'uuid' })
  partnerId!: string;

  @Property({ type: 'uuid', nullable: true })
  resellerId?: string | null;

  /** Whether the billing partner's users see the customer (src/auth/tenancy.ts): their own scope counts only these. */
  @Property({ type: 'boolean' })
  visibleToPartner!: boolean;

  /** Whether the reseller's users see the customer (false without a reseller). */
  @Property({ type: 'boolean' })
  visibleToReseller!: boolean;

  /** The fact set (renewal.facts.ts `factKey`, without the existing-customer fact). */
  @Property({ type: 'text' })
  factKey!: string;
}

/** The columns of each fact set ever seen (`GateFactColumns` without `existing`): few dozen rows; never deleted. */
@Entity({ tableName: 'renewal_fact_sets' })
export class RenewalFactSet {
  @PrimaryKey({ type: 'text' })
  factKey!: string;

  @Property({ type: 'text' })
  country!: string;

  @Property({ type: 'text' })
  cloud!: string;

  @Property({ type: 'text', nullable: true })
  directType?: string | null;

  @Property({ type: 'text', nullable: true })
  directOn?: string | null;

  @Property({ type: 'int', nullable: true })
  activeRank?: number | null;

  @Property({ type: 'text', nullable: true })
  activeType?: string | null;

  @Property({ type: 'text', nullable: true })
  activeDate?: string | null;

  @Property({ type: 'boolean' })
  withdrawn!: boolean;

  @Property({ type: 'boolean' })
  resold!: boolean;

  @Property({ type: 'boolean' })
  linked!: boolean;

  @Property({ type: 'boolean' })
  serving!: boolean;
}

/**
 * How many ACTIVE subscriptions of a scope ('all'; 'p:<partner id>' for the billing partner
 * and for the reseller; 'vp:<id>' / 'vr:<id>' for those the billing partner's / the reseller's
 * own users see) renew with a fact set in a span of 64 days (Migration20261207100000):
 * `cumulative[i]` counts those renewing on the span's first i days, so a window's count is
 * two subscripts per span it overlaps. Striped: a writer adds its deltas to the stripe of its
 * backend, so concurrent writers do not queue on one row; reads sum them.
 */
@Entity({ tableName: 'renewal_fact_counts' })
export class RenewalFactCount {
  @PrimaryKey({ type: 'text' })
  scope!: string;

  @PrimaryKey({ type: 'date' })
  spanStart!: string;

  @PrimaryKey({ type: 'text' })
  factKey!: string;

  @PrimaryKey({ type: 'smallint' })
  stripe!: number;

  @Property({ type: new ArrayType((i) => Number(i)), columnType: 'int[]' })
  cumulative!: number[];
}
