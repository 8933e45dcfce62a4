import { Field, ID, InputType, Int } from 'type-graphql';
import { ContactInput } from '../common/contact.inputs';

/** Validated in depth by attestation.rules.ts and AttestationService. */
@InputType({ description: "An enhanced attestation: Partner Center issues a link where the customer's signatory accepts the Microsoft Customer Agreement" })
export class RequestAttestationInput {
  @Field(() => ID, { description: 'The customer asked to accept' })
  customerId!: string;

  @Field(() => ID, { nullable: true, description: "The billing partner; defaults to the caller's partner (required for platform admins)" })
  partnerId?: string | null;

  @Field(() => ContactInput, { description: "The person asked to accept (with submissionId: the submission's contact is used instead)" })
  signatory!: ContactInput;

  @Field(() => String, { nullable: true, description: "The company name shown to the signatory; defaults to the customer's" })
  companyName?: string | null;

  @Field(() => String, { nullable: true, description: "ISO 3166-1 alpha-2 country of the agreement; defaults to the customer's" })
  country?: string | null;

  @Field({ description: 'BCP 47 language of the agreement, e.g. en-US' })
  language!: string;

  @Field(() => Int, { nullable: true, defaultValue: 4320, description: 'How long the acceptance link lives, in minutes: 5 to 10080 (7 days); default 3 days' })
  linkLifetimeMinutes?: number | null;

  @Field(() => ID, { nullable: true, description: "A provider attesting from its reseller's PENDING submission: the submission is approved once the attestation is RECORDED" })
  submissionId?: string | null;
}
