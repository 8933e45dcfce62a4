import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Int, Mutation, Query, Resolver, Subscription } from 'type-graphql';
import { Parent } from '../common/parent';
import type { SubscribeResolverData } from 'type-graphql';
import { ANY_ROLE, PLATFORM_ADMIN } from '../auth/roles';
import { ConnectionType, PageArgs } from '../common/connection';
import type { Context } from '../kernel/context';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { templateById } from '../agreements/agreement.loaders';
import { Customer } from '../customers/customer.entity';
import { customerById } from '../customers/customer.loaders';
import { Partner } from '../partners/partner.entity';
import { partnerById, primePartners } from '../partners/partner.loaders';
import { Subscription as ProductSubscription } from '../transactions/transaction.entity';
import { subscriptionById } from '../transactions/transaction.loaders';
import type { SubscriptionRecord } from '../transactions/transaction.queries';
import { liveEvent, subscribeToAlerts, type AlertSubscriptionArgs, type SubscriptionEnd } from '../alerts/alert.subscription';
import { selectedLookups, type AlertLookup } from '../alerts/alert.lookups';
import { RenewalRiskAlert } from './renewal.entity';
import { renewals } from './renewal.runtime';
import { checkWindow, endingSubscriptions, RenewalRiskService } from './renewal.service';
import { RenewalRisk, ScanRenewalRisksPayload } from './renewal.types';

export const RenewalRiskConnection = ConnectionType('RenewalRisk', RenewalRisk);

@ArgsType()
class RenewalRisksArgs extends PageArgs {
  @Field(() => ID, {
    nullable: true,
    description: "Whose subscriptions: defaults to the caller's partner (a reseller may name a provider it is linked to); platform roles: all partners unless named",
  })
  partnerId?: string | null;

  @Field(() => Int, { nullable: true, defaultValue: 60, description: 'The window: subscriptions renewing from today to this many days ahead (0 to 1096, the longest term)' })
  withinDays?: number | null;
}

@ArgsType()
class EndingSubscriptionsArgs {
  @Field(() => ID, { nullable: true, description: 'Whose subscriptions, as for renewalRisks' })
  partnerId?: string | null;

  @Field(() => Int, { nullable: true, defaultValue: 60, description: 'The window: terms ending from today to this many days ahead (0 to 1096)' })
  withinDays?: number | null;

  @Field(() => Int, { nullable: true, description: 'At most this many (default and maximum as for pages)' })
  first?: number | null;
}

const load = {
  subscription: (ctx: Context, id: string) => subscriptionById.of(ctx).load(id) as Promise<SubscriptionRecord>,
  customer: (ctx: Context, id: string) => customerById.of(ctx).load(id) as Promise<Customer>,
  partner: (ctx: Context, id: string | null | undefined) => (id ? partnerById.of(ctx).load(id) : null),
};

@Resolver(() => RenewalRisk)
export class RenewalRiskResolver {
  @Authorized(ANY_ROLE)
  @Query(() => RenewalRiskConnection, {
    description:
      "Active subscriptions renewing within the window whose RENEWAL the gate would block today, with the gate's reasons and the agreement that would fix it; soonest renewal first",
  })
  async renewalRisks(@Args() args: RenewalRisksArgs, @Ctx() ctx: Context) {
    const { known, ...page } = await new RenewalRiskService(ctx.em, ctx.viewer!).list(args);
    // The page's statement read them: their fields need no statement of their own.
    for (const { subscription, customer, partners } of known) {
      subscriptionById.of(ctx).prime(subscription.id, subscription);
      customerById.of(ctx).prime(customer.id, customer);
      primePartners(ctx, partners);
    }
    return page;
  }

  @Authorized(ANY_ROLE)
  @Query(() => [ProductSubscription], {
    description:
      "renewalRisks' neighbour: subscriptions with auto-renew off (ENDING) whose term ends within the window, soonest first. They will not renew, so they are never renewal risks",
  })
  endingSubscriptions(@Args() args: EndingSubscriptionsArgs, @Ctx() ctx: Context): Promise<SubscriptionRecord[]> {
    return endingSubscriptions(new RenewalRiskService(ctx.em, ctx.viewer!), ctx.em, args);
  }

  @Authorized(PLATFORM_ADMIN)
  @Mutation(() => ScanRenewalRisksPayload, {
    description: 'Runs the renewal-risk scan now (platform admins): raises one alert per at-risk subscription and term not alerted yet',
  })
  async scanRenewalRisks(
    @Arg('withinDays', () => Int, { nullable: true, description: 'The window in days (default: the configured scan window, 60 unless set)' }) withinDays: number | null,
    @Ctx() ctx: Context,
  ): Promise<ScanRenewalRisksPayload> {
    const days = checkWindow(withinDays ?? ctx.services.config.renewalScan.withinDays);
    return { raised: await renewals(ctx.services).scan(days) };
  }

