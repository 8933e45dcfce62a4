import { Field, InputType } from 'type-graphql';
import { EmailAddressScalar, PhoneNumberScalar } from './scalars';

/** Validated in depth by `normalizeContact` (src/common/contact.ts), which services call. */
@InputType({ description: 'A person inside the customer organization' })
export class ContactInput {
  @Field({ description: 'Given name; required, trimmed' })
  firstName!: string;

  @Field({ description: 'Family name; required, trimmed' })
  lastName!: string;

  @Field(() => EmailAddressScalar, { description: 'Email address' })
  email!: string;

  @Field(() => PhoneNumberScalar, { nullable: true, description: 'Phone number in E.164, e.g. +14255550100' })
  phoneNumber?: string | null;
}
