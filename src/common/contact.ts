import { Embeddable, Property } from '@mikro-orm/core';
import { Field, ObjectType } from 'type-graphql';
import { isValidPhoneNumber } from 'libphonenumber-js';
import { BadUserInputError } from '../errors';
import { hasControlCharacters } from './text';

/**
 * A person inside the customer organization: the primary contact, or who accepted.
 * Its fields reach GraphQL through ContactResolver (src/customers), which masks
 * them for analysts.
 */
@ObjectType({ description: 'A person inside the customer organization' })
@Embeddable()
export class Contact {
  @Property()
  firstName!: string;

  @Property()
  lastName!: string;

  @Property()
  email!: string;

  @Property({ nullable: true })
  phoneNumber?: string | null;
}

export interface ContactData {
  firstName: string;
  lastName: string;
  email: string;
  phoneNumber?: string | null;
}

const NAME_MAX = 100;
const EMAIL_MAX = 254;

/**
 * The contact rules of DESIGN.md section 4, shared by customers, acceptances and
 * submissions: names required and trimmed, email of valid format, phone (when
 * given) a valid number. `field` prefixes the offending field in errors.
 */
export function normalizeContact(input: ContactData, field: string): Contact {
  const name = (key: 'firstName' | 'lastName') => {
    const value = (input[key] ?? '').trim();
    if (!value) throw new BadUserInputError(`${key} is required`, `${field}.${key}`);
    if (value.length > NAME_MAX) throw new BadUserInputError(`${key} is longer than ${NAME_MAX} characters`, `${field}.${key}`);
    if (hasControlCharacters(value)) throw new BadUserInputError(`${key} contains control characters`, `${field}.${key}`);
    return value;
  };
  const email = (input.email ?? '').trim();
  if (!email || email.length > EMAIL_MAX || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw new BadUserInputError('email is not a valid email address', `${field}.email`);
  }
  let phoneNumber: string | null = null;
  if (input.phoneNumber !== undefined && input.phoneNumber !== null && input.phoneNumber.trim() !== '') {
    phoneNumber = input.phoneNumber.trim();
    if (!isValidPhoneNumber(phoneNumber)) throw new BadUserInputError('phoneNumber is not a valid phone number', `${field}.phoneNumber`);
  }
  const contact = new Contact();
  contact.firstName = name('firstName');
  contact.lastName = name('lastName');
  contact.email = email;
  contact.phoneNumber = phoneNumber;
  return contact;
}
