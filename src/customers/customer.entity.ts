import { randomUUID } from 'node:crypto';
import { Collection, Embedded, Entity, Enum, Index, ManyToMany, ManyToOne, PrimaryKey, Property, Unique, OptionalProps } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { Contact } from '../common/contact';
import { Partner } from '../partners/partner.entity';
import { AgreementType } from '../agreements/agreement.enums';
import { CloudInstance } from './customer.enums';

/**
 * The GraphQL type too. Relationship, compliance and acceptance fields are field
 * resolvers (src/customers/customer.resolver.ts, src/acceptance), never columns.
 */
@ObjectType({ description: 'An organization buying Microsoft cloud services through one or more partners' })
@Entity({ tableName: 'customers' })
// The customer list's order (sortNameSql, then id) and the search's two sides (customerSearch), read
// live while the compliance directory is rebuilt (Migration20261209100000, built concurrently).
@Index({ name: 'customers_sort_name_id_index', expression: 'create index "customers_sort_name_id_index" on "customers" ((lower("company_name") collate "C"), "id")' })
@Index({ name: 'customers_domain_lower_index', expression: 'create index "customers_domain_lower_index" on "customers" ((lower("domain") collate "C"))' })
// The audit export's direct acceptances in time order, at the instant the trail shows (Migration20261208100000, built concurrently).
@Index({
  name: 'customers_direct_accepted_at_index',
  expression: `create index "customers_direct_accepted_at_index" on "customers" ((("direct_accepted_on")::timestamp at time zone 'UTC')) where "direct_acceptance_type" is not null and "direct_accepted_on" is not null`,
})
export class Customer {
  [OptionalProps]?: 'id' | 'cloud' | 'createdAt' | 'directAcceptanceType' | 'directAcceptedOn' | 'directAcceptanceSource';

  @Field(() => ID, { description: 'Customer id' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field({ description: "The customer's Microsoft Entra tenant id; unique" })
  @Property()
  @Unique()
  tenantId!: string;

  @Field({ description: 'Company name' })
  @Property()
  companyName!: string;

  @Field({ description: 'Primary domain name, lower case' })
  @Property()
  domain!: string;

  /** ISO 3166-1 alpha-2, upper case. */
  @Field({ description: 'ISO 3166-1 alpha-2 country code, e.g. US' })
  @Property({ length: 2, index: true })
  country!: string;

  @Field(() => CloudInstance, { description: 'The cloud instance the customer lives in' })
  @Enum({ items: () => CloudInstance })
  cloud: CloudInstance = CloudInstance.PUBLIC;

  @Field(() => Contact, { description: 'Primary contact inside the organization (masked for analysts)' })
  @Embedded(() => Contact, { prefix: 'contact_' })
  primaryContact!: Contact;

  @Field({ description: 'When the customer was created' })
  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();

  /** The customer's own acceptance with the vendor (DESIGN.md section 10): it satisfies every partner's transactions. */
  @Enum({ items: () => AgreementType, nullable: true })
  directAcceptanceType: AgreementType | null = null;

  /** YYYY-MM-DD. */
  @Property({ type: 'date', nullable: true })
  directAcceptedOn: string | null = null;

  /** Where the gateway learned it (a platform admin, Partner Center). */
  @Property({ type: 'text', nullable: true })
  directAcceptanceSource: string | null = null;
}

/** A (customer, billing partner) pair; for indirect business it names the reseller(s) too. */
@ObjectType({ description: 'A customer working with one billing partner, and for indirect business the reseller(s) serving it' })
@Entity({ tableName: 'customer_relationships' })
@Unique({ properties: ['customer', 'partner'] })
export class CustomerRelationship {
  [OptionalProps]?: 'id' | 'createdAt';

  @Field(() => ID, { description: 'Relationship id' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Customer, { deleteRule: 'cascade' })
  customer!: Customer;

  /** The billing partner: direct-bill partner or indirect provider. */
  @ManyToOne(() => Partner, { index: true })
  partner!: Partner;

  @ManyToMany({ entity: () => Partner, pivotTable: 'customer_relationship_resellers', joinColumn: 'relationship_id', inverseJoinColumn: 'reseller_id' })
  resellers = new Collection<Partner>(this);

  @Field({ description: 'When the relationship was created' })
  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
