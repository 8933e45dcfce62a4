import { Embeddable, Property } from '@mikro-orm/core';

/** A person inside the customer organization: the primary contact, or who accepted. */
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
