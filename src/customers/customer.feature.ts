import type { Feature } from '../kernel/feature';
import { Contact } from '../common/contact';
import { ContactResolver } from './contact.resolver';
import { Customer, CustomerRelationship } from './customer.entity';
import { CustomerRelationshipResolver, CustomerResolver } from './customer.resolver';
import { DirectAcceptanceResolver } from './direct-acceptance.resolver';

/** Customers, the partners serving them, and their primary contact (an embeddable shared with acceptances). */
export const customersFeature: Feature = {
  name: 'customers',
  entities: [Customer, CustomerRelationship, Contact],
  resolvers: [CustomerResolver, CustomerRelationshipResolver, ContactResolver, DirectAcceptanceResolver],
};
