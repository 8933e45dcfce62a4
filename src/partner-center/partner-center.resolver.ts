import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { liveEvent, subscribeToAlerts, type AlertSubscriptionArgs, type SubscriptionEnd } from '../alerts/alert.subscription';
import { selectedLookups, type AlertLookup } from '../alerts/alert.lookups';
import { PartnerCenterConnectionAlert } from './connection-alert';
import { syncEngine } from './sync.engine';
import { Parent } from '../common/parent';
import { ANY_ROLE, PARTNER_ADMINS, PLATFORM_ADMIN, WRITERS } from '../auth/roles';
import { PageArgs } from '../common/connection';
import type { Context } from '../kernel/context';
import { Acceptance } from '../acceptance/acceptance.entity';
import { acceptanceById } from '../acceptance/acceptance.loaders';
import { Partner } from '../partners/partner.entity';
import { partnerById } from '../partners/partner.loaders';
import { AcceptanceSync } from './partner-center.entity';
import { SyncStatus } from './partner-center.enums';
import { ConnectPartnerCenterInput } from './partner-center.inputs';
import { syncOf, type SyncState } from './partner-center.loaders';
import { PartnerCenterService } from './partner-center.service';
import {
  AcceptanceSyncItem,
  AcceptanceSyncItemConnection,
  ConnectPartnerCenterPayload,
  DisconnectPartnerCenterPayload,
  ImportAgreementTemplatesPayload,
  PartnerCenterConnectionView,
  RetryAcceptanceSyncPayload,
} from './partner-center.types';

const service = (ctx: Context) => new PartnerCenterService(ctx.em, ctx.viewer!, ctx.services);

@Resolver()
export class PartnerCenterResolver {
  @Authorized(PARTNER_ADMINS)
  @Mutation(() => ConnectPartnerCenterPayload, {
    description: "Stores a partner's Partner Center credentials after one successful token request (the partner's ADMIN or a platform admin), and queues its NOT_CONNECTED backlog",
  })
  async connectPartnerCenter(@Arg('input', () => ConnectPartnerCenterInput, { description: 'The partner and its credentials (secret and refresh token are write-only)' }) input: ConnectPartnerCenterInput, @Ctx() ctx: Context): Promise<ConnectPartnerCenterPayload> {
    return { connection: await service(ctx).connect(input) };
  }

  @Authorized(PARTNER_ADMINS)
  @Mutation(() => DisconnectPartnerCenterPayload, { description: "Erases a partner's Partner Center credentials; queued deliveries wait as NOT_CONNECTED" })
  async disconnectPartnerCenter(@Arg('partnerId', () => ID, { nullable: true, description: "The partner; defaults to the caller's partner (required for platform admins)" }) partnerId: string | null, @Ctx() ctx: Context): Promise<DisconnectPartnerCenterPayload> {
    return { connection: await service(ctx).disconnect(partnerId) };
  }

  @Authorized(PARTNER_ADMINS)
  @Query(() => PartnerCenterConnectionView, { description: "A partner's Partner Center connection (the partner's ADMIN or a platform admin)" })
  partnerCenterConnection(@Arg('partnerId', () => ID, { nullable: true, description: "The partner; defaults to the caller's partner (required for platform admins)" }) partnerId: string | null, @Ctx() ctx: Context): Promise<PartnerCenterConnectionView> {
    return service(ctx).connection(partnerId);
  }

  @Authorized(PLATFORM_ADMIN)
  @Mutation(() => ImportAgreementTemplatesPayload, {
    description: "Fetches Microsoft Cloud Agreement metadata with a partner's connection and upserts templates by templateId (platform admins); running it again changes nothing",
  })
  importAgreementTemplates(@Arg('partnerId', () => ID, { description: 'The partner whose connection fetches the metadata' }) partnerId: string, @Ctx() ctx: Context): Promise<ImportAgreementTemplatesPayload> {
    return service(ctx).importTemplates(partnerId);
  }

  @Authorized(WRITERS)
  @Mutation(() => RetryAcceptanceSyncPayload, { description: 'Requeues a FAILED sync with a fresh attempt budget and the same MS-RequestId' })
  async retryAcceptanceSync(@Arg('acceptanceId', () => ID, { description: 'The acceptance whose sync FAILED' }) acceptanceId: string, @Ctx() ctx: Context): Promise<RetryAcceptanceSyncPayload> {
    const acceptance = await service(ctx).retry(acceptanceId);
    ctx.loaders.clear();
    return { acceptance };
  }

