import type { Feature } from '../server/features';
import type { Services } from '../server/context';
import { AlertHub } from './alert.hub';

const KEY = 'alerts';

/** The process's alert hub, started with the gateway. */
export function alertHub(services: Services): AlertHub {
  const hub = services.extras.get(KEY) as AlertHub | undefined;
  if (!hub) throw new Error('the alerts feature is not started');
  return hub;
}

/** Starts the hub's LISTEN connection and timer; stops them before the database closes. */
export function alertsFeature(): Feature {
  return {
    name: KEY,
    async start(services) {
      const hub = new AlertHub(services.orm, services.log.child({ component: 'alerts' }));
      await hub.start();
      services.extras.set(KEY, hub);
    },
    async stop(services) {
      const hub = services.extras.get(KEY) as AlertHub | undefined;
      services.extras.delete(KEY);
      await hub?.stop();
    },
  };
}
