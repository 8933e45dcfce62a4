import { Arg, Args, Authorized, Ctx, Field, FieldResolver, ID, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { Parent } from '../common/parent';
import { ANY_ROLE, WRITERS } from '../auth/roles';
import { ConnectionType, PageArgs } from '../common/connection';
import { Partner } from '../partners/partner.entity';
import { partnerById } from '../partners/partner.loaders';
import type { Context } from '../kernel/context';
import { Customer, CustomerRelationship } from './customer.entity';
import { AddCustomerRelationshipInput, CreateCustomerInput, CustomerFilter } from './customer.inputs';
import { relationshipsOfCustomer } from './customer.loaders';
import type { RelationshipRecord } from './customer.queries';
import { CustomerService, relationshipsVisibleTo, resellersVisibleTo } from './customer.service';

export const CustomerConnection = ConnectionType('Customer', Customer, {
  totalCount:
    'Number of customers matching the filter, over all pages: exact, except with a search, where it is exact up to 1,000 and 1,001 means more than 1,000 (SEARCH_COUNT_CAP), and with a country filter or a linked partner named as partnerId, where it is exact up to 10,000 and 10,001 means more than 10,000 (TOTAL_COUNT_CAP)',
});

@ObjectType({ description: 'The result of creating a customer' })
export class CreateCustomerPayload {
  @Field(() => Customer, { description: 'The new customer, with its relationship' })
  customer!: Customer;
}

@ObjectType({ description: 'The result of adding a relationship' })
export class AddCustomerRelationshipPayload {
  @Field(() => Customer, { description: 'The customer, with its relationships as they now stand' })
  customer!: Customer;
}

const service = (ctx: Context) => new CustomerService(ctx.em, ctx.viewer!);

/** After a write, later fields must read what was written, not what the request cached. */
function forgetReads(ctx: Context): void {
  ctx.em.clear();
  ctx.loaders.clear();
}

@Resolver(() => Customer)
export class CustomerResolver {
  @Authorized(ANY_ROLE)
  @Query(() => Customer, { nullable: true, description: 'One customer, or null when it does not exist or is not visible to the caller' })
  customer(@Arg('id', () => ID, { description: 'Customer id' }) id: string, @Ctx() ctx: Context): Promise<Customer | null> {
    return service(ctx).find(id);
  }

  @Authorized(ANY_ROLE)
  @Query(() => CustomerConnection, { description: 'Customers the caller may see, by company name' })
  customers(
    @Arg('filter', () => CustomerFilter, { nullable: true, description: 'Narrows the list' }) filter: CustomerFilter | null,
    @Args() page: PageArgs,
    @Ctx() ctx: Context,
  ) {
    return service(ctx).list(filter, page);
  }

  @Authorized(WRITERS)
  @Mutation(() => CreateCustomerPayload, {
    description: "Creates a customer with its billing partner (and reseller): platform admins for anyone, a partner's ADMIN or AGENT for itself",
  })
  async createCustomer(@Arg('input', () => CreateCustomerInput, { description: 'The customer, its billing partner and reseller' }) input: CreateCustomerInput, @Ctx() ctx: Context): Promise<CreateCustomerPayload> {
    const customer = await service(ctx).create(input);
    forgetReads(ctx);
    return { customer };
  }

  @Authorized(WRITERS)
  @Mutation(() => AddCustomerRelationshipPayload, {
    description: "Adds a billing partner to a customer, or a linked reseller to the billing partner's relationship; adding what exists changes nothing",
  })
  async addCustomerRelationship(
    @Arg('input', () => AddCustomerRelationshipInput, { description: 'The customer, billing partner and reseller' }) input: AddCustomerRelationshipInput,
    @Ctx() ctx: Context,
  ): Promise<AddCustomerRelationshipPayload> {
    await service(ctx).addRelationship(input);
    forgetReads(ctx);
    return { customer: (await service(ctx).find(input.customerId))! };
  }

  @FieldResolver(() => [CustomerRelationship], {
    description: 'Billing partners (with their resellers) the customer works with; a partner user sees only those involving its partner',
  })
  relationships(@Parent() customer: Customer, @Ctx() ctx: Context): Promise<RelationshipRecord[]> {
    // Not async (nor `partner` below): per row of a page, an async function costs promises of its own.
    const all = relationshipsOfCustomer.of(ctx).load(customer.id);
    // Platform roles see every relationship: no filtering step (and its promise) per row.
    return ctx.viewer!.partnerId ? all.then((list) => relationshipsVisibleTo(ctx.viewer!, list)) : all;
  }
}

@Resolver(() => CustomerRelationship)
export class CustomerRelationshipResolver {
  @FieldResolver(() => Partner, { description: 'The billing partner: a direct-bill partner or a provider' })
  partner(@Parent() relationship: RelationshipRecord, @Ctx() ctx: Context): Partner | Promise<Partner> {
    // Primed by relationshipsOfCustomer: answered at once, without a promise per row.
    return partnerById.of(ctx).primedOrLoad(relationship.partner.id) as Partner | Promise<Partner>;
  }

  @FieldResolver(() => [Partner], { description: 'For indirect business: the resellers serving the customer (a reseller sees only itself)' })
  resellers(@Parent() relationship: RelationshipRecord, @Ctx() ctx: Context): Partner[] {
    return resellersVisibleTo(ctx.viewer!, relationship);
  }
}
