import type { Feature } from '../server/features';
import { createImportRoute } from './import.route';
import { SyncEngine, SYNC_ENGINE_KEY } from './sync.engine';

/** The Partner Center middleware: the delivery workers (pg-boss) and POST /imports/acceptances. */
export function partnerCenterFeature(): Feature {
  const imports = createImportRoute();
  return {
    name: SYNC_ENGINE_KEY,
    routes: [imports.route],
    async start(services) {
      const engine = new SyncEngine(services);
      services.extras.set(SYNC_ENGINE_KEY, engine);
      await engine.start();
    },
    async stop(services) {
      await imports.stop();
      const engine = services.extras.get(SYNC_ENGINE_KEY) as SyncEngine | undefined;
      services.extras.delete(SYNC_ENGINE_KEY);
      await engine?.stop();
    },
  };
}
