import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Viewer } from '../auth/viewer';

/**
 * graphql-ws's `subscribe`, executing each event once for every subscriber who would
 * receive the same result. The alert hub hands one and the same alert object to every
 * subscriber entitled to it (each subscriber's own stream decides that); executing the
 * selection on it then depends only on the document, the operation, the variables and
 * the viewer's kind (roles, partner and partner type: tenancy and masking read nothing
 * else of the viewer). Subscribers alike in those share one execution, so a delivery
 * costs one JSON message per subscriber instead of one graphql execution each.
 * Events that are not shared objects (a catch-up page read for one subscriber) are
 * executed per subscriber as before.
 */
export async function sharedSubscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!isAsyncIterable(source)) return source;
  const iterator = source[Symbol.asyncIterator]();
  const key = executionKey(args);
  const run = (event: unknown): Promise<ExecutionResult> => {
    if (key === undefined || event === null || typeof event !== 'object') return Promise.resolve(execute({ ...args, rootValue: event }));
    let byKey = executions.get(event);
    if (!byKey) executions.set(event, (byKey = new Map()));
    let result = byKey.get(key);
    if (!result) {
      result = Promise.resolve(execute({ ...args, rootValue: event }));
      byKey.set(key, result);
    }
    return result;
  };
  const results: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const step = await iterator.next();
      return step.done ? { done: true, value: undefined } : { done: false, value: await run(step.value) };
    },
    async return() {
      await iterator.return?.();
      return { done: true, value: undefined };
    },
    async throw(err?: unknown) {
      await iterator.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return results;
    },
  };
  return results;
}

/** Per shared event, its results by execution key; gone with the event. */
const executions = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();

const documentIds = new WeakMap<DocumentNode, number>();
let lastDocumentId = 0;

/**
 * What an execution's result depends on besides the event; undefined when it cannot be
 * shared. A field resolver reachable from a subscription that reads more of the viewer
 * than its roles and partner (its user id, say) must add that here.
 */
export function executionKey(args: Pick<ExecutionArgs, 'document' | 'operationName' | 'variableValues' | 'contextValue'>): string | undefined {
  const viewer = (args.contextValue as { viewer?: Viewer | null } | undefined)?.viewer;
  if (!viewer) return undefined;
  let documentId = documentIds.get(args.document);
  if (documentId === undefined) documentIds.set(args.document, (documentId = ++lastDocumentId));
  const kind = `${[...viewer.roles].sort().join(',')}|${viewer.partnerId ?? ''}|${viewer.partnerType ?? ''}`;
  return `${documentId}|${args.operationName ?? ''}|${JSON.stringify(args.variableValues ?? {})}|${kind}`;
}

function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof (value as AsyncIterable<T> | null)?.[Symbol.asyncIterator] === 'function';
}
