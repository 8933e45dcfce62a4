import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique, OptionalProps } from '@mikro-orm/core';
import { Customer } from '../customers/customer.entity';
import { Partner, User } from '../partners/partner.entity';
import { AcceptancePolicyRule } from '../policy/policy.entity';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { SeatLot } from './windows';
import { Channel } from '../acceptance/acceptance.enums';
import { DateScalar } from '../common/scalars';
import { BillingCycle, BlockReason, OrderOutcome, SubscriptionStatus, TermDuration, TransactionKind, TransactionWarning } from './transaction.enums';
import { newId } from '../kernel/ids';

/** A product subscription created by a completed NEW_PURCHASE. */
// Named ProductSubscription in GraphQL: `Subscription` is the root type of graphql-ws operations.
@ObjectType('ProductSubscription', { description: 'A product subscription, created by a completed NEW_PURCHASE and extended by renewals' })
@Entity({ tableName: 'subscriptions' })
@Index({ properties: ['customer', 'partner'] })
// Renewal risks of one partner: its window of subscriptions, billed by it or sold through it (src/renewals).
@Index({ properties: ['partner', 'renewsOn'] })
@Index({ properties: ['reseller', 'renewsOn'] })
export class Subscription {
  [OptionalProps]?: 'id' | 'status' | 'createdAt' | 'termDuration' | 'billingCycle' | 'autoRenew' | 'seatLots';

  @Field(() => ID, { description: 'The subscription id' })
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

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

  @Field(() => SubscriptionStatus, { description: 'ACTIVE; ENDING (auto-renew off: it ends at renewsOn), then EXPIRED; or CANCELLED (inside its window, or by a withdrawal)' })
  @Enum({ items: () => SubscriptionStatus })
  status: SubscriptionStatus = SubscriptionStatus.ACTIVE;

  @Field(() => TermDuration, { description: 'The term: P1M, P1Y or P3Y' })
  @Enum({ items: () => TermDuration, default: TermDuration.P1Y })
  termDuration: TermDuration = TermDuration.P1Y;

  @Field(() => BillingCycle, { description: 'How the term is billed; it fits the term' })
  @Enum({ items: () => BillingCycle, default: BillingCycle.ANNUAL })
  billingCycle: BillingCycle = BillingCycle.ANNUAL;

  @Field({ description: 'Whether it renews at renewsOn; when off, it is ENDING and expires at renewsOn' })
  @Property({ default: true })
  autoRenew: boolean = true;

  /** Business time of the purchase or of the last renewal: the cancellation window runs 168 hours from it. */
  @Property({ columnType: 'timestamptz' })
  termStartedAt!: Date;

  /** Seats by when they were added (purchase, renewal or mid-term), each with its own 168-hour window; see windows.ts. */
  @Property({ type: 'json', default: '[]' })
  seatLots: SeatLot[] = [];

  /** The end of the current term (its start plus the term), extended by renewals. */
  @Field(() => DateScalar, { description: 'The end of the current term: its start plus the term; renewals extend it by the next term' })
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
// The all-orders page in its keyset order (Migration20261204120000, built concurrently).
@Index({ name: 'orders_created_at_id_index', properties: ['createdAt', 'id'] })
// Idempotency: one order per key from the same acting partner.
@Unique({ properties: ['idempotencyScope', 'idempotencyKey'] })
export class Order {
  [OptionalProps]?: 'id' | 'blockReasons' | 'warnings' | 'createdAt';

  @Field(() => ID, { description: 'The order id' })
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

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

/**
 * What happened to a subscription outside an order, for the audit trail of its customer
 * and billing partner (src/audit): auto-renew turned off or on, a cancellation by a
 * withdrawal. Orders (CANCELLATION among them) are their own record.
 */
@Entity({ tableName: 'subscription_events' })
@Index({ properties: ['customer', 'partner'] })
// The audit export's time-ordered stream of one partner's events (Migration20261208100000, built concurrently).
@Index({ name: 'subscription_events_partner_id_at_index', properties: ['partner', 'at'] })
export class SubscriptionEvent {
  [OptionalProps]?: 'id' | 'note';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => Subscription, { deleteRule: 'cascade' })
  subscription!: Subscription;

  @ManyToOne(() => Customer, { deleteRule: 'cascade' })
  customer!: Customer;

  @ManyToOne(() => Partner)
  partner!: Partner;

  /** An AuditEvent value: SUBSCRIPTION_CANCELLED, AUTO_RENEW_OFF, AUTO_RENEW_ON. */
  @Property({ type: 'text' })
  event!: string;

  @Property({ columnType: 'timestamptz' })
  at!: Date;

  @ManyToOne(() => User, { nullable: true })
  actor?: User | null;

  @Property({ type: 'text', nullable: true })
  note?: string | null = null;
}
