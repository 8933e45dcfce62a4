import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique, OptionalProps } from '@mikro-orm/core';
import { Customer } from '../customers/customer.entity';
import { Partner, User } from '../partners/partner.entity';
import { Channel } from '../acceptance/acceptance.enums';
import { BlockReason, OrderOutcome, SubscriptionStatus, TransactionKind, TransactionWarning } from './transaction.enums';

/** A product subscription created by a completed NEW_PURCHASE. */
@Entity({ tableName: 'subscriptions' })
@Index({ properties: ['customer', 'partner'] })
export class Subscription {
  [OptionalProps]?: 'id' | 'status' | 'createdAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Customer, { deleteRule: 'cascade' })
  customer!: Customer;

  /** The billing partner. */
  @ManyToOne(() => Partner)
  partner!: Partner;

  @ManyToOne(() => Partner, { nullable: true })
  reseller?: Partner | null;

  @Property()
  offerId!: string;

  @Property()
  seats!: number;

  @Enum({ items: () => SubscriptionStatus })
  status: SubscriptionStatus = SubscriptionStatus.ACTIVE;

  /** End of the current one-year term, extended by renewals. */
  @Property({ type: 'date', index: true })
  renewsOn!: string;

  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ columnType: 'timestamptz', nullable: true })
  cancelledAt?: Date | null;
}

/** Every transaction attempt, completed or blocked, with the gate's reasons. */
@Entity({ tableName: 'orders' })
@Index({ properties: ['customer', 'partner', 'outcome'] })
@Index({ properties: ['partner', 'createdAt'] })
// Idempotency: one order per key from the same acting partner.
@Unique({ properties: ['idempotencyScope', 'idempotencyKey'] })
export class Order {
  [OptionalProps]?: 'id' | 'blockReasons' | 'warnings' | 'createdAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Customer, { deleteRule: 'cascade' })
  customer!: Customer;

  /** The billing partner. */
  @ManyToOne(() => Partner)
  partner!: Partner;

  /** Set when a reseller placed the order through its provider. */
  @ManyToOne(() => Partner, { nullable: true, index: true })
  reseller?: Partner | null;

  @Enum({ items: () => TransactionKind })
  kind!: TransactionKind;

  @Enum({ items: () => Channel })
  channel!: Channel;

  @Enum({ items: () => OrderOutcome })
  outcome!: OrderOutcome;

  @Enum({ items: () => BlockReason, array: true })
  blockReasons: BlockReason[] = [];

  @Enum({ items: () => TransactionWarning, array: true })
  warnings: TransactionWarning[] = [];

  /** Business time: now, or a replayed instant set by a platform admin. */
  @Property({ columnType: 'timestamptz' })
  requestedAt!: Date;

  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ nullable: true })
  offerId?: string | null;

  @Property()
  quantity!: number;

  @ManyToOne(() => Subscription, { nullable: true })
  subscription?: Subscription | null;

  @ManyToOne(() => User)
  placedBy!: User;

  @Property()
  idempotencyKey!: string;

  /** Who the key belongs to: the acting partner's id, or `platform` for platform admins. */
  @Property()
  idempotencyScope!: string;

  /** Hash of the request under the key, so a different request reusing a key is a CONFLICT. */
  @Property()
  requestHash!: string;
}
