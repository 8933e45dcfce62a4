import { setTimeout } from 'node:timers/promises';
import { GraphQLError } from 'graphql';
import { existingPartnerIds } from '../auth/tenancy';
import type { Viewer } from '../auth/viewer';
import { UnauthenticatedError } from '../errors';
import { releaseContextState, type Context } from '../kernel/context';
import { Loaders } from '../kernel/loaders';
import { metricsOf } from '../kernel/metrics';
import type { AlertHub } from './alert.hub';
import type { AlertRecord } from './alert.kinds';
import { lookUp, type AlertLookup } from './alert.lookups';
import type { AlertBatch } from './alert.stream';
import { checkScopeIds, parseCursor } from './alert.tenancy';

/** The arguments of an alert subscription: both narrow the viewer's alerts, `after` resumes. */
export interface AlertSubscriptionArgs {
  partnerId?: string | null;
  customerId?: string | null;
  after?: string | null;
}

/**
 * The last event of a subscription whose viewer may no longer receive alerts: the root
 * field throws its error (`liveEvent`), so the client receives it as a result with
 * its code, then the subscription completes.
 */
export class SubscriptionEnd {
  constructor(readonly error: GraphQLError) {}
}

/**
 * A subscription to a hub's alerts, the same for every kind. graphql-ws builds the
 * context once per subscription and a socket lives for hours, so each delivered batch
 * gets a fresh EntityManager and fresh DataLoaders, and between deliveries the context
 * holds neither. Every subscriber of one hub read shares that read's EntityManager and
 * its viewer-independent loaders (lookups by id), so one alert costs the same statements
 * for 2 subscribers or 5,000; loaders that read the viewer, and masking in field
 * resolvers, stay per subscriber.
 *
 * graphql-ws executes one event at a time, so an alert's field resolvers would load one
 * key each: `lookups` (the resolver's, for the fields selected) are made for the whole
 * batch before its first alert is executed, one statement per loader per batch (see
 * `lookUpBatch`).
 *
 * Before each delivered batch the viewer is checked again: a partner user whose partner
 * no longer exists is no longer a valid viewer (as at sign-in), and receives
 * UNAUTHENTICATED instead of the batch. Subscribers of one hub read share that check too.
 */
export function subscribeToAlerts<T extends AlertRecord>(
  context: Context,
  hub: AlertHub<T>,
  args: AlertSubscriptionArgs,
  lookups: readonly AlertLookup<T>[] = [],
): AsyncIterableIterator<T | SubscriptionEnd> {
  const viewer = context.viewer;
  if (!viewer) throw new UnauthenticatedError(context.authError);
  checkScopeIds(args);
  const after = args.after ? parseCursor(args.after, 'after') : null;
  const metrics = metricsOf(context.services);
  metrics?.activeSubscriptions.inc();
  // Nothing of the subscribe step is needed while waiting for the first alert.
  releaseContextState(context);
  /** Set when the stream starts a batch: the check and the lookups the batch's first alert waits for. */
  let unchecked: { batch?: AlertBatch; lookedUp?: Promise<void> } | undefined;
  /** The stream closed, or ended for an invalid viewer. */
  let ended = false;
  const stream = hub.subscribe({ viewer, partnerId: args.partnerId, customerId: args.customerId }, after, {
    onBatch: (batch, alerts) => {
      context.em = batch ? batch.em : hub.fork();
      context.loaders = new Loaders(() => context, batch && sharedRead(batch, context.services).context.loaders);
      unchecked = { batch, lookedUp: lookups.length ? lookUpBatch(context, batch, alerts, lookups, hub) : undefined };
    },
    // Delivered and sent: between deliveries a subscriber holds no EntityManager and no cached rows.
    onIdle: () => releaseContextState(context),
    onClose: () => {
      ended = true;
      metrics?.activeSubscriptions.dec();
    },
  });
  /** A check the database could not answer is asked again, like a table page: never surfaced, nothing skipped. */
  const checked = async (check: () => Promise<boolean>): Promise<boolean | undefined> => {
    while (!ended) {
      try {
        return await check();
      } catch (err) {
        hub.warn(err, 'checking a subscriber failed; retrying');
        await setTimeout(hub.options.pollMs, undefined, { ref: false });
      }
    }
    return undefined;
  };
  const events: AsyncIterableIterator<T | SubscriptionEnd> = {
    async next() {
      if (ended) return { value: undefined, done: true };
      const step = await stream.next();
      if (step.done) return step;
      if (unchecked) {
        const { batch, lookedUp } = unchecked;
        unchecked = undefined;
        const [valid] = await Promise.all([checked(() => stillValid(viewer, batch, context)), lookedUp]);
        if (valid === undefined) return { value: undefined, done: true };
        if (!valid) {
          ended = true;
          stream.close();
          return { value: new SubscriptionEnd(new UnauthenticatedError(`Invalid token: partner ${viewer.partnerId} does not exist`)), done: false };
        }
      }
      metrics?.alertsDelivered.inc();
      return step;
    },
    return: () => stream.return(),
    throw: (err) => stream.throw(err),
    [Symbol.asyncIterator]: () => events,
  };
  return events;
}

