import type { Partner } from '../partners/partner.entity';
import type { Customer } from './customer.entity';

/** The customers feature's row type and its one mapper, for every statement that reads customers. */

/**
 * A customer's relationship with one billing partner as the customer page reads it: a
 * plain, read-only record (customer and billing partner as ids, which the field
 * resolvers look up; the resellers as read with it).
 */
export interface RelationshipRecord {
  id: string;
  customer: { id: string };
  partner: { id: string };
  resellers: Partner[];
  createdAt: Date;
}

/** A `customers` row as the connection returns it (timestamps as text). */
export interface CustomerRow {
  id: string;
  tenant_id: string;
  company_name: string;
  domain: string;
  country: string;
  cloud: Customer['cloud'];
  contact_first_name: string;
  contact_last_name: string;
  contact_email: string;
  contact_phone_number: string | null;
  created_at: string;
}

/**
 * A read-only plain object of the entity's shape: a page of customers is only read,
 * and hydrating managed entities cost a large share of the page's CPU.
 */
export function plainCustomer(r: CustomerRow): Customer {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    companyName: r.company_name,
    domain: r.domain,
    country: r.country,
    cloud: r.cloud,
    primaryContact: { firstName: r.contact_first_name, lastName: r.contact_last_name, email: r.contact_email, phoneNumber: r.contact_phone_number },
    createdAt: new Date(r.created_at),
  } as Customer;
}
