import type { Feature } from '../kernel/feature';
import { Partner, ResellerLink, User } from './partner.entity';
import { PartnerResolver } from './partner.resolver';

/** Partners, their users and reseller links. */
export const partnersFeature: Feature = {
  name: 'partners',
  entities: [Partner, ResellerLink, User],
  resolvers: [PartnerResolver],
};