/**
 * The root field of an alert subscription: the event itself. Without a source event it
 * runs as a plain HTTP request, which cannot stream.
 */
export function liveEvent<T>(event: T | SubscriptionEnd | undefined): T {
  if (event === undefined || event === null) {
    throw new GraphQLError('Subscriptions are served over WebSocket (graphql-transport-ws) on /graphql', { extensions: { code: 'BAD_REQUEST' } });
  }
  if (event instanceof SubscriptionEnd) throw event.error;
  return event;
}

/** What the subscribers of one hub read share: a context for its lookups by id, and the lookups made on it. */
interface SharedRead {
  context: Context;
  /** Per lookup, made once for every alert of the read (never rejects). */
  lookedUp: Map<AlertLookup<any>, Promise<void>>;
}

/** Per hub read: what its subscribers share, and which of their partners still exist. */
const sharedReads = new WeakMap<AlertBatch, SharedRead>();
const partnersOfBatch = new WeakMap<AlertBatch, Promise<Set<string>>>();

/** The read's shared loaders run on a context of their own with no viewer: they may only look up by id. */
function sharedRead(batch: AlertBatch, services: Context['services']): SharedRead {
  let read = sharedReads.get(batch);
  if (!read) {
    const context: Context = { requestId: 'alert-batch', viewer: null, em: batch.em, loaders: undefined as unknown as Loaders, services };
    context.loaders = new Loaders(() => context);
    sharedReads.set(batch, (read = { context, lookedUp: new Map() }));
  }
  return read;
}

/**
 * Makes a delivered batch's lookups at once, before its first alert is executed (its
 * resolvers then answer from the loaders' caches). A table page looks up its own rows. A
 * hub read's lookups by id (viewer-independent loaders, shared by its subscribers) are
 * made once, on the read's viewer-less context, for every alert of the read, by its
 * first subscriber to get there; each subscriber adds the alerts of its batch from an
 * earlier read (a queue that was not drained in between) and, on its own loaders, the
 * lookups that may read its viewer. Everything is asked in this tick, so each loader runs
 * one statement. Never rejects: a failed lookup is logged, the alerts' own resolvers load
 * again (a failed batch is not cached), and the read's next subscriber tries it again.
 */
function lookUpBatch<T extends AlertRecord>(
  context: Context,
  batch: AlertBatch | undefined,
  alerts: readonly T[],
  lookups: readonly AlertLookup<T>[],
  hub: Pick<AlertHub<T>, 'warn'>,
): Promise<void> {
  const logged = (lookedUp: Promise<void>) => lookedUp.catch((err) => hub.warn(err, 'looking up a batch of alerts failed; each alert looks up its own'));
  if (!batch) return logged(lookUp(context, alerts, lookups));
  const read = sharedRead(batch, context.services);
  const byId = lookups.filter((l) => l.loader.viewerIndependent);
  const own = lookups.filter((l) => !l.loader.viewerIndependent);
  const fresh = byId.filter((l) => !read.lookedUp.has(l));
  if (fresh.length) {
    const done: Promise<void> = logged(
      lookUp(read.context, batch.alerts as Set<T>, fresh).catch((err) => {
        for (const l of fresh) if (read.lookedUp.get(l) === done) read.lookedUp.delete(l);
        throw err;
      }),
    );
    for (const l of fresh) read.lookedUp.set(l, done);
  }
  const waits = byId.map((l) => read.lookedUp.get(l)!);
  const earlier = alerts.filter((a) => !batch.alerts.has(a));
  if (earlier.length && byId.length) waits.push(logged(lookUp(context, earlier, byId)));
  if (own.length) waits.push(logged(lookUp(context, alerts, own)));
  return Promise.all(waits).then(() => undefined);
}

/**
 * Whether the viewer may still receive alerts: platform roles have no partner to lose; a
 * partner user's partner must still exist. For a hub read, one statement answers for
 * every subscriber's partner; a table page (its own read) asks for its own.
 */
async function stillValid(viewer: Viewer, batch: AlertBatch | undefined, context: Context): Promise<boolean> {
  const partnerId = viewer.partnerId;
  if (!partnerId) return true;
  if (!batch) return (await existingPartnerIds(context.em, [partnerId])).has(partnerId);
  let existing = partnersOfBatch.get(batch);
  if (!existing) {
    partnersOfBatch.set(batch, (existing = existingPartnerIds(batch.em, batch.partnerIds)));
    // A failed check is asked again, not answered from memory.
    existing.catch(() => partnersOfBatch.delete(batch));
  }
  return (await existing).has(partnerId);
}