  @FieldResolver(() => ProductSubscription, { description: 'The subscription at risk' })
  subscription(@Parent() r: RenewalRisk, @Ctx() ctx: Context) {
    return load.subscription(ctx, r.subscriptionId);
  }

  @FieldResolver(() => Customer, { description: 'Its customer' })
  customer(@Parent() r: RenewalRisk, @Ctx() ctx: Context) {
    return load.customer(ctx, r.customerId);
  }

  @FieldResolver(() => Partner, { description: 'Its billing partner' })
  partner(@Parent() r: RenewalRisk, @Ctx() ctx: Context) {
    return load.partner(ctx, r.partnerId);
  }

  @FieldResolver(() => Partner, { nullable: true, description: 'The reseller it was sold through, if any (the renewal is judged as placed through it)' })
  reseller(@Parent() r: RenewalRisk, @Ctx() ctx: Context) {
    return load.partner(ctx, r.resellerId);
  }
}

/** What RenewalRiskAlertResolver's fields load, made for a delivered batch of alerts at once. */
const ALERT_LOOKUPS: AlertLookup<RenewalRiskAlert>[] = [
  { field: 'subscription', loader: subscriptionById, key: (a) => a.subscription.id },
  { field: 'customer', loader: customerById, key: (a) => a.customer.id },
  { field: 'partner', loader: partnerById, key: (a) => a.partner.id },
  { field: 'reseller', loader: partnerById, key: (a) => a.reseller?.id },
  { field: 'requiredAgreement', loader: templateById, key: (a) => a.requiredAgreement?.templateId },
];

/** The same stream as blocked-order alerts, through the same subscribe helper: replay from `after`, then live. */
function subscribeToRenewalRisks({ args, context, info }: SubscribeResolverData<unknown, Pick<AlertSubscriptionArgs, 'partnerId' | 'after'>, Context>) {
  return subscribeToAlerts(context, renewals(context.services).alerts, args, selectedLookups(info, ALERT_LOOKUPS));
}

@Resolver(() => RenewalRiskAlert)
export class RenewalRiskAlertResolver {
  @Authorized(ANY_ROLE)
  @Subscription(() => RenewalRiskAlert, {
    name: 'renewalRiskAlerts',
    subscribe: subscribeToRenewalRisks as never,
    description:
      'Renewal-risk alerts as the scan raises them, for the partners the caller belongs to (all for platform roles). With `after`, every later alert is delivered first, then live ones, none lost or doubled',
  })
  liveRenewalRiskAlerts(
    @Parent() event: RenewalRiskAlert | SubscriptionEnd | undefined,
    @Arg('partnerId', () => ID, { nullable: true, description: 'Only alerts this partner is a party to (narrows, never widens)' }) _partnerId: string | null,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this alert cursor' }) _after: string | null,
  ): RenewalRiskAlert {
    return liveEvent(event);
  }

  @FieldResolver(() => String, { description: 'Monotonic cursor (equal to the id): pass it as `after` to resume' })
  cursor(@Parent() alert: RenewalRiskAlert): string {
    return String(alert.id);
  }

  @FieldResolver(() => ProductSubscription, { description: 'The subscription at risk' })
  subscription(@Parent() alert: RenewalRiskAlert, @Ctx() ctx: Context) {
    return load.subscription(ctx, alert.subscription.id);
  }

  @FieldResolver(() => Customer, { description: 'Its customer' })
  customer(@Parent() alert: RenewalRiskAlert, @Ctx() ctx: Context) {
    return load.customer(ctx, alert.customer.id);
  }

  @FieldResolver(() => Partner, { description: 'Its billing partner' })
  partner(@Parent() alert: RenewalRiskAlert, @Ctx() ctx: Context) {
    return load.partner(ctx, alert.partner.id);
  }

  @FieldResolver(() => Partner, { nullable: true, description: 'The reseller it was sold through, if any' })
  reseller(@Parent() alert: RenewalRiskAlert, @Ctx() ctx: Context) {
    return load.partner(ctx, alert.reseller?.id);
  }

  @FieldResolver(() => AgreementTemplate, { nullable: true, description: 'The agreement that would fix it, as of the scan' })
  requiredAgreement(@Parent() alert: RenewalRiskAlert, @Ctx() ctx: Context) {
    return alert.requiredAgreement ? templateById.of(ctx).load(alert.requiredAgreement.templateId) : null;
  }
}
