import type { EntityName } from '@mikro-orm/postgresql';
import { BLOCKED_ORDER_ALERT_COLUMNS, blockedOrderAlertOf, type BlockedOrderAlertRecord, type BlockedOrderAlertRow } from './alert.queries';
import { ALERT_CHANNEL } from './alert.record';
import type { AlertParties } from './alert.tenancy';

/** An alert row: its bigserial id is its cursor. */
export interface AlertRecord {
  id: string;
}

export const cursorOf = (a: AlertRecord): bigint => BigInt(a.id);

interface AlertKindOf<T extends AlertRecord> {
  name: string;
  table: string;
  channel: string;
  parties(alert: T): AlertParties;
}

/**
 * A kind of alert the hub delivers: its table (the mailbox, with `partner_id`,
 * `reseller_id` and `customer_id` columns for the tenancy rule), its NOTIFY channel
 * (the doorbell) and who it concerns. Blocked-order alerts are the hub's own kind;
 * other kinds (renewal-risk alerts) `attach` to it and share its one LISTEN connection.
 *
 * A kind is read either as plain records (`plain`: `columns` of the table aliased `a` in
 * one prepared statement, `fromRow` makes each record, so a read builds no entity and
 * runs no query builder) or, without it, as entities of `entity` through the ORM.
 */
export type AlertKind<T extends AlertRecord> = AlertKindOf<T> &
  ({ plain: { columns: string; fromRow(row: any): T }; entity?: undefined } | { entity: EntityName<T>; plain?: undefined });

export const BLOCKED_ORDER_ALERTS: AlertKind<BlockedOrderAlertRecord> = {
  name: 'blocked-order',
  table: 'blocked_order_alerts',
  channel: ALERT_CHANNEL,
  parties: (a) => ({ partnerId: a.partner.id, resellerId: a.reseller?.id ?? null, customerId: a.customer.id }),
  plain: {
    columns: BLOCKED_ORDER_ALERT_COLUMNS,
    fromRow: (row: BlockedOrderAlertRow) => blockedOrderAlertOf(row),
  },
};
