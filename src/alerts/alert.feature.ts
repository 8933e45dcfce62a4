import type { Feature } from '../kernel/feature';
import { BlockedOrderAlert } from './alert.entity';
import { AlertHub } from './alert.hub';
import { BlockedOrderCount, BlockedReasonCount } from './blocked-counts.entity';
import { blockedOrderCounts } from './blocked-counts';
import { BlockedOrderAlertResolver } from './alert.resolver';
import { alertHubs } from './alert.runtime';

/** Blocked-order alerts: the hub's LISTEN connection and timer start with the gateway and stop before the database closes. */
export const alertsFeature: Feature<AlertHub> = {
  name: 'alerts',
  entities: [BlockedOrderAlert, BlockedReasonCount, BlockedOrderCount],
  derived: [blockedOrderCounts],
  resolvers: [BlockedOrderAlertResolver],
  runtime: alertHubs,
  async start(services) {
    const hub = new AlertHub(services.orm, services.log.child({ component: 'alerts' }));
    await hub.start();
    return hub;
  },
  stop: (hub) => hub.stop(),
};
