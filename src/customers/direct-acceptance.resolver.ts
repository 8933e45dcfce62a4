import { Arg, Authorized, Ctx, Field, FieldResolver, Mutation, ObjectType, Resolver } from 'type-graphql';
import { PLATFORM_ADMIN } from '../auth/roles';
import { Parent } from '../common/parent';
import type { Context } from '../kernel/context';
import { Customer } from './customer.entity';
import { DirectAcceptance, DirectAcceptanceInput, directAcceptanceOf } from './direct-acceptance';
import { DirectAcceptanceService } from './direct-acceptance.service';

@ObjectType({ description: 'The result of recording a direct acceptance' })
export class RecordDirectAcceptancePayload {
  @Field(() => Customer, { description: 'The customer, with its direct acceptance' })
  customer!: Customer;
}

@Resolver(() => Customer)
export class DirectAcceptanceResolver {
  @FieldResolver(() => DirectAcceptance, { nullable: true, description: "The customer's own acceptance with the vendor, if known; it satisfies every partner's transactions for its type, from its date" })
  directAcceptance(@Parent() customer: Customer, @Ctx() ctx: Context): Promise<DirectAcceptance | null> {
    return directAcceptanceOf.of(ctx).load(customer.id);
  }

  @Authorized(PLATFORM_ADMIN)
  @Mutation(() => RecordDirectAcceptancePayload, { description: "Records a customer's direct acceptance with the vendor (platform admins only)" })
  async recordDirectAcceptance(
    @Arg('input', () => DirectAcceptanceInput, { description: 'The customer, the agreement and the day' }) input: DirectAcceptanceInput,
    @Ctx() ctx: Context,
  ): Promise<RecordDirectAcceptancePayload> {
    const customer = await new DirectAcceptanceService(ctx.em, ctx.viewer!).record(input);
    // What the request read about the customer (its compliance) may have changed.
    ctx.loaders.clear();
    return { customer };
  }
}
