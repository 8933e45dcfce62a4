import type { Feature } from '../kernel/feature';
import { importRoute } from './import.route';
import { AcceptanceImport, AcceptanceSync, PartnerCenterConnection } from './partner-center.entity';
import { AcceptanceSyncFieldResolver, AcceptanceSyncItemResolver, PartnerCenterConnectionResolver, PartnerCenterResolver } from './partner-center.resolver';
import { SyncEngine, syncEngines } from './sync.engine';

/** The Partner Center middleware: the delivery workers (pg-boss) and POST /imports/acceptances. */
export const partnerCenterFeature: Feature<SyncEngine> = {
  name: 'partner-center',
  entities: [PartnerCenterConnection, AcceptanceSync, AcceptanceImport],
  resolvers: [PartnerCenterResolver, AcceptanceSyncFieldResolver, AcceptanceSyncItemResolver, PartnerCenterConnectionResolver],
  routes: [importRoute],
  runtime: syncEngines,
  async start(services) {
    const engine = new SyncEngine(services);
    await engine.start();
    return engine;
  },
  stop: (engine) => engine.stop(),
};
