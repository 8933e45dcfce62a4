import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Blocked orders per (scope, reason) — scopes 'all' and 'p:<partner>' for the alert's
 * billing partner and its reseller, the parties alertScopeCondition admits — striped as
 * the compliance counts are (src/alerts/blocked-counts.ts).
 */
@Entity({ tableName: 'blocked_reason_counts' })
export class BlockedReasonCount {
  @PrimaryKey({ type: 'text' })
  scope!: string;

  @PrimaryKey({ type: 'text' })
  reason!: string;

  @PrimaryKey({ type: 'smallint' })
  stripe!: number;

  @Property({ type: 'bigint' })
  n!: string;
}

/** Blocked orders per scope (one alert per blocked order), striped. */
@Entity({ tableName: 'blocked_order_counts' })
export class BlockedOrderCount {
  @PrimaryKey({ type: 'text' })
  scope!: string;

  @PrimaryKey({ type: 'smallint' })
  stripe!: number;

  @Property({ type: 'bigint' })
  n!: string;
}
