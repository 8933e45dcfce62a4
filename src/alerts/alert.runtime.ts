import { RuntimeSlot } from '../kernel/feature';
import type { Services } from '../kernel/context';
import type { AlertHub } from './alert.hub';

/** The gateway's alert hub while the alerts feature runs (src/alerts/alert.feature.ts starts it). */
export const alertHubs = new RuntimeSlot<AlertHub>('alerts');

export const alertHub = (services: Services): AlertHub => alertHubs.of(services);
