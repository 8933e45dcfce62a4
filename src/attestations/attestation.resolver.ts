import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Mutation, ObjectType, Query, Resolver, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { Parent } from '../common/parent';
import { ANY_ROLE, Role, WRITERS } from '../auth/roles';
import type { Viewer } from '../auth/viewer';
import { ConnectionType, PageArgs } from '../common/connection';
import type { Context } from '../kernel/context';
import { Acceptance } from '../acceptance/acceptance.entity';
import { acceptanceById } from '../acceptance/acceptance.loaders';
import { Customer } from '../customers/customer.entity';
import { customerById } from '../customers/customer.loaders';
import { Partner } from '../partners/partner.entity';
import { partnerById } from '../partners/partner.loaders';
import { liveEvent, subscribeToAlerts, type AlertSubscriptionArgs, type SubscriptionEnd } from '../alerts/alert.subscription';
import { selectedLookups, type AlertLookup } from '../alerts/alert.lookups';
import { Attestation, type AttestationUpdate } from './attestation.entity';
import { AttestationStatus } from './attestation.enums';
import { RequestAttestationInput } from './attestation.inputs';
import { attestationById } from './attestation.loaders';
import { attestationRuntime } from './attestation.runtime';
import { AttestationService } from './attestation.service';

export const AttestationConnection = ConnectionType('Attestation', Attestation, 'bounded');

@ObjectType({ description: 'The attestation requested' })
export class RequestAttestationPayload {
  @Field(() => Attestation, { description: 'The new attestation, REQUESTED: it is created upstream and followed in the background' })
  attestation!: Attestation;
}

@ObjectType({ description: 'The cancelled attestation' })
export class CancelAttestationPayload {
  @Field(() => Attestation, { description: 'The attestation, now CANCELLED' })
  attestation!: Attestation;
}

@ArgsType()
class AttestationsArgs extends PageArgs {
  @Field(() => ID, { nullable: true, description: "Only this billing partner's (narrows, never widens what the caller may read)" })
  partnerId?: string | null;

  @Field(() => AttestationStatus, { nullable: true, description: 'Only attestations in this state' })
  status?: AttestationStatus | null;
}

const attestations = (ctx: Context) => new AttestationService(ctx.em, ctx.viewer!);

/** Whoever holds the link can accept: only the billing partner's ADMIN and AGENT users read it. */
export function mayReadAcceptanceUrl(viewer: Viewer | null, attestation: Pick<Attestation, 'partner'>): boolean {
  if (!viewer?.partnerId || viewer.partnerId !== attestation.partner.id) return false;
  return viewer.roles.includes(Role.ADMIN) || viewer.roles.includes(Role.AGENT);
}

/**
 * What a delivered batch of updates loads, made at once: the root field's attestation, and
 * the parties its fields load (the update row names the attestation's own parties).
 */
const UPDATE_LOOKUPS: AlertLookup<AttestationUpdate>[] = [
  { field: null, loader: attestationById, key: (u) => u.attestation.id },
  { field: 'customer', loader: customerById, key: (u) => u.customer.id },
  { field: 'partner', loader: partnerById, key: (u) => u.partner.id },
  { field: 'reseller', loader: partnerById, key: (u) => u.reseller?.id },
];

/** Status changes through the alert hub's subscribe helper (tenancy of alerts: the billing partner, the submission's reseller). */
function subscribeToAttestationUpdates({ args, context, info }: SubscribeResolverData<unknown, Pick<AlertSubscriptionArgs, 'partnerId'>, Context>) {
  return subscribeToAlerts(context, attestationRuntime(context.services).updates, { partnerId: args.partnerId }, selectedLookups(info, UPDATE_LOOKUPS));
}

