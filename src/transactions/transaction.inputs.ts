import { Field, ID, InputType, Int } from 'type-graphql';
import { Channel } from '../acceptance/acceptance.enums';
import { BillingCycle, OrderOutcome, TermDuration, TransactionKind } from './transaction.enums';

/** Validated in depth by TransactionService (quantities, offer, subscription, partners). */
@InputType({ description: 'A transaction attempt: it passes through the gate and is stored as an order' })
export class TransactionInput {
  @Field(() => ID, { description: 'The customer transacting' })
  customerId!: string;

  @Field(() => TransactionKind, { description: 'What the transaction does' })
  kind!: TransactionKind;

  @Field(() => Channel, { nullable: true, defaultValue: Channel.API, description: 'Where it is placed' })
  channel?: Channel | null;

  @Field(() => ID, { nullable: true, description: "The billing partner; defaults to the caller's partner (a reseller names its provider; platform admins must name one)" })
  partnerId?: string | null;

  @Field(() => ID, { nullable: true, description: 'The reseller placing the order through the billing partner (a reseller: itself, the default)' })
  resellerId?: string | null;

  @Field(() => ID, { nullable: true, description: 'The subscription changed or renewed; required for SEAT_CHANGE, RENEWAL and AUTO_RENEWAL' })
  subscriptionId?: string | null;

  @Field(() => String, { nullable: true, description: 'The offer bought; required for NEW_PURCHASE' })
  offerId?: string | null;

  @Field(() => Int, { description: 'Seats, more than 0: bought, the new total for SEAT_CHANGE, or renewed (the next term\'s); 0 for CANCELLATION' })
  quantity!: number;

  @Field({ description: 'Client key: the same key from the same partner returns the first result and creates nothing more' })
  idempotencyKey!: string;

  @Field(() => Date, { nullable: true, description: 'Business time, default now; only a platform admin may set it (to replay history)' })
  requestedAt?: Date | null;

  @Field(() => TermDuration, { nullable: true, description: 'NEW_PURCHASE: the term (absent: P1Y); RENEWAL: the next term (absent: unchanged); no other kind' })
  termDuration?: TermDuration | null;

  @Field(() => BillingCycle, { nullable: true, description: "NEW_PURCHASE: the billing (absent: ANNUAL); RENEWAL: the next term's (absent: unchanged); it must fit the term" })
  billingCycle?: BillingCycle | null;
}

@InputType({ description: 'Narrows the orders listed' })
export class OrderFilter {
  @Field(() => ID, { nullable: true, description: 'Only orders of this customer' })
  customerId?: string | null;

  @Field(() => ID, { nullable: true, description: 'Only orders billed by this partner' })
  partnerId?: string | null;

  @Field(() => OrderOutcome, { nullable: true, description: 'Only COMPLETED or only BLOCKED orders' })
  outcome?: OrderOutcome | null;

  @Field(() => TransactionKind, { nullable: true, description: 'Only orders of this kind' })
  kind?: TransactionKind | null;
}
