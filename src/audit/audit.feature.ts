import type { Feature } from '../server/features';
import { exportRoute } from './audit.export';

/** The audit trail's HTTP export (the GraphQL trail needs no lifecycle). */
export function auditFeature(): Feature {
  return { name: 'audit', routes: [exportRoute] };
}
