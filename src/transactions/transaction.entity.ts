import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique, OptionalProps } from '@mikro-orm/core';
import { Customer } from '../customers/customer.entity';
import { Partner, User } from '../partners/partner.entity';
import { AcceptancePolicyRule } from '../policy/policy.entity';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Channel } from '../acceptance/acceptance.enums';
import { DateScalar } from '../common/scalars';
import { BlockReason, OrderOutcome, SubscriptionStatus, TransactionKind, TransactionWarning } from './transaction.enums';

/** A product subscription created by a completed NEW_PURCHASE. */
// Named ProductSubscription in GraphQL: `Subscription` is the root type of graphql-ws operations.
@ObjectType('ProductSubscription', { description: 'A product subscription, created by a completed NEW_PURCHASE and extended by renewals' })
@Entity({ tableName: 'subscriptions' })
@Index({ properties: ['customer', 'partner'] })
// Renewal risks of one partner: its window of subscriptions, billed by it or sold through it (src/renewals).
@Index({ properties: ['partner', 'renewsOn'] })
@Index({ properties: ['reseller', 'renewsOn'] })
export class Subscription {
  [OptionalProps]?: 'id' | 'status' | 'createdAt';

  @Field(() => ID, { description: 'The subscription id' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Customer, { deleteRule: 'cascade' })
  customer!: Customer;

  /** The billing partner. */
  @ManyToOne(() => Partner)
  partner!: Partner;

  @ManyToOne(() => Partner, { nullable: true })
  reseller?: Partner | null;

  @Field({ description: 'The product offer' })
  @Property()
  offerId!: string;

  @Field(() => Int, { description: 'Number of seats' })
  @Property()
  seats!: number;

  @Field(() => SubscriptionStatus, { description: 'ACTIVE, or CANCELLED (e.g. by a withdrawal)' })
  @Enum({ items: () => SubscriptionStatus })
  status: SubscriptionStatus = SubscriptionStatus.ACTIVE;

  /** End of the current one-year term, extended by renewals. */
  @Field(() => DateScalar, { description: 'End of the current one-year term; renewals extend it by a year' })
  @Property({ type: 'date', index: true })
  renewsOn!: string;

  @Field({ description: 'When the subscription was created' })
  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Field(() => Date, { nullable: true, description: 'When the subscription was cancelled' })
  @Property({ columnType: 'timestamptz', nullable: true })
  cancelledAt?: Date | null;
}

/** Every transaction attempt, completed or blocked, with the gate's reasons. */
@ObjectType({ description: "A transaction attempt, completed or blocked, with the gate's reasons and warnings" })
@Entity({ tableName: 'orders' })
@Index({ properties: ['customer', 'partner', 'outcome'] })
@Index({ properties: ['partner', 'createdAt'] })
// Idempotency: one order per key from the same acting partner.
@Unique({ properties: ['idempotencyScope', 'idempotencyKey'] })
export class Order {
  [OptionalProps]?: 'id' | 'blockReasons' | 'warnings' | 'createdAt';

  @Field(() => ID, { description: 'The order id' })
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

  @Field(() => TransactionKind, { description: 'What the transaction does' })
  @Enum({ items: () => TransactionKind })
  kind!: TransactionKind;

  @Field(() => Channel, { description: 'Where it was placed: DASHBOARD or API' })
  @Enum({ items: () => Channel })
  channel!: Channel;

  @Field(() => OrderOutcome, { description: "The gate's decision" })
  @Enum({ items: () => OrderOutcome })
  outcome!: OrderOutcome;

  @Field(() => [BlockReason], { description: 'Why it was blocked, in the order of the rules; empty when completed' })
  @Enum({ items: () => BlockReason, array: true })
  blockReasons: BlockReason[] = [];

  @Field(() => [TransactionWarning], { description: 'What the gate noticed without blocking' })
  @Enum({ items: () => TransactionWarning, array: true })
  warnings: TransactionWarning[] = [];

  /** Business time: now, or a replayed instant set by a platform admin. */
  @Field({ description: 'Business time of the order (replayed history may lie in the past)' })
  @Property({ columnType: 'timestamptz' })
  requestedAt!: Date;

  @Field({ description: 'When the attempt was recorded' })
  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Field(() => String, { nullable: true, description: 'The offer bought (NEW_PURCHASE)' })
  @Property({ nullable: true })
  offerId?: string | null;

  @Field(() => Int, { description: 'Seats: bought, the new total (SEAT_CHANGE), or renewed' })
  @Property()
  quantity!: number;

  @ManyToOne(() => Subscription, { nullable: true })
  subscription?: Subscription | null;

  @ManyToOne(() => User)
  placedBy!: User;

  /** The requirement policy rule the gate decided by (DESIGN.md section 10); null before enforcement and for orders stored before rules were recorded. */
  @ManyToOne(() => AcceptancePolicyRule, { nullable: true })
  policyRule?: AcceptancePolicyRule | null;

  @Field({ description: "The client's idempotency key" })
  @Property()
  idempotencyKey!: string;

  /** Who the key belongs to: the acting partner's id, or `platform` for platform admins. */
  @Property()
  idempotencyScope!: string;

  /** Hash of the request under the key, so a different request reusing a key is a CONFLICT. */
  @Property()
  requestHash!: string;
}
