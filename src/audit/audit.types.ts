import { Field, ObjectType } from 'type-graphql';
import { AuditEvent } from './audit.enums';

/** One event of an acceptance's audit trail; related records resolve through DataLoaders. */
@ObjectType({ description: "One event of a customer's acceptance with a partner: what happened, who did it, when" })
export class AuditTrailEntry {
  @Field({ description: 'When it happened' })
  at!: Date;

  @Field(() => AuditEvent, { description: 'What happened' })
  event!: AuditEvent;

  @Field(() => String, { nullable: true, description: 'CORRECTED: the contact field changed (firstName, lastName, email or phoneNumber)' })
  field!: string | null;

  @Field(() => String, { nullable: true, description: 'CORRECTED: the value before (contact data: masked for analysts)' })
  oldValue!: string | null;

  @Field(() => String, { nullable: true, description: 'CORRECTED: the value after (contact data: masked for analysts)' })
  newValue!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "WITHDRAWN: the reason; APPROVED or REJECTED: the provider's note; CONFIRMED: onBehalfOf, when recorded; DIRECT_ACCEPTANCE: the agreement type and where it was learned; SUBSCRIPTION_CANCELLED, AUTO_RENEW_OFF, AUTO_RENEW_ON: the subscription (and 'withdrawal:' when a withdrawal did it)",
  })
  note!: string | null;

  customerId!: string;
  partnerId!: string;
  acceptanceId!: string | null;
  actorId!: string | null;
}
