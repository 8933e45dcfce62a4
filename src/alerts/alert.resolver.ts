import { Arg, Args, Authorized, Ctx, Field, FieldResolver, ID, Mutation, ObjectType, Query, Resolver, Subscription } from 'type-graphql';
import { Parent } from '../common/parent';
import type { SubscribeResolverData } from 'type-graphql';
import { GraphQLError } from 'graphql';
import { ANY_ROLE, WRITERS } from '../auth/roles';
import { ConnectionType, PageArgs } from '../common/connection';
import { UnauthenticatedError } from '../errors';
import { releaseContextState, type Context } from '../kernel/context';
import { Loaders } from '../kernel/loaders';
import { metricsOf } from '../kernel/metrics';
import { Partner, User } from '../partners/partner.entity';
import { Customer } from '../customers/customer.entity';
import { Order } from '../transactions/transaction.entity';
import { partnerById, userById } from '../partners/partner.loaders';
import { BlockedOrderAlert } from './alert.entity';
import { alertHub } from './alert.runtime';
import type { AlertBatch } from './alert.hub';
import { AlertFilter } from './alert.inputs';
import { orderById } from './alert.loaders';
import { customerById } from '../customers/customer.loaders';
import { AlertService } from './alert.service';
import { checkScopeIds, parseCursor } from './alert.tenancy';

export const BlockedOrderAlertConnection = ConnectionType('BlockedOrderAlert', BlockedOrderAlert);

@ObjectType({ description: 'The result of acknowledging an alert' })
export class AcknowledgeAlertPayload {
  @Field(() => BlockedOrderAlert, { description: 'The alert, now acknowledged' })
  alert!: BlockedOrderAlert;
}

interface SubscriptionArgs {
  partnerId?: string | null;
  customerId?: string | null;
  after?: string | null;
}

/**
 * The subscription's source: a stream from the process's alert hub. graphql-ws builds
 * the context once per subscription and a socket lives for hours, so each delivered
 * batch gets a fresh EntityManager and fresh DataLoaders. Every subscriber of one hub
 * read shares that read's EntityManager and its viewer-independent loaders (lookups by
 * id), so one alert costs the same statements for 2 subscribers or 5,000; loaders that
 * read the viewer, and masking in field resolvers, stay per subscriber.
 */
function subscribeToAlerts({ args, context }: SubscribeResolverData<unknown, SubscriptionArgs, Context>): AsyncIterableIterator<BlockedOrderAlert> {
  const viewer = context.viewer;
  if (!viewer) throw new UnauthenticatedError(context.authError);
  checkScopeIds(args);
  const after = args.after ? parseCursor(args.after, 'after') : null;
  const hub = alertHub(context.services);
  const metrics = metricsOf(context.services);
  metrics?.activeSubscriptions.inc();
  // Nothing of the subscribe step is needed while waiting for the first alert.
  releaseContextState(context);
  return hub.subscribe({ viewer, partnerId: args.partnerId, customerId: args.customerId }, after, {
    onBatch: (batch) => {
      context.em = batch ? batch.em : hub.fork();
      context.loaders = new Loaders(() => context, batch && sharedLoaders(batch, context.services));
    },
    // Delivered and sent: between deliveries a subscriber holds no EntityManager and no cached rows.
    onIdle: () => releaseContextState(context),
    onDeliver: () => metrics?.alertsDelivered.inc(),
    onClose: () => metrics?.activeSubscriptions.dec(),
  });
}

/** The batch's shared loaders run on a context of their own with no viewer: they may only look up by id. */
function sharedLoaders(batch: AlertBatch, services: Context['services']): Loaders {
  if (!batch.loaders) {
    const shared: Context = { requestId: 'alert-batch', viewer: null, em: batch.em, loaders: undefined as unknown as Loaders, services };
    shared.loaders = batch.loaders = new Loaders(() => shared);
  }
  return batch.loaders;
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
    subscribe: subscribeToAlerts as never,
    description:
      'Blocked-order alerts as they are raised, for the partners the caller belongs to (all for platform roles). With `after`, every later alert is delivered first, then live ones, none lost or doubled',
  })
  liveBlockedOrderAlerts(
    @Parent() alert: BlockedOrderAlert,
    @Arg('partnerId', () => ID, { nullable: true, description: 'Only alerts this partner is a party to (narrows, never widens)' }) _partnerId: string | null,
    @Arg('customerId', () => ID, { nullable: true, description: 'Only alerts of this customer' }) _customerId: string | null,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this alert cursor' }) _after: string | null,
  ): BlockedOrderAlert {
    // Without a source event this runs as a plain HTTP request, which cannot stream.
    if (!alert) throw new GraphQLError('Subscriptions are served over WebSocket (graphql-transport-ws) on /graphql', { extensions: { code: 'BAD_REQUEST' } });
    return alert;
  }

  @FieldResolver(() => String, { description: 'Monotonic cursor (equal to the id): pass it as `after` to resume' })
  cursor(@Parent() alert: BlockedOrderAlert): string {
    return String(alert.id);
  }

  @FieldResolver(() => Order, { description: 'The blocked order' })
  async order(@Parent() alert: BlockedOrderAlert, @Ctx() ctx: Context): Promise<Order> {
    return (await orderById.of(ctx).load(alert.order.id))!;
  }

  @FieldResolver(() => Customer, { description: 'The customer the order was for' })
  async customer(@Parent() alert: BlockedOrderAlert, @Ctx() ctx: Context): Promise<Customer> {
    return (await customerById.of(ctx).load(alert.customer.id))!;
  }

  @FieldResolver(() => Partner, { description: 'The billing partner of the blocked order' })
  async partner(@Parent() alert: BlockedOrderAlert, @Ctx() ctx: Context): Promise<Partner> {
    return (await partnerById.of(ctx).load(alert.partner.id))!;
  }

  @FieldResolver(() => Partner, { nullable: true, description: 'The reseller that placed the order through its provider, if any' })
  async reseller(@Parent() alert: BlockedOrderAlert, @Ctx() ctx: Context): Promise<Partner | null> {
    return alert.reseller ? partnerById.of(ctx).load(alert.reseller.id) : null;
  }

  @FieldResolver(() => User, { nullable: true, description: 'Who acknowledged the alert; null while open' })
  async acknowledgedBy(@Parent() alert: BlockedOrderAlert, @Ctx() ctx: Context): Promise<User | null> {
    return alert.acknowledgedBy ? userById.of(ctx).load(alert.acknowledgedBy.id) : null;
  }
}
