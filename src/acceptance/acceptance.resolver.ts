import { Arg, Args, Authorized, Ctx, Field, FieldResolver, ID, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { Parent } from '../common/parent';
import { ANY_ROLE, PartnerType, WRITERS } from '../auth/roles';
import { contactValue, type ContactKind } from '../auth/mask';
import { mayReadPartner as mayReadPartnerOf, mayReadPartnerAtOnce, NO_PARTNER, partnerNamedBy, type LinkedPartners } from '../auth/tenancy';
import { ConnectionType, PageArgs } from '../common/connection';
import type { Context } from '../kernel/context';
import { Customer } from '../customers/customer.entity';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { templateById } from '../agreements/agreement.loaders';
import { Partner, User } from '../partners/partner.entity';
import { partnerById, providersOfReseller, resellersOfProvider, userById } from '../partners/partner.loaders';
import { customerById } from '../customers/customer.loaders';
import { Subscription } from '../transactions/transaction.entity';
import type { SubscriptionRecord } from '../transactions/transaction.queries';
import { Acceptance, AcceptanceCorrection, AcceptanceSubmission } from './acceptance.entity';
import { ComplianceStatus, SubmissionStatus } from './acceptance.enums';
import {
  ConfirmCustomerAcceptanceInput,
  CorrectAcceptanceContactInput,
  ReviewAcceptanceSubmissionInput,
  SubmitAcceptanceInput,
  WithdrawCustomerAcceptanceInput,
} from './acceptance.inputs';
import {
  acceptanceById,
  acceptanceHistoryOf,
  acceptanceFactsOf,
  correctionsOf,
  subscriptionsOfCustomer,
} from './acceptance.loaders';
import { AcceptanceService } from './acceptance.service';
import { complianceScope } from './compliance';
import { SubmissionService } from './submission.service';

export const AcceptanceSubmissionConnection = ConnectionType('AcceptanceSubmission', AcceptanceSubmission);

@ObjectType({ description: 'The recorded confirmation, and the one it replaced' })
export class ConfirmCustomerAcceptancePayload {
  @Field(() => Acceptance, { description: 'The new, active acceptance' })
  acceptance!: Acceptance;

  @Field(() => Acceptance, { nullable: true, description: 'The acceptance this one superseded, if there was an active one' })
  superseded!: Acceptance | null;
}

@ObjectType({ description: 'The corrected acceptance' })
export class CorrectAcceptanceContactPayload {
  @Field(() => Acceptance, { description: 'The acceptance with its corrected contact and its corrections' })
  acceptance!: Acceptance;
}

@ObjectType({ description: 'The withdrawn acceptance and what the withdrawal cancelled' })
export class WithdrawCustomerAcceptancePayload {
  @Field(() => Acceptance, { description: 'The acceptance, now WITHDRAWN' })
  acceptance!: Acceptance;

  @Field(() => [Subscription], { description: "The partner's subscriptions of this customer the withdrawal cancelled: those still inside their cancellation window" })
  cancelledSubscriptions!: SubscriptionRecord[];

  @Field(() => [Subscription], { description: "The partner's other subscriptions of this customer: auto-renew turned off, ENDING at renewsOn" })
  endingSubscriptions!: SubscriptionRecord[];
}

@ObjectType({ description: 'The submission handed to the provider' })
export class SubmitAcceptancePayload {
  @Field(() => AcceptanceSubmission, { description: 'The new, PENDING submission' })
  submission!: AcceptanceSubmission;
}

@ObjectType({ description: "The reviewed submission and, on approval, the provider's acceptance" })
export class ReviewAcceptanceSubmissionPayload {
  @Field(() => AcceptanceSubmission, { description: 'The submission, now APPROVED or REJECTED' })
  submission!: AcceptanceSubmission;

  @Field(() => Acceptance, { nullable: true, description: "The provider's acceptance recorded on approval" })
  acceptance!: Acceptance | null;
}

const acceptances = (ctx: Context) => new AcceptanceService(ctx.em, ctx.viewer!);
const submissions = (ctx: Context) => new SubmissionService(ctx.em, ctx.viewer!);

const loadUser = (ctx: Context, user: User | null | undefined) => (user ? userById.of(ctx).load(user.id) : null);
const loadPartner = (ctx: Context, partner: Partner | null | undefined) => (partner ? partnerById.of(ctx).load(partner.id) : null);

@Resolver(() => Acceptance)
export class AcceptanceResolver {
  @Authorized(WRITERS)
  @Mutation(() => ConfirmCustomerAcceptancePayload, {
    description: "Records a customer's acceptance for its billing partner, superseding the active one (billing partners and platform admins; never a reseller)",
  })
  async confirmCustomerAcceptance(@Arg('input', () => ConfirmCustomerAcceptanceInput, { description: 'The customer, partner, template, date and contact of the acceptance' }) input: ConfirmCustomerAcceptanceInput, @Ctx() ctx: Context): Promise<ConfirmCustomerAcceptancePayload> {
    const result = await acceptances(ctx).confirm(input);
    ctx.loaders.clear();
    return result;
  }

  @Authorized(WRITERS)
  @Mutation(() => CorrectAcceptanceContactPayload, { description: "Corrects the contact of the partner's active acceptance; every changed field is kept in `corrections`" })
  async correctAcceptanceContact(@Arg('input', () => CorrectAcceptanceContactInput, { description: 'The acceptance and its corrected contact' }) input: CorrectAcceptanceContactInput, @Ctx() ctx: Context): Promise<CorrectAcceptanceContactPayload> {
    const acceptance = await acceptances(ctx).correctContact(input);
    ctx.loaders.clear();
    return { acceptance };
  }

  @Authorized(WRITERS)
  @Mutation(() => WithdrawCustomerAcceptancePayload, {
    description:
      "Withdraws the partner's active acceptance; the partner's subscriptions of that customer still inside their cancellation window are cancelled, the others set not to renew (ENDING)",
  })
  async withdrawCustomerAcceptance(@Arg('input', () => WithdrawCustomerAcceptanceInput, { description: 'The customer, partner and reason' }) input: WithdrawCustomerAcceptanceInput, @Ctx() ctx: Context): Promise<WithdrawCustomerAcceptancePayload> {
    const { acceptance, cancelled, ending } = await acceptances(ctx).withdraw(input);
    ctx.loaders.clear();
    return { acceptance, cancelledSubscriptions: cancelled, endingSubscriptions: ending };
  }

  @FieldResolver(() => AgreementTemplate, { description: 'The accepted agreement template' })
  agreement(@Parent() a: Acceptance, @Ctx() ctx: Context) {
    // Usually primed by the statement that read the acceptance: answered at once.
    return templateById.of(ctx).primedOrLoad(a.template.templateId);
  }

  @FieldResolver(() => Partner, { description: 'The billing partner that confirmed' })
  partner(@Parent() a: Acceptance, @Ctx() ctx: Context) {
    return loadPartner(ctx, a.partner);
  }

  @FieldResolver(() => Customer, { description: 'The customer who accepted' })
  customer(@Parent() a: Acceptance, @Ctx() ctx: Context) {
    return customerById.of(ctx).load(a.customer.id);
  }

  @FieldResolver(() => User, { description: 'The partner user who recorded the confirmation' })
  confirmedBy(@Parent() a: Acceptance, @Ctx() ctx: Context) {
    return loadUser(ctx, a.confirmedBy);
  }

  @FieldResolver(() => User, { nullable: true, description: 'Who withdrew the acceptance' })
  withdrawnBy(@Parent() a: Acceptance, @Ctx() ctx: Context) {
    return loadUser(ctx, a.withdrawnBy);
  }

  @FieldResolver(() => [AcceptanceCorrection], { description: 'Every correction of the contact, oldest first (the audit trail)' })
  corrections(@Parent() a: Acceptance, @Ctx() ctx: Context) {
    return correctionsOf.of(ctx).load(a.id);
  }
}

const correctionKind = (field: string): ContactKind => (field === 'email' ? 'email' : field === 'phoneNumber' ? 'phone' : 'name');

@Resolver(() => AcceptanceCorrection)
export class AcceptanceCorrectionResolver {
  @FieldResolver(() => User, { description: 'Who made the correction' })
  correctedBy(@Parent() c: AcceptanceCorrection, @Ctx() ctx: Context) {
    return loadUser(ctx, c.correctedBy);
  }

  @FieldResolver(() => String, { nullable: true, description: 'The value before (contact data: masked for analysts)' })
  oldValue(@Parent() c: AcceptanceCorrection, @Ctx() ctx: Context): string | null {
    return contactValue(ctx.viewer, correctionKind(c.field), c.oldValue);
  }

  @FieldResolver(() => String, { nullable: true, description: 'The value after (contact data: masked for analysts)' })
  newValue(@Parent() c: AcceptanceCorrection, @Ctx() ctx: Context): string | null {
    return contactValue(ctx.viewer, correctionKind(c.field), c.newValue);
  }
}

@Resolver(() => AcceptanceSubmission)
export class AcceptanceSubmissionResolver {
  @Authorized(WRITERS)
  @Mutation(() => SubmitAcceptancePayload, { description: 'A reseller hands acceptance details to a provider it is linked to, for review' })
  async submitAcceptanceToProvider(@Arg('input', () => SubmitAcceptanceInput, { description: 'The customer, provider and acceptance details' }) input: SubmitAcceptanceInput, @Ctx() ctx: Context): Promise<SubmitAcceptancePayload> {
    return { submission: await submissions(ctx).submit(input) };
  }

  @Authorized(WRITERS)
  @Mutation(() => ReviewAcceptanceSubmissionPayload, {
    description: "The provider approves a submission (recording its own acceptance, onBehalfOf naming the reseller) or rejects it with a note",
  })
  async reviewAcceptanceSubmission(@Arg('input', () => ReviewAcceptanceSubmissionInput, { description: 'The submission and the decision' }) input: ReviewAcceptanceSubmissionInput, @Ctx() ctx: Context): Promise<ReviewAcceptanceSubmissionPayload> {
    const result = await submissions(ctx).review(input);
    ctx.loaders.clear();
    return result;
  }

  @Authorized(ANY_ROLE)
  @Query(() => AcceptanceSubmissionConnection, {
    description: 'Submissions the caller may see: a provider those made to it, a reseller its own, platform roles all',
  })
  acceptanceSubmissions(
    @Arg('status', () => SubmissionStatus, { nullable: true, description: 'Only submissions in this state' }) status: SubmissionStatus | null,
    @Args() page: PageArgs,
    @Ctx() ctx: Context,
  ) {
    return submissions(ctx).list({ status, ...page });
  }

  @FieldResolver(() => Customer, { description: 'The customer who accepted' })
  customer(@Parent() s: AcceptanceSubmission, @Ctx() ctx: Context) {
    return customerById.of(ctx).load(s.customer.id);
  }

  @FieldResolver(() => Partner, { description: 'The provider asked to confirm' })
  provider(@Parent() s: AcceptanceSubmission, @Ctx() ctx: Context) {
    return loadPartner(ctx, s.provider);
  }

  @FieldResolver(() => Partner, { description: 'The reseller that submitted' })
  reseller(@Parent() s: AcceptanceSubmission, @Ctx() ctx: Context) {
    return loadPartner(ctx, s.reseller);
  }

  @FieldResolver(() => AgreementTemplate, { description: 'The accepted agreement template' })
  agreement(@Parent() s: AcceptanceSubmission, @Ctx() ctx: Context) {
    return templateById.of(ctx).load(s.template.templateId);
  }

  @FieldResolver(() => User, { description: 'The reseller user who submitted' })
  submittedBy(@Parent() s: AcceptanceSubmission, @Ctx() ctx: Context) {
    return loadUser(ctx, s.submittedBy);
  }

  @FieldResolver(() => User, { nullable: true, description: 'The provider user who reviewed' })
  reviewedBy(@Parent() s: AcceptanceSubmission, @Ctx() ctx: Context) {
    return loadUser(ctx, s.reviewedBy);
  }

  @FieldResolver(() => Acceptance, { nullable: true, description: "The provider's acceptance recorded on approval" })
  acceptance(@Parent() s: AcceptanceSubmission, @Ctx() ctx: Context) {
    return s.acceptance ? acceptanceById.of(ctx).load(s.acceptance.id) : null;
  }
}

const partnerArg = { nullable: true, description: "The billing partner; defaults to the caller's partner (for callers without one: see the field)" };

/** src/auth/tenancy.ts's mayReadPartner, with the request's loader of a reseller's providers. */
export function mayReadPartner(ctx: Context, partnerId: string | null | undefined): Promise<boolean> {
  return mayReadPartnerOf(ctx.viewer!, partnerId, linkedThrough(ctx));
}

/** LinkedPartners through the request's loaders: a reseller's providers, a provider's resellers. */
const linkedThrough =
  (ctx: Context): LinkedPartners =>
  async (viewer, other) =>
    (await (viewer.partnerType === PartnerType.INDIRECT_RESELLER ? providersOfReseller : resellersOfProvider).of(ctx).load(viewer.partnerId!)).some((p) => p.id === other);

/** The acceptance fields of a customer (DESIGN.md section 2), all through DataLoaders. */
@Resolver(() => Customer)
export class CustomerAcceptanceResolver {
  @FieldResolver(() => ComplianceStatus, {
    description:
      'Acceptance state relative to one billing partner: the argument, else the caller\'s partner; for callers without a partner, the least compliant across the customer\'s billing partners (MISSING, WITHDRAWN, REACCEPTANCE_REQUIRED, OUTDATED, CONFIRMED); NOT_APPLICABLE on national clouds',
  })
  complianceStatus(
    @Parent() customer: Customer,
    @Arg('partnerId', () => ID, partnerArg) partnerId: string | null,
    @Ctx() ctx: Context,
  ): Promise<ComplianceStatus> {
    const status = (named: string | null) => acceptanceFactsOf.of(ctx).load({ scope: complianceScope(ctx.viewer!, named), customerId: customer.id }).then((f) => f.status);
    // Another tenant's partner answers as an unknown one would (MISSING), not with its status.
    // Not async: a page's rows ask this 50 times, and most callers need no lookup for it.
    const readable = mayReadPartnerAtOnce(ctx.viewer!, partnerId);
    if (readable !== undefined) return status(readable ? partnerId : NO_PARTNER);
    return partnerNamedBy(ctx.viewer!, partnerId, linkedThrough(ctx)).then(status);
  }

  @FieldResolver(() => Acceptance, {
    nullable: true,
    description:
      'The acceptance relative to one billing partner (the active one, else the latest); for callers without a partner and no argument, the only billing partner\'s, null when there are several',
  })
  acceptance(
    @Parent() customer: Customer,
    @Arg('partnerId', () => ID, partnerArg) partnerId: string | null,
    @Ctx() ctx: Context,
  ): Promise<Acceptance | null> | null {
    const acceptance = () => acceptanceFactsOf.of(ctx).load({ scope: complianceScope(ctx.viewer!, partnerId), customerId: customer.id }).then((f) => f.acceptance);
    // Not async, as complianceStatus.
    const readable = mayReadPartnerAtOnce(ctx.viewer!, partnerId);
    if (readable !== undefined) return readable ? acceptance() : null;
    return mayReadPartner(ctx, partnerId).then((may) => (may ? acceptance() : null));
  }

  @FieldResolver(() => [Acceptance], {
    description: 'Every acceptance relative to the billing partner (all billing partners for callers without one), newest first, superseded and withdrawn ones included',
  })
  async acceptanceHistory(
    @Parent() customer: Customer,
    @Arg('partnerId', () => ID, partnerArg) partnerId: string | null,
    @Ctx() ctx: Context,
  ): Promise<Acceptance[]> {
    if (!(await mayReadPartner(ctx, partnerId))) return [];
    return acceptanceHistoryOf.of(ctx).load({ scope: complianceScope(ctx.viewer!, partnerId), customerId: customer.id });
  }

  @FieldResolver(() => [Subscription], { description: "The customer's subscriptions the caller may see (its own as billing partner or reseller), oldest first" })
  subscriptions(@Parent() customer: Customer, @Ctx() ctx: Context): Promise<Subscription[]> {
    return subscriptionsOfCustomer.of(ctx).load(customer.id);
  }
}
