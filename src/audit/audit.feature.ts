import { RuntimeSlot, routeIn, type Feature, type StatefulRoute } from '../kernel/feature';
import { createExportRoute, EXPORT_PATH } from './audit.export';
import { AuditTrailEntryResolver, CustomerAuditResolver } from './audit.resolver';

/** One gateway's export route: its slots and the exports in flight, ended at stop. */
const exportRoutes = new RuntimeSlot<StatefulRoute>('audit');

/** The audit trail: `Customer.auditTrail` in GraphQL and its HTTP export. */
export const auditFeature: Feature<StatefulRoute> = {
  name: 'audit',
  resolvers: [CustomerAuditResolver, AuditTrailEntryResolver],
  routes: [routeIn(exportRoutes, 'GET', EXPORT_PATH)],
  runtime: exportRoutes,
  start: async () => createExportRoute(),
  stop: (exports) => exports.stop(),
};
