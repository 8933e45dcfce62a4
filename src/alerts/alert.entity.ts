import { Entity, Enum, Index, ManyToOne, OneToOne, PrimaryKey, Property, OptionalProps } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { Customer } from '../customers/customer.entity';
import { Partner, User } from '../partners/partner.entity';
import { Order } from '../transactions/transaction.entity';
import { BlockReason } from '../transactions/transaction.enums';

/**
 * Written in the same transaction as its BLOCKED order. The bigserial id is the
 * alert's monotonic cursor: subscribers resume from it.
 */
@ObjectType({ description: 'An alert raised when the gate blocked an order; its cursor orders every alert ever raised' })
@Entity({ tableName: 'blocked_order_alerts' })
@Index({ properties: ['partner', 'id'] })
@Index({ properties: ['reseller', 'id'] })
// One customer's alerts in cursor order: the list's and the replay's customerId (Migration20261204120000, built concurrently).
@Index({ name: 'blocked_order_alerts_customer_id_id_index', properties: ['customer', 'id'] })
export class BlockedOrderAlert {
  [OptionalProps]?: 'id' | 'reasons' | 'createdAt';

  @Field(() => ID, { description: 'The alert id (also its cursor)' })
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @OneToOne(() => Order, { owner: true, unique: true, deleteRule: 'cascade' })
  order!: Order;

  @ManyToOne(() => Customer, { deleteRule: 'cascade', index: true })
  customer!: Customer;

  /** The billing partner of the order. */
  @ManyToOne(() => Partner)
  partner!: Partner;

  @ManyToOne(() => Partner, { nullable: true })
  reseller?: Partner | null;

  @Field(() => [BlockReason], { description: 'Why the gate blocked the order, in the order of the rules' })
  @Enum({ items: () => BlockReason, array: true })
  reasons: BlockReason[] = [];

  @Field({ description: 'When the order was blocked' })
  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Field(() => Date, { nullable: true, description: 'When a user of the partner acknowledged the alert; null while open' })
  @Property({ columnType: 'timestamptz', nullable: true })
  acknowledgedAt?: Date | null;

  @ManyToOne(() => User, { nullable: true })
  acknowledgedBy?: User | null;
}
