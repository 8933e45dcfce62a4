import { randomUUID } from 'node:crypto';
import { Collection, Embedded, Entity, Enum, ManyToMany, ManyToOne, PrimaryKey, Property, Unique, OptionalProps } from '@mikro-orm/core';
import { Contact } from '../common/contact';
import { Partner } from '../partners/partner.entity';
import { CloudInstance } from './customer.enums';

@Entity({ tableName: 'customers' })
export class Customer {
  [OptionalProps]?: 'id' | 'cloud' | 'createdAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property()
  @Unique()
  tenantId!: string;

  @Property()
  companyName!: string;

  @Property()
  domain!: string;

  /** ISO 3166-1 alpha-2, upper case. */
  @Property({ length: 2, index: true })
  country!: string;

  @Enum({ items: () => CloudInstance })
  cloud: CloudInstance = CloudInstance.PUBLIC;

  @Embedded(() => Contact, { prefix: 'contact_' })
  primaryContact!: Contact;

  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}

/** A (customer, billing partner) pair; for indirect business it names the reseller(s) too. */
@Entity({ tableName: 'customer_relationships' })
@Unique({ properties: ['customer', 'partner'] })
export class CustomerRelationship {
  [OptionalProps]?: 'id' | 'createdAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Customer, { deleteRule: 'cascade' })
  customer!: Customer;

  /** The billing partner: direct-bill partner or indirect provider. */
  @ManyToOne(() => Partner, { index: true })
  partner!: Partner;

  @ManyToMany({ entity: () => Partner, pivotTable: 'customer_relationship_resellers', joinColumn: 'relationship_id', inverseJoinColumn: 'reseller_id' })
  resellers = new Collection<Partner>(this);

  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
