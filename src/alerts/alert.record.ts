import type { EntityManager } from '@mikro-orm/postgresql';
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
  const conn = em.getConnection();
  const ctx = em.getTransactionContext();
  await conn.execute('select pg_advisory_xact_lock(?)', [ALERT_SEQUENCE_LOCK], 'all', ctx);
  const rows = await conn.execute<{ id: string }[]>(
    `insert into blocked_order_alerts (order_id, customer_id, partner_id, reseller_id, reasons, created_at)
     values (?, ?, ?, ?, ?, now()) returning id`,
    [order.id, order.customer.id, order.partner.id, order.reseller?.id ?? null, `{${order.blockReasons.join(',')}}`],
    'all',
    ctx,
  );
  const id = String(rows[0].id);
  await conn.execute('select pg_notify(?, ?)', [ALERT_CHANNEL, id], 'all', ctx);
  return id;
}
