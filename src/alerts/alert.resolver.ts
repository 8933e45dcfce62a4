import { Arg, Args, Authorized, Ctx, Field, FieldResolver, ID, Mutation, ObjectType, Query, Resolver, Subscription } from 'type-graphql';
import { Parent } from '../common/parent';
import type { SubscribeResolverData } from 'type-graphql';
import { ANY_ROLE, WRITERS } from '../auth/roles';
import { ConnectionType, PageArgs } from '../common/connection';
import type { Context } from '../kernel/context';
import { Partner, User } from '../partners/partner.entity';
import { Customer } from '../customers/customer.entity';
import { Order } from '../transactions/transaction.entity';
import { partnerById, userById } from '../partners/partner.loaders';
import { BlockedOrderAlert } from './alert.entity';
import { alertHub } from './alert.runtime';
import { AlertFilter } from './alert.inputs';
import { orderById } from './alert.loaders';
import { customerById } from '../customers/customer.loaders';
import { AlertService } from './alert.service';
import type { BlockedOrderAlertRecord } from './alert.queries';
import { liveEvent, subscribeToAlerts, type AlertSubscriptionArgs, type SubscriptionEnd } from './alert.subscription';
import { selectedLookups, type AlertLookup } from './alert.lookups';

export const BlockedOrderAlertConnection = ConnectionType('BlockedOrderAlert', BlockedOrderAlert, 'bounded');

@ObjectType({ description: 'The result of acknowledging an alert' })
export class AcknowledgeAlertPayload {
  @Field(() => BlockedOrderAlert, { description: 'The alert, now acknowledged' })
  alert!: BlockedOrderAlert;
}

/** What the field resolvers below load, made for a delivered batch of alerts at once. */
const LOOKUPS: AlertLookup<BlockedOrderAlertRecord>[] = [
  { field: 'order', loader: orderById, key: (a) => a.order.id },
  { field: 'customer', loader: customerById, key: (a) => a.customer.id },
  { field: 'partner', loader: partnerById, key: (a) => a.partner.id },
  { field: 'reseller', loader: partnerById, key: (a) => a.reseller?.id },
  { field: 'acknowledgedBy', loader: userById, key: (a) => a.acknowledgedBy?.id },
];

/** The subscription's source: the process's alert hub, through the subscribe helper every alert kind shares. */
function subscribeToBlockedOrders({ args, context, info }: SubscribeResolverData<unknown, AlertSubscriptionArgs, Context>) {
  return subscribeToAlerts(context, alertHub(context.services), args, selectedLookups(info, LOOKUPS));
}

const service = (ctx: Context) => new AlertService(ctx.em, ctx.viewer!);

@Resolver(() => BlockedOrderAlert)
export class BlockedOrderAlertResolver {
  @Authorized(ANY_ROLE)
  @Query(() => BlockedOrderAlertConnection, {
    description: 'Blocked-order alerts the caller receives, oldest first by cursor (pass the last endCursor as the subscription `after` to continue live)',
  })
  blockedOrderAlerts(
    @Arg('filter', () => AlertFilter, { nullable: true, description: 'Narrows the list' }) filter: AlertFilter | null,
    @Args() page: PageArgs,
    @Ctx() ctx: Context,
  ) {
    return service(ctx).list(filter, page);
  }

  @Authorized(WRITERS)
  @Mutation(() => AcknowledgeAlertPayload, {
    description: "Acknowledges an alert (an ADMIN or AGENT of the alert's billing partner or reseller, or a platform admin)",
  })
  async acknowledgeAlert(@Arg('id', () => ID, { description: 'The alert id' }) id: string, @Ctx() ctx: Context): Promise<AcknowledgeAlertPayload> {
    const alert = await service(ctx).acknowledge(id);
    return { alert };
  }

  @Authorized(ANY_ROLE)
  @Subscription(() => BlockedOrderAlert, {
    name: 'blockedOrderAlerts',
    subscribe: subscribeToBlockedOrders as never,
    description:
      'Blocked-order alerts as they are raised, for the partners the caller belongs to (all for platform roles). With `after`, every later alert is delivered first, then live ones, none lost or doubled',
  })
  liveBlockedOrderAlerts(
    @Parent() event: BlockedOrderAlertRecord | SubscriptionEnd | undefined,
    @Arg('partnerId', () => ID, { nullable: true, description: 'Only alerts this partner is a party to (narrows, never widens)' }) _partnerId: string | null,
    @Arg('customerId', () => ID, { nullable: true, description: 'Only alerts of this customer' }) _customerId: string | null,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this alert cursor' }) _after: string | null,
  ): BlockedOrderAlertRecord {
    return liveEvent(event);
  }

  @FieldResolver(() => String, { description: 'Monotonic cursor (equal to the id): pass it as `after` to resume' })
  cursor(@Parent() alert: BlockedOrderAlertRecord): string {
    return String(alert.id);
  }

  @FieldResolver(() => Order, { description: 'The blocked order' })
  async order(@Parent() alert: BlockedOrderAlertRecord, @Ctx() ctx: Context): Promise<Order> {
    return (await orderById.of(ctx).load(alert.order.id))!;
  }

  @FieldResolver(() => Customer, { description: 'The customer the order was for' })
  async customer(@Parent() alert: BlockedOrderAlertRecord, @Ctx() ctx: Context): Promise<Customer> {
    return (await customerById.of(ctx).load(alert.customer.id))!;
  }

  @FieldResolver(() => Partner, { description: 'The billing partner of the blocked order' })
  async partner(@Parent() alert: BlockedOrderAlertRecord, @Ctx() ctx: Context): Promise<Partner> {
    return (await partnerById.of(ctx).load(alert.partner.id))!;
  }

  @FieldResolver(() => Partner, { nullable: true, description: 'The reseller that placed the order through its provider, if any' })
  async reseller(@Parent() alert: BlockedOrderAlertRecord, @Ctx() ctx: Context): Promise<Partner | null> {
    return alert.reseller ? partnerById.of(ctx).load(alert.reseller.id) : null;
  }

  @FieldResolver(() => User, { nullable: true, description: 'Who acknowledged the alert; null while open' })
  async acknowledgedBy(@Parent() alert: BlockedOrderAlertRecord, @Ctx() ctx: Context): Promise<User | null> {
    return alert.acknowledgedBy ? userById.of(ctx).load(alert.acknowledgedBy.id) : null;
  }
}
