import { Field, ID, InputType } from 'type-graphql';
import { ContactInput } from '../common/contact.inputs';
import { DateScalar } from '../common/scalars';
import { Channel, ReviewDecision } from './acceptance.enums';

/** Validated in depth by AcceptanceService (contact, dates, template). */
@InputType({ description: "A customer's acceptance of the agreement, recorded by its billing partner" })
export class ConfirmCustomerAcceptanceInput {
  @Field(() => ID, { description: 'The customer who accepted' })
  customerId!: string;

  @Field(() => ID, { nullable: true, description: "The billing partner confirming; defaults to the caller's partner (required for platform admins)" })
  partnerId?: string | null;

  @Field({ description: "The accepted template, of either agreement type, for the customer's country or GLOBAL" })
  templateId!: string;

  @Field(() => DateScalar, { description: "The day the person accepted: not in the future, not before the template's effectiveFrom" })
  dateAgreed!: string;

  @Field(() => ContactInput, { description: 'The person inside the customer organization who accepted' })
  contact!: ContactInput;

  @Field(() => String, { nullable: true, description: 'The employee behind a shared service account recording this' })
  onBehalfOf?: string | null;

  @Field(() => Channel, { nullable: true, defaultValue: Channel.API, description: 'Where the confirmation is recorded' })
  channel?: Channel | null;
}

@InputType({ description: 'A corrected contact for an acceptance; each changed field joins the audit trail' })
export class CorrectAcceptanceContactInput {
  @Field(() => ID, { description: 'The acceptance to correct' })
  acceptanceId!: string;

  @Field(() => ContactInput, { description: 'The whole contact as it should read' })
  contact!: ContactInput;
}

@InputType({ description: 'Withdraws the active acceptance of a customer with a billing partner' })
export class WithdrawCustomerAcceptanceInput {
  @Field(() => ID, { description: 'The customer that no longer agrees' })
  customerId!: string;

  @Field(() => ID, { nullable: true, description: "The billing partner; defaults to the caller's partner (required for platform admins)" })
  partnerId?: string | null;

  @Field({ description: 'Why the acceptance is withdrawn; required' })
  reason!: string;
}

@InputType({ description: 'Acceptance details a reseller hands to its provider' })
export class SubmitAcceptanceInput {
  @Field(() => ID, { description: 'The customer who accepted' })
  customerId!: string;

  @Field(() => ID, { description: 'The provider the reseller sells through for this customer' })
  providerId!: string;

  @Field({ description: "The accepted template, of either agreement type, for the customer's country or GLOBAL" })
  templateId!: string;

  @Field(() => DateScalar, { description: "The day the person accepted: not in the future, not before the template's effectiveFrom" })
  dateAgreed!: string;

  @Field(() => ContactInput, { description: 'The person inside the customer organization who accepted' })
  contact!: ContactInput;
}

@InputType({ description: "A provider's review of a reseller's submission" })
export class ReviewAcceptanceSubmissionInput {
  @Field(() => ID, { description: 'The submission to review' })
  submissionId!: string;

  @Field(() => ReviewDecision, { description: 'APPROVE records the confirmation; REJECT sends it back' })
  decision!: ReviewDecision;

  @Field(() => String, { nullable: true, description: 'A note for the reseller; required when rejecting' })
  note?: string | null;
}
