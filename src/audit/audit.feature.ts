import type { Feature } from '../kernel/feature';
import { exportRoute } from './audit.export';
import { AuditTrailEntryResolver, CustomerAuditResolver } from './audit.resolver';

/** The audit trail: `Customer.auditTrail` in GraphQL and its HTTP export (no lifecycle). */
export const auditFeature: Feature = {
  name: 'audit',
  resolvers: [CustomerAuditResolver, AuditTrailEntryResolver],
  routes: [exportRoute],
};
