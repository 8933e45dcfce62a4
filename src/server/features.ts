import type { Server } from 'node:http';
import type { Services } from './context';
import type { Route } from './routes';
import { alertsFeature } from '../alerts/alert.feature';
import { createGraphiQLFeature } from '../graphiql/graphiql.feature';
import { renewalsFeature } from '../renewals/renewal.feature';
import { auditFeature } from '../audit/audit.feature';
import { partnerCenterFeature } from '../partner-center/partner-center.feature';

/**
 * A feature that needs more than resolvers: background listeners, job queues,
 * HTTP endpoints. Started after migrations, stopped before the database closes.
 */
export interface Feature {
  name: string;
  routes?: Route[];
  start?(services: Services, httpServer: Server): Promise<void>;
  stop?(services: Services): Promise<void>;
}

/** Features in start order; they stop in reverse. */
export function features(): Feature[] {
  return [createGraphiQLFeature(), alertsFeature(), renewalsFeature(), auditFeature(), partnerCenterFeature()];
}
