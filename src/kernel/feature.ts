import type { Services } from './context';
import type { Route } from './routes';
import type { DerivedTable } from './derived.types';

/** A class decorated for MikroORM (an entity or an embeddable). */
export type EntityClass = abstract new (...args: never[]) => object;
/** A class decorated with type-graphql's `@Resolver`. */
export type ResolverClass = abstract new (...args: never[]) => object;

/**
 * What a feature running on one gateway keeps (the alert hub, a job queue): set from
 * what the feature's `start` returned, found by resolvers and other features through
 * the services they hold. One value per gateway (tests run several in one process).
 */
export class RuntimeSlot<T> {
  private readonly byGateway = new WeakMap<Services, T>();

  constructor(private readonly feature: string) {}

  /** The running value; throws when the feature is not started on this gateway. */
  of(services: Services): T {
    const value = this.byGateway.get(services);
    if (value === undefined) throw new Error(`the ${this.feature} feature is not started`);
    return value;
  }

  find(services: Services): T | undefined {
    return this.byGateway.get(services);
  }

  set(services: Services, value: T): void {
    this.byGateway.set(services, value);
  }

  delete(services: Services): void {
    this.byGateway.delete(services);
  }
}

/**
 * A feature's manifest: what it adds to the gateway. The start-up factory composes the
 * manifests listed in src/features.ts: their entities make the ORM's metadata, their
 * resolvers the schema, their routes sit beside /graphql, and their hooks run after
 * migrations (in list order) and before the database closes (in reverse).
 */
export interface Feature<R = void> {
  readonly name: string;
  readonly entities?: readonly EntityClass[];
  readonly resolvers?: readonly ResolverClass[];
  readonly routes?: readonly Route[];
  /** Tables derived from the base tables by triggers, rebuilt by the kernel (src/kernel/derived.ts). */
  readonly derived?: readonly DerivedTable[];
  /** Where what `start` returned is found while the gateway runs. */
  readonly runtime?: RuntimeSlot<R>;
  start?(services: Services): Promise<R>;
  stop?(runtime: R, services: Services): Promise<void>;
}

/** Features started on one gateway, stopped in reverse order; a failed start leaves the started ones to `stop`. */
export class RunningFeatures {
  private readonly started: { feature: Feature<unknown>; runtime: unknown }[] = [];

  constructor(private readonly services: Services) {}

  async start(features: readonly Feature<unknown>[]): Promise<void> {
    for (const feature of features) {
      const runtime = await feature.start?.(this.services);
      feature.runtime?.set(this.services, runtime);
      this.started.push({ feature, runtime });
    }
  }

  async stop(): Promise<void> {
    for (const { feature, runtime } of this.started.splice(0).reverse()) {
      // Nothing new finds it once it is stopping.
      feature.runtime?.delete(this.services);
      await feature.stop?.(runtime, this.services);
    }
  }
}

export const entitiesOf = (features: readonly Feature<unknown>[]): EntityClass[] => [...new Set(features.flatMap((f) => f.entities ?? []))];

export const resolversOf = (features: readonly Feature<unknown>[]): ResolverClass[] => features.flatMap((f) => f.resolvers ?? []);

/** A route with state of its own on each gateway (its requests in flight, ended at stop). */
export interface StatefulRoute {
  readonly route: Route;
  stop(): Promise<void>;
}

/**
 * The manifest's side of a stateful route: a fixed method and path whose requests go to
 * the instance `slot` holds on the gateway that serves them (set by the feature's start).
 */
export function routeIn(slot: RuntimeSlot<StatefulRoute>, method: Route['method'], path: string): Route {
  return { method, path, handle: (req, res, services, url) => slot.of(services).route.handle(req, res, services, url) };
}
