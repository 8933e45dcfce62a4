import { Arg, Args, Authorized, Ctx, Field, FieldResolver, ID, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { Parent } from '../common/parent';
import { ANY_ROLE, PARTNER_ADMINS, PartnerType, PLATFORM_ADMIN, Role } from '../auth/roles';
import { ConnectionType, PageArgs } from '../common/connection';
import type { Context } from '../kernel/context';
import { Partner } from './partner.entity';
import { LinkResellerInput, RegisterPartnerInput } from './partner.inputs';
import { partnerById, providersOfReseller, resellersOfProvider } from './partner.loaders';
import { PartnerService } from './partner.service';

export const PartnerConnection = ConnectionType('Partner', Partner);

@ObjectType({ description: 'Who is calling' })
export class ViewerInfo {
  @Field(() => ID, { description: "The token's subject" })
  userId!: string;

  @Field({ description: "The token's display name" })
  displayName!: string;

  @Field(() => [Role])
  roles!: Role[];

  @Field(() => Partner, { nullable: true, description: 'The partner the caller belongs to; null for platform admins and analysts' })
  partner!: Partner | null;
}

@ObjectType()
export class RegisterPartnerPayload {
  @Field(() => Partner)
  partner!: Partner;
}

@ObjectType()
export class LinkResellerPayload {
  @Field(() => Partner, { description: 'The reseller, now linked' })
  reseller!: Partner;
}

const service = (ctx: Context) => new PartnerService(ctx.em, ctx.viewer!);

/** Of a list of partners, those the viewer may see: itself and the partners it is linked with. */
async function visibleOnly(ctx: Context, partners: Partner[]): Promise<Partner[]> {
  const v = ctx.viewer!;
  if (!v.partnerId) return partners;
  const linked =
    v.partnerType === PartnerType.INDIRECT_RESELLER
      ? await providersOfReseller.of(ctx).load(v.partnerId)
      : v.partnerType === PartnerType.INDIRECT_PROVIDER
        ? await resellersOfProvider.of(ctx).load(v.partnerId)
        : [];
  const ids = new Set([v.partnerId, ...linked.map((p) => p.id)]);
  return partners.filter((p) => ids.has(p.id));
}

@Resolver(() => Partner)
export class PartnerResolver {
  @Authorized(ANY_ROLE)
  @Query(() => ViewerInfo, { description: 'The caller, from the bearer token' })
  async viewer(@Ctx() ctx: Context): Promise<ViewerInfo> {
    const v = ctx.viewer!;
    return {
      userId: v.userId,
      displayName: v.displayName,
      roles: v.roles,
      partner: v.partnerId ? await partnerById.of(ctx).load(v.partnerId) : null,
    };
  }

  @Authorized(ANY_ROLE)
  @Query(() => PartnerConnection, { description: 'Partners the caller may see: all for platform roles; itself and linked partners otherwise' })
  partners(@Args() page: PageArgs, @Ctx() ctx: Context) {
    return service(ctx).list(page);
  }

  @Authorized(ANY_ROLE)
  @Query(() => Partner, { nullable: true, description: 'One partner, or null when it does not exist or is not visible' })
  partner(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return service(ctx).find(id);
  }

  @Authorized(PLATFORM_ADMIN)
  @Mutation(() => RegisterPartnerPayload, { description: 'Registers a partner (platform admins only)' })
  async registerPartner(@Arg('input') input: RegisterPartnerInput, @Ctx() ctx: Context): Promise<RegisterPartnerPayload> {
    return { partner: await service(ctx).register(input) };
  }

  @Authorized(PARTNER_ADMINS)
  @Mutation(() => LinkResellerPayload, { description: "Links a reseller to a provider (platform admins, or the provider's ADMIN)" })
  async linkResellerToProvider(@Arg('input') input: LinkResellerInput, @Ctx() ctx: Context): Promise<LinkResellerPayload> {
    const reseller = await service(ctx).linkReseller(input);
    ctx.loaders.clear();
    return { reseller };
  }

  @FieldResolver(() => [Partner], { description: 'For a reseller: the providers it sells through' })
  async providers(@Parent() partner: Partner, @Ctx() ctx: Context): Promise<Partner[]> {
    if (partner.type !== PartnerType.INDIRECT_RESELLER) return [];
    return visibleOnly(ctx, await providersOfReseller.of(ctx).load(partner.id));
  }

  @FieldResolver(() => [Partner], { description: 'For a provider: the resellers linked to it' })
  async resellers(@Parent() partner: Partner, @Ctx() ctx: Context): Promise<Partner[]> {
    if (partner.type !== PartnerType.INDIRECT_PROVIDER) return [];
    return visibleOnly(ctx, await resellersOfProvider.of(ctx).load(partner.id));
  }
}
