import { Arg, Authorized, Ctx, Field, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { ANY_ROLE, PLATFORM_ADMIN } from '../auth/roles';
import type { Context } from '../kernel/context';
import { AcceptancePolicyRule } from './policy.entity';
import { AcceptancePolicyRuleInput } from './policy.inputs';
import type { DescribedRule } from './policy.rules';
import { PolicyService } from './policy.service';

@ObjectType({ description: 'The result of adding a policy rule' })
export class AddAcceptancePolicyRulePayload {
  @Field(() => AcceptancePolicyRule, { description: 'The rule, as stored' })
  rule!: AcceptancePolicyRule;
}

const service = (ctx: Context) => new PolicyService(ctx.em, ctx.viewer!);

@Resolver(() => AcceptancePolicyRule)
export class PolicyResolver {
  @Authorized(ANY_ROLE)
  @Query(() => [AcceptancePolicyRule], { description: 'The requirement policy: every dated rule, oldest first; the latest on or before a day (for its channel) is in force' })
  acceptancePolicy(@Ctx() ctx: Context): Promise<DescribedRule[]> {
    return service(ctx).list();
  }

  @Authorized(PLATFORM_ADMIN)
  @Mutation(() => AddAcceptancePolicyRulePayload, { description: 'Adds a rule taking effect today or later (platform admins only); rules are never changed or deleted' })
  async addAcceptancePolicyRule(
    @Arg('input', () => AcceptancePolicyRuleInput, { description: 'The rule, complete' }) input: AcceptancePolicyRuleInput,
    @Ctx() ctx: Context,
  ): Promise<AddAcceptancePolicyRulePayload> {
    return { rule: await service(ctx).add(input) };
  }
}
