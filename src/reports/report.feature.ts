import type { Feature } from '../kernel/feature';
import { ReportResolver } from './report.resolver';

/** Reports over the other features' data: no tables of its own. */
export const reportsFeature: Feature = {
  name: 'reports',
  resolvers: [ReportResolver],
};
