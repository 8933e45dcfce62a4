import type { Feature } from '../server/features';
import { createExportRoute } from './audit.export';

/** The audit trail's HTTP export (the GraphQL trail needs no lifecycle); its exports end at stop. */
export function auditFeature(): Feature {
  const exports = createExportRoute();
  return { name: 'audit', routes: [exports.route], stop: () => exports.stop() };
}
