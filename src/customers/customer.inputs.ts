import { Field, ID, InputType } from 'type-graphql';
import { ComplianceStatus } from '../acceptance/acceptance.enums';
import { ContactInput } from '../common/contact.inputs';
import { CloudInstance } from './customer.enums';

/** Checked in depth by `normalizeCustomerData` (customer.rules.ts), which names the offending field. */
@InputType({ description: 'A new customer and its first relationship' })
export class CreateCustomerInput {
  @Field({ description: 'Company name; required, trimmed' })
  companyName!: string;

  @Field({ description: 'Primary domain name, e.g. contoso.com' })
  domain!: string;

  @Field({ description: 'ISO 3166-1 alpha-2 country code, e.g. US (any case)' })
  country!: string;

  @Field(() => CloudInstance, { nullable: true, defaultValue: CloudInstance.PUBLIC, description: 'Cloud instance; PUBLIC when absent' })
  cloud?: CloudInstance | null;

  @Field(() => String, { nullable: true, description: "The customer's Microsoft Entra tenant id; generated when absent; unique" })
  tenantId?: string | null;

  @Field(() => ContactInput, { description: 'Primary contact inside the organization' })
  primaryContact!: ContactInput;

  @Field(() => ID, {
    nullable: true,
    description: "Billing partner (direct-bill partner or provider); defaults to the caller's partner. Required for platform admins and resellers",
  })
  partnerId?: string | null;

  @Field(() => ID, { nullable: true, description: 'For indirect business: the reseller serving the customer, linked to the billing partner' })
  resellerId?: string | null;
}

@InputType({ description: 'A billing partner for an existing customer, or a reseller added to an existing relationship' })
export class AddCustomerRelationshipInput {
  @Field(() => ID, { description: 'The customer' })
  customerId!: string;

  @Field(() => ID, { description: 'The billing partner (direct-bill partner or provider)' })
  partnerId!: string;

  @Field(() => ID, { nullable: true, description: 'A reseller linked to the billing partner, added to the relationship' })
  resellerId?: string | null;
}

@InputType({ description: 'Narrows a customer list; every given field must match' })
export class CustomerFilter {
  @Field(() => ID, { nullable: true, description: 'Customers this partner serves, as billing partner or as reseller' })
  partnerId?: string | null;

  @Field(() => ComplianceStatus, {
    nullable: true,
    description: "Customers with this compliance status, relative to partnerId, else the caller's partner, else the least compliant across billing partners",
  })
  complianceStatus?: ComplianceStatus | null;

  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2 country code' })
  country?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Start of the company name, or the domain whole or by its first labels (contoso finds contoso.com), ignoring case, as Partner Center searches customers',
  })
  search?: string | null;
}
