import { RuntimeSlot, routeIn, type Feature, type StatefulRoute } from '../kernel/feature';
import { alertHub } from '../alerts/alert.runtime';
import { CONNECTION_ALERTS, PartnerCenterConnectionAlert } from './connection-alert';
import { createImportRoute, IMPORT_PATH } from './import.route';
import { AcceptanceImport, AcceptanceSync, PartnerCenterConnection, PartnerCenterExchange, PartnerCenterThrottle } from './partner-center.entity';
import {
  AcceptanceSyncFieldResolver,
  AcceptanceSyncItemResolver,
  PartnerCenterConnectionAlertResolver,
  PartnerCenterConnectionResolver,
  PartnerCenterResolver,
} from './partner-center.resolver';
import { SyncEngine, syncEngines } from './sync.engine';

/** One gateway's import route: the imports in flight, ended at stop. */
const importRoutes = new RuntimeSlot<StatefulRoute>('partner-center imports');

/** The Partner Center middleware: the delivery workers (pg-boss) and POST /imports/acceptances. */
export const partnerCenterFeature: Feature<SyncEngine> = {
  name: 'partner-center',
  entities: [PartnerCenterConnection, AcceptanceSync, AcceptanceImport, PartnerCenterExchange, PartnerCenterThrottle, PartnerCenterConnectionAlert],
  resolvers: [PartnerCenterResolver, AcceptanceSyncFieldResolver, AcceptanceSyncItemResolver, PartnerCenterConnectionResolver, PartnerCenterConnectionAlertResolver],
  routes: [routeIn(importRoutes, 'POST', IMPORT_PATH)],
  runtime: syncEngines,
  async start(services) {
    importRoutes.set(services, createImportRoute());
    const engine = new SyncEngine(services);
    // Connection alerts ride the alert hub (listed before this feature: it starts first, stops after).
    engine.alerts = await alertHub(services).attach(CONNECTION_ALERTS);
    await engine.start();
    return engine;
  },
  async stop(engine, services) {
    const imports = importRoutes.find(services);
    importRoutes.delete(services);
    await imports?.stop();
    await engine.stop();
  },
};
