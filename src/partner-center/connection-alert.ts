import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType } from 'type-graphql';
import type { AlertKind } from '../alerts/alert.hub';
import { queryRows } from '../db/query';
import { Partner } from '../partners/partner.entity';
import { ConnectionStatus } from './partner-center.enums';

/** Orders this kind's commits by cursor (see src/alerts/alert.record.ts). */
const CONNECTION_ALERT_SEQUENCE_LOCK = 7_302_118_419;
/** The doorbell of connection alerts; the table is the mailbox. */
export const CONNECTION_ALERT_CHANNEL = 'partner_center_connection_alerts';

/**
 * Raised once when a partner's Partner Center connection needs re-authorization (its
 * delegated grant is dead): the partner's admins must consent again, and until they do
 * its deliveries are PAUSED. Delivered by the alert hub like the other kinds (same LISTEN
 * connection, same tenancy); `customer_id` and `reseller_id` stay empty (the hub's
 * tenancy reads them), the alert concerns the partner alone.
 */
@ObjectType({ description: "An alert raised when a partner's Partner Center connection needs re-authorization: its deliveries wait PAUSED until the partner connects again" })
@Entity({ tableName: 'partner_center_connection_alerts' })
@Index({ properties: ['partner', 'id'] })
export class PartnerCenterConnectionAlert {
  [OptionalProps]?: 'id' | 'createdAt';

  @Field(() => ID, { description: 'The alert id (also its cursor)' })
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => Partner, { deleteRule: 'cascade' })
  partner!: Partner;

  /** Always null: read by the hub's tenancy rule. */
  @ManyToOne(() => Partner, { nullable: true, fieldName: 'reseller_id', deleteRule: 'set null' })
  reseller?: Partner | null;

  /** Always null: read by the hub's tenancy rule. */
  @Property({ type: 'uuid', nullable: true })
  customerId?: string | null;

  @Field(() => ConnectionStatus, { description: 'The state the connection entered (NEEDS_REAUTHORIZATION)' })
  @Property({ type: 'text' })
  status!: ConnectionStatus;

  @Field(() => String, { nullable: true, description: 'The token endpoint\'s code (AADSTS700082: expired from idleness; AADSTS50173: revoked)' })
  @Property({ type: 'text', nullable: true })
  code?: string | null;

  @Field({ description: 'What happened and what to do' })
  @Property({ type: 'text' })
  message!: string;

  @Field({ description: 'When it was raised' })
  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}

export const CONNECTION_ALERTS: AlertKind<PartnerCenterConnectionAlert> = {
  name: 'partner-center-connection',
  table: 'partner_center_connection_alerts',
  channel: CONNECTION_ALERT_CHANNEL,
  entity: PartnerCenterConnectionAlert,
  // No customer: a subscriber narrowing to a customer receives none of these.
  parties: (a) => ({ partnerId: a.partner.id, resellerId: null, customerId: '' }),
};

/** Raises the alert inside the caller's transaction (the one that marks the connection); NOTIFY rings at commit. */
export async function raiseConnectionAlert(em: EntityManager, partnerId: string, code: string | null, message: string): Promise<string> {
  await queryRows(em, 'select pg_advisory_xact_lock(?::bigint)', [CONNECTION_ALERT_SEQUENCE_LOCK]);
  const [{ id }] = await queryRows<{ id: string }>(
    em,
    `insert into partner_center_connection_alerts (partner_id, reseller_id, customer_id, status, code, message, created_at)
     values (?, null, null, ?, ?, ?, now()) returning id::text`,
    [partnerId, ConnectionStatus.NEEDS_REAUTHORIZATION, code, message],
  );
  await queryRows(em, 'select pg_notify(?, ?)', [CONNECTION_ALERT_CHANNEL, id]);
  return id;
}
