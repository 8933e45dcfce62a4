import type { Feature } from '../kernel/feature';
import { AgreementTemplate } from './agreement.entity';
import { AgreementResolver } from './agreement.resolver';

/** Agreement templates and the current-template rule. */
export const agreementsFeature: Feature = {
  name: 'agreements',
  entities: [AgreementTemplate],
  resolvers: [AgreementResolver],
};
