import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';
import type { Order } from '../transactions/transaction.entity';
import { OrderOutcome } from '../transactions/transaction.enums';

/** Serializes alert inserts so that cursor (bigserial) order is commit order. */
const ALERT_SEQUENCE_LOCK = 7_302_118_402;
/** The doorbell channel: payload is the new alert's cursor; the table is the mailbox. */
export const ALERT_CHANNEL = 'blocked_order_alerts';

/**
 * Writes the alert of a BLOCKED order inside the order's own transaction (call it
 * from within `em.transactional`, after the order is flushed).
 *
 * Why the lock: with a plain sequence, a transaction that took cursor 7 can commit
 * after one that took cursor 8, and a reader that already moved past 8 would miss 7.
 * Holding a transaction-scoped advisory lock from the insert until commit makes
 * alert-writing transactions commit in cursor order. NOTIFY is delivered at commit,
 * so listeners never hear of an alert they cannot read yet.
 */
export async function recordBlockedOrderAlert(em: EntityManager, order: Order): Promise<string> {
  if (order.outcome !== OrderOutcome.BLOCKED) throw new Error('only a BLOCKED order has an alert');
  // On the transaction's connection: queryRows runs inside the caller's em.transactional.
  await queryRows(em, 'select pg_advisory_xact_lock(?::bigint)', [ALERT_SEQUENCE_LOCK]);
  const [{ id }] = await queryRows<{ id: string }>(
    em,
    `insert into blocked_order_alerts (order_id, customer_id, partner_id, reseller_id, reasons, created_at)
     values (?, ?, ?, ?, ?, now()) returning id::text`,
    [order.id, order.customer.id, order.partner.id, order.reseller?.id ?? null, order.blockReasons],
  );
  await queryRows(em, 'select pg_notify(?, ?)', [ALERT_CHANNEL, id]);
  return id;
}

/**
 * The same three steps as `recordBlockedOrderAlert`, as common table expressions to add
 * to the one statement that inserts a BLOCKED order (run on its own, i.e. as its own
 * transaction). `order` names an earlier CTE that answers the inserted order's row
 * (`id`, `customer_id`, `partner_id`, `reseller_id`, `block_reasons`), or no row when
 * nothing was inserted (then no lock is taken and no alert written).
 *
 * The lock is taken inside the statement, after the order row exists and before the
 * alert's cursor is drawn (the insert's source row joins the lock's row, and the
 * column default `nextval` is computed from that row), and PostgreSQL releases it at
 * the statement's commit: the cursor order is the commit order, as above, and the lock
 * is held for the rest of the statement and its commit only, never across a round trip
 * to the gateway. `alert_notified` answers the alert's `id` and `created_at`; the
 * statement's main query must read it (a CTE nobody reads is not run).
 */
export function alertOfOrderCtes(order: string): string {
  return `alert_lock as materialized (select pg_advisory_xact_lock(${ALERT_SEQUENCE_LOCK}) as locked from ${order}),
  alert as (
    insert into blocked_order_alerts (order_id, customer_id, partner_id, reseller_id, reasons, created_at)
    select o.id, o.customer_id, o.partner_id, o.reseller_id, o.block_reasons, now() from ${order} o, alert_lock
    returning id, created_at),
  alert_notified as materialized (select a.id, a.created_at, pg_notify('${ALERT_CHANNEL}', a.id::text) as notified from alert a)`;
}
