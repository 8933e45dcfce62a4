import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';
import type { BlockReason } from '../transactions/transaction.enums';
import { queryDerivedOrLive } from '../kernel/derived';
import { blockedOrderCounts } from './blocked-counts';

/** A relation as the alert's row holds it: the id, which field resolvers look up. */
export interface Ref {
  id: string;
}

/**
 * A blocked-order alert as the hub reads it: a plain, read-only record shared by every
 * subscriber of one read (relations as ids). The entity has the same shape, so field
 * resolvers take either.
 */
export interface BlockedOrderAlertRecord {
  id: string;
  order: Ref;
  customer: Ref;
  partner: Ref;
  reseller?: Ref | null;
  reasons: BlockReason[];
  createdAt: Date;
  acknowledgedAt?: Date | null;
  acknowledgedBy?: Ref | null;
}

/** A `blocked_order_alerts` row as the columns below read it (or as `row_to_json` writes it: the id a number). */
export interface BlockedOrderAlertRow {
  id: string | number;
  order_id: string;
  customer_id: string;
  partner_id: string;
  reseller_id: string | null;
  reasons: BlockReason[];
  created_at: string | Date;
  acknowledged_at: string | Date | null;
  acknowledged_by_id: string | null;
}

/** The columns of a `BlockedOrderAlertRow`, on the alerts table aliased `a`. */
export const BLOCKED_ORDER_ALERT_COLUMNS =
  'a.id::text as id, a.order_id, a.customer_id, a.partner_id, a.reseller_id, a.reasons, a.created_at, a.acknowledged_at, a.acknowledged_by_id';

export function blockedOrderAlertOf(r: BlockedOrderAlertRow): BlockedOrderAlertRecord {
  return {
    id: String(r.id),
    order: { id: r.order_id },
    customer: { id: r.customer_id },
    partner: { id: r.partner_id },
    reseller: r.reseller_id ? { id: r.reseller_id } : null,
    reasons: r.reasons,
    createdAt: new Date(r.created_at),
    acknowledgedAt: r.acknowledged_at ? new Date(r.acknowledged_at) : null,
    acknowledgedBy: r.acknowledged_by_id ? { id: r.acknowledged_by_id } : null,
  };
}

/** A scalar subquery: the blocked-order alert of the order whose id is `orderId` (a SQL expression), as `row_to_json` writes it; null when none. */
export const blockedOrderAlertJsonOf = (orderId: string) => `(select row_to_json(a) from blocked_order_alerts a where a.order_id = ${orderId})`;

/**
 * Blocked orders by reason (an order may list several), most frequent first, and how many
 * blocked orders (one alert each): from the maintained counts of `scope` ('all' or
 * 'p:<partner>', src/alerts/blocked-counts.ts) while they are valid, else (not rebuilt yet)
 * counted live under `cond`, the same tenancy as a condition on the alerts aliased `a`.
 */
export async function blockedReasonCounts(em: EntityManager, scope: string, cond: { sql: string; params: unknown[] }): Promise<{ reason: BlockReason; count: number }[]> {
  const rows = await queryDerivedOrLive<{ reason: BlockReason; n: string }>(
    em,
    blockedOrderCounts,
    { sql: 'select k.reason, sum(k.n) as n from blocked_reason_counts k where k.scope = ? group by k.reason having sum(k.n) > 0', params: [scope] },
    {
      sql: `select r.reason, count(*) as n from blocked_order_alerts a cross join unnest(a.reasons) as r(reason)
             where ${cond.sql} group by r.reason order by count(*) desc, r.reason`,
      params: cond.params,
    },
    'q.n desc, q.reason',
  );
  return rows.map((r) => ({ reason: r.reason, count: Number(r.n) }));
}

export async function blockedOrderCount(em: EntityManager, scope: string, cond: { sql: string; params: unknown[] }): Promise<number> {
  const [row] = await queryDerivedOrLive<{ n: string }>(
    em,
    blockedOrderCounts,
    { sql: 'select coalesce(sum(k.n), 0) as n from blocked_order_counts k where k.scope = ?', params: [scope] },
    { sql: `select count(*) as n from blocked_order_alerts a where ${cond.sql}`, params: cond.params },
  );
  return Number(row?.n ?? 0);
}

/** The newest cursor of an alerts table (0 when empty). */
export async function newestAlertId(em: EntityManager, table: string): Promise<bigint> {
  // One constant text per table (a kind's table is a constant of the code).
  const [row] = await queryRows<{ max: string | null }>(em, `select max(id)::text as max from ${table}`);
  return BigInt(row?.max ?? 0);
}

/**
 * Rows of an alerts table (aliased `a`) after `after` (up to `upTo` when given) in cursor
 * order, narrowed by a tenancy condition on `a`: `columns` as the kind reads them.
 */
export function alertRows<R>(
  em: EntityManager,
  read: { table: string; columns: string },
  after: bigint,
  upTo: bigint | null,
  limit: number,
  cond?: { sql: string; params: unknown[] },
): Promise<R[]> {
  // A constant text per tenancy condition (a handful): each is prepared once per connection.
  const sql =
    `select ${read.columns} from ${read.table} a where a.id > ?::bigint` +
    (upTo === null ? '' : ' and a.id <= ?::bigint') +
    (cond ? ` and (${cond.sql})` : '') +
    ' order by a.id limit ?::int';
  const values = [String(after), ...(upTo === null ? [] : [String(upTo)]), ...(cond?.params ?? []), limit];
  return queryRows<R>(em, sql, values);
}
