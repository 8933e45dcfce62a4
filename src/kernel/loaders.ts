import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../auth/viewer';

/** What a loader's batch may read: the request's EntityManager, who is asking, and the request's loaders. */
export interface LoaderScope {
  readonly em: EntityManager;
  readonly viewer: Viewer | null;
  /** So a batch can prime another loader with rows its statement read alongside. */
  readonly loaders: Loaders;
}

/** Whatever holds a request's loaders (its context). */
export interface HasLoaders {
  loaders: Loaders;
}

/**
 * A DataLoader recipe. Features define their loaders next to their services with
 * `defineLoader`; each request gets its own instances lazily through `.of(ctx)`,
 * so batching and caching never cross requests.
 */
export interface LoaderDef<K, V> {
  of(ctx: HasLoaders): RequestLoader<K, V>;
  /** Its batch never reads `ctx.viewer` (a lookup by id), so many viewers may share one instance. */
  readonly viewerIndependent?: boolean;
}

export class Loaders {
  private readonly instances = new Map<object, RequestLoader<unknown, unknown>>();

  /**
   * With `shared`, viewer-independent loaders come from that registry (built on its own
   * scope) so that many viewers' lookups batch together; every other loader stays own.
   */
  constructor(
    private readonly scope: () => LoaderScope,
    private readonly shared?: Loaders,
  ) {}

  get<K, V>(def: object, create: (scope: LoaderScope) => RequestLoader<K, V>): RequestLoader<K, V> {
    if (this.shared && (def as { viewerIndependent?: boolean }).viewerIndependent) return this.shared.get(def, create);
    let loader = this.instances.get(def) as RequestLoader<K, V> | undefined;
    if (!loader) {
      loader = create(this.scope());
      this.instances.set(def, loader as RequestLoader<unknown, unknown>);
    }
    return loader;
  }

  /** Drops cached values, e.g. after a mutation changed what the loaders read. */
  clear(): void {
    for (const loader of this.instances.values()) loader.clearAll();
  }
}

/**
 * A request's DataLoader that keeps primed values as they are and answers them at once
 * (`primedOrLoad`). DataLoader would hold each primed value as a resolved promise, and its
 * `load` of a primed key answers yet another promise, settled only with the next batch; a
 * page's rows ask for values read alongside their parents (each relationship's partner,
 * each acceptance's template), and those promises, their ticks and their async hooks were
 * a share of the page's CPU. Priming follows DataLoader's rule: a key already cached
 * (primed or loaded) keeps its value.
 */
export class RequestLoader<K, V> extends DataLoader<K, V, unknown> {
  private readonly primed = new Map<unknown, V>();
  private readonly cache?: Map<unknown, Promise<V>>;
  private readonly cacheKey: (key: K) => unknown;

  constructor(batch: DataLoader.BatchLoadFn<K, V>, options: DataLoader.Options<K, V, unknown> = {}) {
    // Our own cache map (DataLoader's documented option), so `prime` can tell a key DataLoader already holds.
    const cache = options.cache === false || options.cacheMap ? undefined : new Map<unknown, Promise<V>>();
    super(batch, cache ? { ...options, cacheMap: cache } : options);
    this.cache = cache;
    this.cacheKey = options.cacheKeyFn ?? ((key) => key);
  }

  /** The primed value of `key` as it is, else `load(key)`. */
  primedOrLoad(key: K): V | Promise<V> {
    const cacheKey = this.cacheKey(key);
    return this.primed.has(cacheKey) ? (this.primed.get(cacheKey) as V) : super.load(key);
  }

  override load(key: K): Promise<V> {
    const cacheKey = this.cacheKey(key);
    return this.primed.has(cacheKey) ? Promise.resolve(this.primed.get(cacheKey) as V) : super.load(key);
  }

  override prime(key: K, value: V | PromiseLike<V> | Error): this {
    if (!this.cache || value instanceof Error || isPromiseLike(value)) return super.prime(key, value);
    const cacheKey = this.cacheKey(key);
    if (!this.primed.has(cacheKey) && this.cache.get(cacheKey) === undefined) this.primed.set(cacheKey, value);
    return this;
  }

  override clear(key: K): this {
    this.primed.delete(this.cacheKey(key));
    return super.clear(key);
  }

  override clearAll(): this {
    this.primed.clear();
    return super.clearAll();
  }
}

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> => typeof (value as PromiseLike<unknown> | null)?.then === 'function';

/** `batch` receives every key asked for in one tick and answers in the same order. */
export function defineLoader<K, V>(
  batch: (ctx: LoaderScope, keys: readonly K[]) => Promise<ReadonlyArray<V | Error>>,
  options: DataLoader.Options<K, V, unknown> = {},
  viewerIndependent = false,
): LoaderDef<K, V> {
  const def: LoaderDef<K, V> = {
    viewerIndependent,
    of: (ctx) => ctx.loaders.get(def, (scope) => new RequestLoader<K, V>((keys) => batch(scope, keys), options)),
  };
  return def;
}

/** Groups rows by a key, answering one array per requested key (empty when none). */
export function groupBy<K, R>(keys: readonly K[], rows: R[], keyOf: (row: R) => K): R[][] {
  const groups = new Map<K, R[]>();
  for (const row of rows) {
    const k = keyOf(row);
    const list = groups.get(k);
    if (list) list.push(row);
    else groups.set(k, [row]);
  }
  return keys.map((k) => groups.get(k) ?? []);
}

/** Picks one row per requested key (null when none). */
export function indexBy<K, R>(keys: readonly K[], rows: R[], keyOf: (row: R) => K): (R | null)[] {
  const index = new Map<K, R>();
  for (const row of rows) index.set(keyOf(row), row);
  return keys.map((k) => index.get(k) ?? null);
}
