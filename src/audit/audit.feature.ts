import type { EntityManager } from '@mikro-orm/postgresql';
import { RuntimeSlot, routeIn, type Feature, type StatefulRoute } from '../kernel/feature';
import { createExportRoute, EXPORT_PATH } from './audit.export';
import { AuditTrailEntryResolver, CustomerAuditResolver } from './audit.resolver';
import { AuditChainLink } from './audit-chain.entity';
import { backfillAuditChain } from './audit.chain';

/** One gateway's export route: its slots and the exports in flight, ended at stop. */
const exportRoutes = new RuntimeSlot<StatefulRoute>('audit');

/** The audit trail: `Customer.auditTrail` in GraphQL and its HTTP export. */
export const auditFeature: Feature<StatefulRoute> = {
  name: 'audit',
  entities: [AuditChainLink],
  resolvers: [CustomerAuditResolver, AuditTrailEntryResolver],
  routes: [routeIn(exportRoutes, 'GET', EXPORT_PATH)],
  runtime: exportRoutes,
  // Chains of data written before the chain existed (src/audit/audit.chain.ts), then the export route.
  start: async (services) => {
    const { pairs, links } = await backfillAuditChain(services.orm.em.fork() as EntityManager);
    if (pairs) services.log.info({ pairs, links }, 'audit chain backfilled');
    return createExportRoute();
  },
  stop: (exports) => exports.stop(),
};