  @Authorized(ANY_ROLE)
  @Query(() => AcceptanceSyncItemConnection, { description: "Acceptances and their Partner Center sync, oldest first: a partner user sees its own partner's, platform roles any partner's" })
  async acceptanceSyncs(
    @Arg('partnerId', () => ID, { nullable: true, description: "The partner; defaults to the caller's partner (platform roles: every partner)" }) partnerId: string | null,
    @Arg('status', () => SyncStatus, { nullable: true, description: 'Only syncs in this state' }) status: SyncStatus | null,
    @Args() page: PageArgs,
    @Ctx() ctx: Context,
  ) {
    const result = await service(ctx).list({ partnerId, status, ...page });
    return { ...result, edges: result.edges.map((e) => ({ cursor: e.cursor, node: { acceptanceId: e.node.acceptance.id, sync: e.node } })) };
  }
}

@Resolver(() => Acceptance)
export class AcceptanceSyncFieldResolver {
  @FieldResolver(() => AcceptanceSync, { description: 'Delivery of this confirmation to Partner Center; the local record counts for the gate whatever it says' })
  sync(@Parent() acceptance: Acceptance, @Ctx() ctx: Context): Promise<SyncState> {
    return syncOf.of(ctx).load(acceptance.id);
  }
}

@Resolver(() => AcceptanceSyncItem)
export class AcceptanceSyncItemResolver {
  @FieldResolver(() => Acceptance, { description: 'The acceptance' })
  async acceptance(@Parent() item: AcceptanceSyncItem, @Ctx() ctx: Context): Promise<Acceptance> {
    return (await acceptanceById.of(ctx).load(item.acceptanceId))!;
  }
}

@Resolver(() => PartnerCenterConnectionView)
export class PartnerCenterConnectionResolver {
  @FieldResolver(() => Partner, { description: 'The connected partner' })
  async partner(@Parent() c: PartnerCenterConnectionView, @Ctx() ctx: Context): Promise<Partner> {
    return (await partnerById.of(ctx).load(c.partnerId))!;
  }
}

/** What a delivered batch of connection alerts loads, made at once. */
const ALERT_LOOKUPS: AlertLookup<PartnerCenterConnectionAlert>[] = [{ field: 'partner', loader: partnerById, key: (a) => a.partner.id }];

/** Connection alerts through the subscribe helper every alert kind shares: replay from `after`, then live. */
function subscribeToConnectionAlerts({ args, context, info }: SubscribeResolverData<unknown, Pick<AlertSubscriptionArgs, 'partnerId' | 'after'>, Context>) {
  const hub = syncEngine(context.services).alerts;
  if (!hub) throw new Error('partner center connection alerts are not running');
  return subscribeToAlerts(context, hub, args, selectedLookups(info, ALERT_LOOKUPS));
}

@Resolver(() => PartnerCenterConnectionAlert)
export class PartnerCenterConnectionAlertResolver {
  @Authorized(PARTNER_ADMINS)
  @Subscription(() => PartnerCenterConnectionAlert, {
    name: 'partnerCenterConnectionAlerts',
    subscribe: subscribeToConnectionAlerts as never,
    description:
      "Alerts for a partner's admins when its Partner Center connection needs re-authorization (all partners for platform admins). With `after`, every later alert is delivered first, then live ones",
  })
  livePartnerCenterConnectionAlerts(
    @Parent() event: PartnerCenterConnectionAlert | SubscriptionEnd | undefined,
    @Arg('partnerId', () => ID, { nullable: true, description: 'Only this partner\'s alerts (narrows, never widens)' }) _partnerId: string | null,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this alert cursor' }) _after: string | null,
  ): PartnerCenterConnectionAlert {
    return liveEvent(event);
  }

  @FieldResolver(() => String, { description: 'Monotonic cursor (equal to the id): pass it as `after` to resume' })
  cursor(@Parent() alert: PartnerCenterConnectionAlert): string {
    return String(alert.id);
  }

  @FieldResolver(() => Partner, { description: 'The partner whose connection it concerns' })
  partner(@Parent() alert: PartnerCenterConnectionAlert, @Ctx() ctx: Context) {
    return partnerById.of(ctx).load(alert.partner.id);
  }
}
