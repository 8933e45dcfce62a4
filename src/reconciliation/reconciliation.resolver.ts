import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver } from 'type-graphql';
import { ANY_ROLE, PARTNER_ADMINS } from '../auth/roles';
import { PageArgs } from '../common/connection';
import { Parent } from '../common/parent';
import { Customer } from '../customers/customer.entity';
import { customerById } from '../customers/customer.loaders';
import type { Context } from '../kernel/context';
import { Partner } from '../partners/partner.entity';
import { partnerById } from '../partners/partner.loaders';
import { AcceptanceDriftRecord } from './reconciliation.entity';
import { ReconciliationService } from './reconciliation.service';
import { AcceptanceDriftConnection, ReconcilePartnerCenterPayload } from './reconciliation.types';

const service = (ctx: Context) => new ReconciliationService(ctx.em, ctx.viewer!, ctx.services);

@Resolver()
export class ReconciliationResolver {
  @Authorized(PARTNER_ADMINS)
  @Mutation(() => ReconcilePartnerCenterPayload, {
    description:
      "Reads every public-cloud customer of the partner from Partner Center (agreements of both types, direct acceptance) and records drift; imports upstream records unknown locally and direct acceptances found, never overwriting a local confirmation (the partner's ADMIN, or a platform admin)",
  })
  async reconcilePartnerCenter(
    @Arg('partnerId', () => ID, { nullable: true, description: "The partner; defaults to the caller's partner (required for platform admins)" }) partnerId: string | null,
    @Ctx() ctx: Context,
  ): Promise<ReconcilePartnerCenterPayload> {
    const result = await service(ctx).reconcile(partnerId);
    ctx.loaders.clear();
    return result;
  }

  @Authorized(ANY_ROLE)
  @Query(() => AcceptanceDriftConnection, {
    description: "Drift found by reconciliation with Partner Center, oldest first: a partner user sees its own partner's (or a linked partner's on its own customers), platform roles every partner's",
  })
  acceptanceDrift(
    @Arg('partnerId', () => ID, { nullable: true, description: "The billing partner; defaults to the caller's partner (platform roles: every partner)" }) partnerId: string | null,
    @Arg('open', () => Boolean, { nullable: true, description: 'true: only drift still open; false: only resolved drift; absent: both' }) open: boolean | null,
    @Args() page: PageArgs,
    @Ctx() ctx: Context,
  ) {
    return service(ctx).list({ partnerId, open, ...page });
  }
}

@Resolver(() => AcceptanceDriftRecord)
export class AcceptanceDriftResolver {
  @FieldResolver(() => Customer, { description: 'The customer' })
  async customer(@Parent() d: AcceptanceDriftRecord, @Ctx() ctx: Context): Promise<Customer> {
    return (await customerById.of(ctx).load(d.customer.id))!;
  }

  @FieldResolver(() => Partner, { description: 'The billing partner whose Partner Center account was read' })
  async partner(@Parent() d: AcceptanceDriftRecord, @Ctx() ctx: Context): Promise<Partner> {
    return (await partnerById.of(ctx).load(d.partner.id))!;
  }
}
