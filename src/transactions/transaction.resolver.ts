import { AcceptancePolicyRule } from '../policy/policy.entity';
import type { DescribedRule } from '../policy/policy.rules';
import { policyRuleById } from '../policy/policy.loaders';
import { Arg, Args, Authorized, Ctx, Field, FieldResolver, ID, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { DateScalar } from '../common/scalars';
import { SubscriptionService } from './subscription.service';
import { seatsReducibleUntil, windowEnd } from './windows';
import { Parent } from '../common/parent';
import { ANY_ROLE, WRITERS } from '../auth/roles';
import { ConnectionType, PageArgs } from '../common/connection';
import type { Context } from '../kernel/context';
import { Customer } from '../customers/customer.entity';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { Partner, User } from '../partners/partner.entity';
import { partnerById, userById } from '../partners/partner.loaders';
import { BlockedOrderAlert } from '../alerts/alert.entity';
import { customerById } from '../customers/customer.loaders';
import { Order, Subscription } from './transaction.entity';
import { BlockReason, TransactionWarning } from './transaction.enums';
import { OrderFilter, TransactionInput } from './transaction.inputs';
import { subscriptionById } from './transaction.loaders';
import type { OrderRecord, SubscriptionRecord } from './transaction.queries';
import type { BlockedOrderAlertRecord } from '../alerts/alert.queries';
import { TransactionService } from './transaction.service';

export const OrderConnection = ConnectionType('Order', Order, 'bounded');

@ObjectType({ description: 'The stored order and, when it was blocked, its alert' })
export class AttemptTransactionPayload {
  @Field(() => Order, { description: 'The order: COMPLETED or BLOCKED, with reasons and warnings' })
  order!: OrderRecord;

  @Field(() => BlockedOrderAlert, { nullable: true, description: 'The alert raised for a BLOCKED order' })
  alert!: BlockedOrderAlertRecord | null;
}

@ObjectType({ description: 'What the gate would decide now; nothing is stored' })
export class TransactionPreflight {
  @Field({ description: 'Whether the transaction would complete' })
  allowed!: boolean;

  @Field(() => [BlockReason], { description: 'Why it would be blocked, in the order of the rules' })
  blockReasons!: BlockReason[];

  @Field(() => [TransactionWarning], { description: 'What the gate would note without blocking' })
  warnings!: TransactionWarning[];

  @Field(() => AgreementTemplate, { nullable: true, description: 'The agreement the customer must have accepted (the current one); null when not gated' })
  requiredAgreement!: AgreementTemplate | null;

  @Field(() => AcceptancePolicyRule, { nullable: true, description: 'The requirement policy rule the gate decided by; null before enforcement' })
  policyRule!: DescribedRule | null;
}

const service = (ctx: Context) => new TransactionService(ctx.em, ctx.viewer!);

@Resolver(() => Order)
export class OrderResolver {
  @Authorized(WRITERS)
  @Mutation(() => AttemptTransactionPayload, {
    description: 'Places a transaction: the gate decides COMPLETED or BLOCKED and the attempt is stored either way (idempotent per key and partner)',
  })
  async attemptTransaction(@Arg('input', () => TransactionInput, { description: 'The transaction: customer, kind, partners, subscription or offer, quantity and idempotency key' }) input: TransactionInput, @Ctx() ctx: Context): Promise<AttemptTransactionPayload> {
    const { order, alert, known } = await service(ctx).attempt(input);
    ctx.loaders.clear();
    // The payload's customer, partners and subscription were just read or written: answer them from memory.
    for (const c of known.customers) customerById.of(ctx).prime(c.id, c);
    for (const p of known.partners) partnerById.of(ctx).prime(p.id, p);
    for (const s of known.subscriptions) subscriptionById.of(ctx).prime(s.id, s);
    for (const r of known.policyRules) policyRuleById.of(ctx).prime(r.id, r);
    return { order, alert };
  }

  @Authorized(ANY_ROLE)
  @Query(() => TransactionPreflight, { description: 'A dry run of attemptTransaction through the same gate; stores nothing' })
  async preflightTransaction(@Arg('input', () => TransactionInput, { description: 'The transaction: customer, kind, partners, subscription or offer, quantity and idempotency key' }) input: TransactionInput, @Ctx() ctx: Context): Promise<TransactionPreflight> {
    const d = await service(ctx).preflight(input);
    return {
      allowed: d.outcome === 'COMPLETED',
      blockReasons: d.blockReasons,
      warnings: d.warnings,
      requiredAgreement: d.requiredAgreement as AgreementTemplate | null,
      // The facts' rules are read whole, descriptions included (policy.queries.ts).
      policyRule: d.policyRule as DescribedRule | null,
    };
  }

  @Authorized(ANY_ROLE)
  @Query(() => OrderConnection, {
    description: "Orders the caller may see, oldest first: a billing partner its own (a provider also its resellers'), a reseller only its own, platform roles all",
  })
  orders(
    @Arg('filter', () => OrderFilter, { nullable: true, description: 'Narrows the list' }) filter: OrderFilter | null,
    @Args() page: PageArgs,
    @Ctx() ctx: Context,
  ) {
    return service(ctx).list(filter, page);
  }

  @FieldResolver(() => Customer, { description: 'The customer' })
  customer(@Parent() o: OrderRecord, @Ctx() ctx: Context) {
    return customerById.of(ctx).load(o.customer.id);
  }

  @FieldResolver(() => Partner, { description: 'The billing partner' })
  partner(@Parent() o: OrderRecord, @Ctx() ctx: Context) {
    return partnerById.of(ctx).load(o.partner.id);
  }

  @FieldResolver(() => Partner, { nullable: true, description: 'The reseller that placed the order through its provider, if any' })
  reseller(@Parent() o: OrderRecord, @Ctx() ctx: Context) {
    return o.reseller ? partnerById.of(ctx).load(o.reseller.id) : null;
  }

  @FieldResolver(() => Subscription, { nullable: true, description: 'The subscription created, changed or renewed (or that would have been)' })
  subscription(@Parent() o: OrderRecord, @Ctx() ctx: Context) {
    return o.subscription ? subscriptionById.of(ctx).load(o.subscription.id) : null;
  }

  @FieldResolver(() => User, { description: 'The user who placed the order' })
  placedBy(@Parent() o: OrderRecord, @Ctx() ctx: Context) {
    return userById.of(ctx).load(o.placedBy.id);
  }

  @FieldResolver(() => AcceptancePolicyRule, {
    nullable: true,
    description: 'The requirement policy rule the gate decided by, as preflight named it; null before enforcement and for orders stored before rules were recorded',
  })
  policyRule(@Parent() o: OrderRecord, @Ctx() ctx: Context) {
    return o.policyRule ? policyRuleById.of(ctx).load(o.policyRule.id) : null;
  }
}

@ObjectType({ description: 'The subscription with its auto-renew as set' })
export class SetAutoRenewPayload {
  @Field(() => Subscription, { description: 'The subscription: ENDING with auto-renew off, ACTIVE with it on' })
  subscription!: SubscriptionRecord;
}

@Resolver(() => Subscription)
export class SubscriptionResolver {
  @Authorized(WRITERS)
  @Mutation(() => SetAutoRenewPayload, {
    description:
      'Turns auto-renew off (the subscription is ENDING and expires at renewsOn) or on again (ACTIVE); the billing partner (ADMIN or AGENT) or a platform admin. Not on a CANCELLED or EXPIRED subscription',
  })
  async setAutoRenew(
    @Arg('subscriptionId', () => ID, { description: 'The subscription' }) subscriptionId: string,
    @Arg('autoRenew', { description: 'Whether it renews at renewsOn' }) autoRenew: boolean,
    @Ctx() ctx: Context,
  ): Promise<SetAutoRenewPayload> {
    const subscription = await new SubscriptionService(ctx.em, ctx.viewer!).setAutoRenew(subscriptionId, autoRenew);
    ctx.loaders.clear();
    return { subscription };
  }

  @FieldResolver(() => DateScalar, { description: 'The day (UTC) the current term started: the purchase or the last renewal' })
  termStartedOn(@Parent() s: SubscriptionRecord): string {
    return new Date(s.termStartedAt).toISOString().slice(0, 10);
  }

  @FieldResolver(() => Date, { description: 'Until when it can be cancelled: 168 hours (7 days) after the business time of its purchase or last renewal' })
  cancellableUntil(@Parent() s: SubscriptionRecord): Date {
    return windowEnd(s.termStartedAt);
  }

  @FieldResolver(() => Date, {
    nullable: true,
    description: 'Until when seats can be reduced: the end of the window of the seats added last (each addition has its own 168 hours)',
  })
  seatsReducibleUntil(@Parent() s: SubscriptionRecord): Date | null {
    return seatsReducibleUntil(s.seatLots ?? []);
  }

  @FieldResolver(() => Customer, { description: 'The customer' })
  customer(@Parent() s: SubscriptionRecord, @Ctx() ctx: Context) {
    return customerById.of(ctx).load(s.customer.id);
  }

  @FieldResolver(() => Partner, { description: 'The billing partner' })
  partner(@Parent() s: SubscriptionRecord, @Ctx() ctx: Context) {
    return partnerById.of(ctx).load(s.partner.id);
  }

  @FieldResolver(() => Partner, { nullable: true, description: 'The reseller serving it, if any' })
  reseller(@Parent() s: SubscriptionRecord, @Ctx() ctx: Context) {
    return s.reseller ? partnerById.of(ctx).load(s.reseller.id) : null;
  }
}
