import { Arg, Ctx, FieldResolver, ID, Resolver } from 'type-graphql';
import { Parent } from '../common/parent';
import type { Context } from '../kernel/context';
import { Customer } from '../customers/customer.entity';
import { Partner, User } from '../partners/partner.entity';
import { partnerById, userById } from '../partners/partner.loaders';
import { Acceptance } from '../acceptance/acceptance.entity';
import { acceptanceById } from '../acceptance/acceptance.loaders';
import { customerById } from '../customers/customer.loaders';
import { mayReadPartner } from '../acceptance/acceptance.resolver';
import { complianceScope } from '../acceptance/compliance';
import { auditTrailOf } from './audit.loaders';
import { AuditTrailEntry } from './audit.types';

/** `Customer.auditTrail` (DESIGN.md section 9), batched over a page of customers. */
@Resolver(() => Customer)
export class CustomerAuditResolver {
  @FieldResolver(() => [AuditTrailEntry], {
    description:
      "Every event of the customer's acceptance with the partner, oldest first: confirmed, superseded, corrected, withdrawn, submitted, approved, rejected (and synced where Partner Center sync exists), with actor and time, and the customer's direct acceptance (it counts for every partner). Partner: the argument, else the caller's (a reseller: the providers it serves the customer through); callers without a partner and no argument: every billing partner",
  })
  async auditTrail(
    @Parent() customer: Customer,
    @Arg('partnerId', () => ID, { nullable: true, description: "The billing partner; defaults to the caller's partner" }) partnerId: string | null,
    @Ctx() ctx: Context,
  ): Promise<AuditTrailEntry[]> {
    // Another tenant's partner reads as one with no events, as for acceptanceHistory.
    if (!(await mayReadPartner(ctx, partnerId))) return [];
    return auditTrailOf.of(ctx).load({ scope: complianceScope(ctx.viewer!, partnerId), customerId: customer.id });
  }
}

@Resolver(() => AuditTrailEntry)
export class AuditTrailEntryResolver {
  @FieldResolver(() => User, { nullable: true, description: 'Who did it (null when the system did)' })
  actor(@Parent() e: AuditTrailEntry, @Ctx() ctx: Context) {
    return e.actorId ? userById.of(ctx).load(e.actorId) : null;
  }

  @FieldResolver(() => Acceptance, { nullable: true, description: 'The acceptance concerned (null for a submission not approved)' })
  acceptance(@Parent() e: AuditTrailEntry, @Ctx() ctx: Context) {
    return e.acceptanceId ? acceptanceById.of(ctx).load(e.acceptanceId) : null;
  }

  @FieldResolver(() => Partner, { description: 'The billing partner whose trail this is' })
  partner(@Parent() e: AuditTrailEntry, @Ctx() ctx: Context) {
    return partnerById.of(ctx).load(e.partnerId);
  }

  @FieldResolver(() => Customer, { description: 'The customer' })
  customer(@Parent() e: AuditTrailEntry, @Ctx() ctx: Context) {
    return customerById.of(ctx).load(e.customerId);
  }
}