@Resolver(() => Attestation)
export class AttestationResolver {
  @Authorized(WRITERS)
  @Mutation(() => RequestAttestationPayload, {
    description:
      "Asks Partner Center for an enhanced attestation: a link where the customer's signatory accepts the Microsoft Customer Agreement; the gateway follows it to RECORDED (billing partners' ADMIN and AGENT, platform admins; never a reseller)",
  })
  async requestAttestation(
    @Arg('input', () => RequestAttestationInput, { description: 'The customer, partner, signatory, country, language and link lifetime' }) input: RequestAttestationInput,
    @Ctx() ctx: Context,
  ): Promise<RequestAttestationPayload> {
    const attestation = await attestations(ctx).request(input);
    ctx.loaders.clear();
    return { attestation };
  }

  @Authorized(WRITERS)
  @Mutation(() => CancelAttestationPayload, { description: "Cancels the partner's attestation before the customer accepts; the link is cancelled upstream too" })
  async cancelAttestation(@Arg('id', () => ID, { description: 'The attestation to cancel' }) id: string, @Ctx() ctx: Context): Promise<CancelAttestationPayload> {
    const attestation = await attestations(ctx).cancel(id);
    ctx.loaders.clear();
    return { attestation };
  }

  @Authorized(ANY_ROLE)
  @Query(() => Attestation, { nullable: true, description: 'One attestation the caller may read (as acceptances: its billing partner, a linked reseller serving the customer, platform roles), else null' })
  attestation(@Arg('id', () => ID, { description: 'The attestation id' }) id: string, @Ctx() ctx: Context): Promise<Attestation | null> {
    return attestations(ctx).get(id);
  }

  @Authorized(ANY_ROLE)
  @Query(() => AttestationConnection, { description: 'Attestations the caller may read, oldest first' })
  attestations(@Args() args: AttestationsArgs, @Ctx() ctx: Context) {
    return attestations(ctx).list(args);
  }

  @Authorized(ANY_ROLE)
  @Subscription(() => Attestation, {
    name: 'attestationUpdates',
    subscribe: subscribeToAttestationUpdates as never,
    description:
      'Each status change of an attestation, live, on every gateway instance: for the billing partner (and the reseller whose submission started it); all for platform roles',
  })
  async liveAttestationUpdates(
    @Parent() event: AttestationUpdate | SubscriptionEnd | undefined,
    @Arg('partnerId', () => ID, { nullable: true, description: 'Only this partner\'s attestations (narrows, never widens)' }) _partnerId: string | null,
    @Ctx() ctx: Context,
  ): Promise<Attestation> {
    const update = liveEvent(event);
    const attestation = await attestationById.of(ctx).load(update.attestation.id);
    // The status and error as of this change (the row may have moved on since).
    return { ...(attestation as Attestation), status: update.status, lastError: update.lastError ?? null } as Attestation;
  }

  @FieldResolver(() => String, { nullable: true, description: "The customer's acceptance link: whoever holds it can accept, so only the billing partner's ADMIN and AGENT read it (null for everyone else)" })
  acceptanceUrl(@Parent() a: Attestation, @Ctx() ctx: Context): string | null {
    return mayReadAcceptanceUrl(ctx.viewer, a) ? (a.acceptanceUrl ?? null) : null;
  }

  @FieldResolver(() => Customer, { description: 'The customer asked to accept' })
  customer(@Parent() a: Attestation, @Ctx() ctx: Context) {
    return customerById.of(ctx).load(a.customer.id);
  }

  @FieldResolver(() => Partner, { description: 'The billing partner' })
  partner(@Parent() a: Attestation, @Ctx() ctx: Context) {
    return partnerById.of(ctx).load(a.partner.id);
  }

  @FieldResolver(() => Partner, { nullable: true, description: 'The reseller whose submission started it, if any' })
  reseller(@Parent() a: Attestation, @Ctx() ctx: Context) {
    return a.reseller ? partnerById.of(ctx).load(a.reseller.id) : null;
  }

  @FieldResolver(() => Acceptance, { nullable: true, description: 'The confirmation recorded once RECORDED' })
  acceptance(@Parent() a: Attestation, @Ctx() ctx: Context) {
    return a.acceptance ? acceptanceById.of(ctx).load(a.acceptance.id) : null;
  }
}
