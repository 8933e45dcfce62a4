import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import { ANY_ROLE } from '../auth/roles';
import type { Context } from '../kernel/context';
import { complianceSummary, ComplianceSummary } from './compliance-summary';

@Resolver()
export class ReportResolver {
  @Authorized(ANY_ROLE)
  @Query(() => ComplianceSummary, {
    description: "Customers by compliance status and blocked orders by reason: the caller's partner, one named partner, or (platform roles) everything",
  })
  complianceSummary(
    @Arg('partnerId', () => ID, { nullable: true, description: 'Narrow to this partner; partner users may name only their own' }) partnerId: string | null,
    @Ctx() ctx: Context,
  ): Promise<ComplianceSummary> {
    return complianceSummary(ctx.em, ctx.viewer!, partnerId);
  }
}
