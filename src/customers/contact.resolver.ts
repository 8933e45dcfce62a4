import { Ctx, FieldResolver, Resolver } from 'type-graphql';
import { Parent } from '../common/parent';
import { contactValue } from '../auth/mask';
import { Contact } from '../common/contact';
import { EmailAddressScalar } from '../common/scalars';
import type { Context } from '../kernel/context';

/**
 * Every contact field (primary contacts, acceptance contacts) reaches clients only
 * here, through `contactValue`, so analysts always see masked values.
 */
@Resolver(() => Contact)
export class ContactResolver {
  @FieldResolver(() => String, { description: 'Given name (masked for analysts)' })
  firstName(@Parent() contact: Contact, @Ctx() ctx: Context): string {
    return contactValue(ctx.viewer, 'name', contact.firstName)!;
  }

  @FieldResolver(() => String, { description: 'Family name (masked for analysts)' })
  lastName(@Parent() contact: Contact, @Ctx() ctx: Context): string {
    return contactValue(ctx.viewer, 'name', contact.lastName)!;
  }

  // A masked address (j***@example.com) is still a valid EmailAddress.
  @FieldResolver(() => EmailAddressScalar, { description: 'Email address (masked for analysts)' })
  email(@Parent() contact: Contact, @Ctx() ctx: Context): string {
    return contactValue(ctx.viewer, 'email', contact.email)!;
  }

  // String, not PhoneNumber: a masked number (**********00) fails the PhoneNumber
  // scalar's output check, and analysts must still get an answer.
  @FieldResolver(() => String, { nullable: true, description: 'Phone number in E.164, e.g. +14255550100 (masked for analysts)' })
  phoneNumber(@Parent() contact: Contact, @Ctx() ctx: Context): string | null {
    return contactValue(ctx.viewer, 'phone', contact.phoneNumber);
  }
}
