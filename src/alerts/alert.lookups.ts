import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { HasLoaders, LoaderDef } from '../kernel/loaders';

/**
 * One lookup a field resolver of an alert makes through a loader, declared next to that
 * resolver so the subscription can make it for a whole delivered batch at once.
 * graphql-ws executes one event at a time, so without this each alert's resolvers load
 * one key per loader: a statement per alert. Loading every alert's key in one tick lets
 * DataLoader batch them, and the resolvers then answer from its cache.
 */
export interface AlertLookup<T> {
  /** The field of the alert whose resolver loads this (null: the subscription's root field itself); made only when selected. */
  readonly field: string | null;
  readonly loader: LoaderDef<string, unknown>;
  /** The key the resolver loads for this alert, if any. */
  key(alert: T): string | null | undefined;
}

/** The lookups the subscription's selection needs (all of them without `info`). */
export function selectedLookups<T>(info: GraphQLResolveInfo | undefined, lookups: readonly AlertLookup<T>[]): AlertLookup<T>[] {
  if (!info) return [...lookups];
  const names = new Set<string>();
  const visit = (set: SelectionSetNode | undefined) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else visit(info.fragments[selection.name.value]?.selectionSet);
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet);
  return lookups.filter((l) => l.field === null || names.has(l.field));
}

/**
 * Loads every key the lookups need for these alerts through `ctx`'s loaders, all in this
 * tick (so one statement per loader); the alerts are read during the call only. Settles
 * when all are loaded; a failed batch is rejected and left out of the loaders' caches,
 * so each alert's own resolver loads it again.
 */
export function lookUp<T>(ctx: HasLoaders, alerts: Iterable<T>, lookups: readonly AlertLookup<T>[]): Promise<void> {
  const loads: Promise<unknown>[] = [];
  for (const lookup of lookups) {
    const loader = lookup.loader.of(ctx);
    for (const alert of alerts) {
      const key = lookup.key(alert);
      if (key) loads.push(loader.load(key));
    }
  }
  // Settled, not the first failure: when it answers, nothing of it is still in flight.
  return Promise.allSettled(loads).then((results) => {
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
}
