import type { Feature } from '../kernel/feature';
import { AcceptancePolicyRule } from './policy.entity';
import { PolicyResolver } from './policy.resolver';

/** The requirement policy (DESIGN.md section 10): dated rules of which agreement types satisfy a transaction. */
export const policyFeature: Feature = {
  name: 'policy',
  entities: [AcceptancePolicyRule],
  resolvers: [PolicyResolver],
};
