import type { Server } from 'node:http';
import { GraphQLError, getOperationAST, parse, validate, specifiedRules, type DocumentNode, type GraphQLSchema, type ParseOptions, type ValidationRule } from 'graphql';
import { WebSocketServer, type WebSocket } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { randomUUID } from 'node:crypto';
import { buildContext, type Context, type Services } from '../kernel/context';
import { bearer } from '../auth/token';
import { serverMetrics, UNCOUNTED_OPERATION } from './metrics';
import { formatError } from './errors';
import { sharedSubscribe } from './shared-execution';
import type { Config } from '../config';

/** Query limits applied to every WebSocket operation, the same as on HTTP (see src/server/limits.ts). */
export interface OperationGuard {
  parseOptions?: ParseOptions;
  /** Largest accepted WebSocket message, in bytes. */
  maxPayload?: number;
  /** Coded errors refusing the operation before any resolver runs; empty to accept it. */
  check?(document: DocumentNode, variables: Record<string, unknown> | null | undefined, operationName: string | null | undefined): readonly GraphQLError[];
}

export interface SubscriptionServer {
  close(): Promise<void>;
  clients(): number;
}

/**
 * graphql-ws on the same port and path as HTTP. Apollo's plugins and formatError do
 * not run here, so authentication, validation rules and error masking are applied
 * explicitly: the same ones as on HTTP.
 */
export function attachSubscriptions(
  httpServer: Server,
  schema: GraphQLSchema,
  services: Services,
  extraRules: ValidationRule[] = [],
  guard: OperationGuard = {},
): SubscriptionServer {
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql', ...(guard.maxPayload ? { maxPayload: guard.maxPayload } : {}) });
  const mask = formatError(services.log, services.config.production);
  const rules = [...specifiedRules, ...extraRules];
  const documents = new DocumentCache(DOCUMENT_CACHE_SIZE);
  const journal = new OperationJournal(services);
  const quota = new SubscriptionQuota(services.config.subscriptions);
  const disposable = useServer<{ authorization?: string }>(
    {
      schema,
      // One execution per alert for every subscriber who would get the same result (src/server/shared-execution.ts).
      subscribe: sharedSubscribe,
      onConnect: async (ctx) => {
        // The upgrade request (headers and all) would otherwise live as long as the socket; nothing reads it.
        delete (ctx.extra as { request?: unknown }).request;
        const authorization = ctx.connectionParams?.authorization;
        if (typeof authorization !== 'string') return false;
        const context = await buildContext(services, authorization);
        if (!context.viewer) return false;
        (ctx.extra as Record<string, unknown>).authorization = authorization;
        (ctx.extra as Record<string, unknown>).userId = context.viewer.userId;
        // A live socket must not outlive its token: closed with 4403 (Forbidden), the code a
        // refused token gets at connection. graphql-ws's client retries on 4403 (never on 4401),
        // so a client whose connectionParams is a function reconnects with a fresh token.
        const { expiresAt } = await services.tokens.verify(bearer(authorization)!);
        closeWhenExpired((ctx.extra as { socket: WebSocket }).socket, expiresAt);
        return true;
      },
      onClose: (ctx) => quota.releaseSocket(ctx),
      // A subscription lives for hours: resolvers fork their own EntityManager per delivered batch.
      context: (ctx) => buildContext(services, (ctx.extra as Record<string, unknown>).authorization as string),
      onSubscribe: (ctx, id, payload) => {
        let cached = documents.get(payload.query);
        if (!cached) {
          let parsed;
          try {
            parsed = parse(payload.query, guard.parseOptions);
          } catch (err) {
            return [coded(err as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
          }
          const errors = validate(schema, parsed, rules);
          // Coded as on HTTP (Apollo codes them the same way), so clients handle both alike.
          if (errors.length) return errors.map((e) => coded(e, 'GRAPHQL_VALIDATION_FAILED'));
          cached = payload.query.length <= DOCUMENT_CACHE_MAX_TEXT ? documents.add(payload.query, parsed) : { text: payload.query, document: parsed };
        }
        const { document } = cached;
        // The operation keeps its payload for as long as it lives: let it hold the cached text, not a copy.
        (payload as { query: string }).query = cached.text;
        const refused = guard.check?.(document, payload.variables, payload.operationName);
        if (refused?.length) return [...refused];
        if (getOperationAST(document, payload.operationName)?.operation === 'subscription') {
          const over = quota.take(ctx, id, (ctx.extra as Record<string, unknown>).userId as string);
          if (over) return [over];
        }
        // Parsed and validated once here: graphql-ws would otherwise parse again, without the limits.
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
      },
      onOperation: (ctx, id, _payload, args) => {
        const operation = getOperationAST(args.document, args.operationName);
        journal.started(ctx, id, args.contextValue as Context, operation?.name?.value ?? args.operationName, operation?.operation);
      },
      onError: (ctx, id, payload, errors) => {
        quota.release(ctx, id);
        const masked = errors.map((e) => {
          const formatted = mask(e.toJSON(), e, journal.requestId(ctx, id) ?? randomUUID());
          return Object.assign(e, { message: formatted.message, extensions: formatted.extensions });
        });
        journal.failed(ctx, id, payload.operationName, masked);
        return masked;
      },
      onNext: (ctx, id, _payload, args, result) => {
        if (!result.errors?.length) return;
        const requestId = (args.contextValue as { requestId?: string } | undefined)?.requestId;
        const errors = result.errors.map((e) => mask(e.toJSON(), e, requestId));
        journal.answered(ctx, id, errors);
        return { ...result, errors } as never;
      },
      onComplete: (ctx, id) => {
        quota.release(ctx, id);
        journal.ended(ctx, id);
      },
    },
    wss,
    30_000,
  );
  // In-flight HTTP requests, so shutdown can let them finish before closing sockets.
  let inflight = 0;
  let drained: (() => void) | undefined;
  httpServer.on('request', (_req, res) => {
    inflight++;
    res.once('close', () => {
      if (--inflight === 0) drained?.();
    });
  });
  let closing = false;
  wss.on('connection', (socket) => {
    if (closing) socket.close(1001, 'Server shutting down');
  });

  return {
    clients: () => wss.clients.size,
    /**
     * Graceful: refuse new sockets, let in-flight HTTP requests finish (an order blocked
     * right now still reaches its subscribers), then close every socket with 1001 (Going
     * Away) so clients reconnect elsewhere and resume with `after`. Sockets that do not
     * answer the close handshake are terminated.
     */
    close: async () => {
      closing = true;
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, SHUTDOWN_DRAIN_MS);
          drained = () => (clearTimeout(t), resolve());
        });
      }
      const sockets = [...wss.clients];
      const gone = Promise.all(sockets.map((s) => new Promise<void>((resolve) => (s.readyState === s.CLOSED ? resolve() : s.once('close', () => resolve())))));
      for (const socket of sockets) socket.close(1001, 'Server shutting down');
      const cap = setTimeout(() => sockets.forEach((s) => s.terminate()), SHUTDOWN_DRAIN_MS);
      await gone;
      clearTimeout(cap);
      await disposable.dispose();
    },
  };
}

/** setTimeout's longest delay (about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Closes the socket with 4403 once `expiresAt` (ms since the epoch) passes, unless it closed first. */
function closeWhenExpired(socket: WebSocket, expiresAt: number): void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) return socket.close(4403, 'Token expired');
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Running subscriptions per socket and per user (on this instance), so one caller
 * cannot hold thousands of them and the memory they cost. A subscription is counted
 * from its acceptance until it completes, fails or its socket closes.
 */
class SubscriptionQuota {
  private readonly sockets = new Map<object, { userId: string; ids: Set<string> }>();
  private readonly users = new Map<string, number>();

  constructor(private readonly limits: Config['subscriptions']) {}

  /** Counts the subscription in, or answers why it is refused. */
  take(socket: object, id: string, userId: string): GraphQLError | undefined {
    let held = this.sockets.get(socket);
    if (!held) this.sockets.set(socket, (held = { userId, ids: new Set() }));
    const byUser = this.users.get(userId) ?? 0;
    if (held.ids.size >= this.limits.perSocket) return quotaError('subscriptionsPerSocket', this.limits.perSocket, 'on one connection');
    if (byUser >= this.limits.perUser) return quotaError('subscriptionsPerUser', this.limits.perUser, 'for one user');
    held.ids.add(id);
    this.users.set(userId, byUser + 1);
    return undefined;
  }

  release(socket: object, id: string): void {
    const held = this.sockets.get(socket);
    if (!held?.ids.delete(id)) return;
    this.forget(held.userId, 1);
  }

  releaseSocket(socket: object): void {
    const held = this.sockets.get(socket);
    if (!held) return;
    this.sockets.delete(socket);
    this.forget(held.userId, held.ids.size);
  }

  private forget(userId: string, count: number): void {
    const left = (this.users.get(userId) ?? 0) - count;
    if (left > 0) this.users.set(userId, left);
    else this.users.delete(userId);
  }
}

function quotaError(limit: string, maximum: number, scope: string): GraphQLError {
  return new GraphQLError(`At most ${maximum} subscriptions may run ${scope}; complete one before starting another`, {
    extensions: { code: 'RATE_LIMITED', limit, maximum },
  });
}

interface RunningOperation {
  start: bigint;
  requestId: string;
  userId?: string;
  partnerId?: string;
  operationName?: string;
  operationType?: string;
  /** Parsed, validated and run (its name is the document's); false when refused before. */
  validated: boolean;
  errorCodes: Set<string>;
}

/**
 * One log line and one count per graphql-ws operation, as the request log and metrics
 * plugins give HTTP: when it ends (a subscription when it completes, however long it
 * ran), or at once when it is refused before it runs. Kept per socket, so a closed
 * socket's operations go with it.
 */
class OperationJournal {
  private readonly running = new WeakMap<object, Map<string, RunningOperation>>();

  constructor(private readonly services: Services) {}

  started(socket: object, id: string, context: Context | undefined, operationName: string | null | undefined, operationType: string | undefined): void {
    let ops = this.running.get(socket);
    if (!ops) this.running.set(socket, (ops = new Map()));
    ops.set(id, {
      start: process.hrtime.bigint(),
      requestId: context?.requestId ?? randomUUID(),
      userId: context?.viewer?.userId,
      partnerId: context?.viewer?.partnerId ?? undefined,
      operationName: operationName ?? undefined,
      operationType,
      validated: context !== undefined,
      errorCodes: new Set(),
    });
  }

  requestId(socket: object, id: string): string | undefined {
    return this.running.get(socket)?.get(id)?.requestId;
  }

  answered(socket: object, id: string, errors: readonly { extensions?: Record<string, unknown> }[]): void {
    const op = this.running.get(socket)?.get(id);
    for (const e of errors) op?.errorCodes.add(String(e.extensions?.code ?? 'UNKNOWN'));
  }

  /** Errors instead of a result: refused before it ran (no entry yet), or its stream failed. */
  failed(socket: object, id: string, operationName: string | null | undefined, errors: readonly { extensions?: Record<string, unknown> }[]): void {
    if (this.running.get(socket)?.has(id)) return this.answered(socket, id, errors);
    this.started(socket, id, undefined, operationName, undefined);
    this.answered(socket, id, errors);
    this.ended(socket, id);
  }

  ended(socket: object, id: string): void {
    const ops = this.running.get(socket);
    const op = ops?.get(id);
    if (!op) return;
    ops!.delete(id);
    const codes = [...op.errorCodes];
    const outcome = codes.length ? 'error' : 'ok';
    this.services.log.info(
      {
        requestId: op.requestId,
        userId: op.userId,
        partnerId: op.partnerId,
        operationName: op.operationName,
        operationType: op.operationType,
        transport: 'ws',
        durationMs: Math.round(Number(process.hrtime.bigint() - op.start) / 1e4) / 100,
        outcome,
        ...(codes.length ? { errorCodes: codes } : {}),
      },
      'graphql ws operation',
    );
    const metrics = serverMetrics.find(this.services);
    if (!metrics) return;
    // Refused before it ran (not validated): its name, chosen by the client, takes no label.
    const operation = op.validated ? metrics.operationLabel(op.operationName) : UNCOUNTED_OPERATION;
    metrics.wsOperations.inc({ operation, type: op.operationType ?? 'unknown', outcome });
    for (const code of codes) metrics.errors.inc({ code });
  }
}

/** Longest wait for in-flight HTTP requests, then for sockets to finish their close handshake. */
const SHUTDOWN_DRAIN_MS = 5_000;

function coded(e: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, originalError: e.originalError, extensions: { ...e.extensions, code } });
}

/** Valid documents kept by their text (thousands of subscribers send the same few). */
const DOCUMENT_CACHE_SIZE = 1_000;
/**
 * Longer texts are not kept: a valid document may carry a long comment, and 1,000 of
 * them at the 1 MB message limit would otherwise hold a gigabyte.
 */
const DOCUMENT_CACHE_MAX_TEXT = 16_384;

interface CachedDocument {
  /** The text as first received: operations hold this copy instead of their own. */
  text: string;
  document: DocumentNode;
}

/**
 * Parsed and validated documents by query text. A live subscription holds its
 * document (AST nodes, locations, tokens: about 20 KB for the contract's
 * OnBlockedOrder) for as long as its socket lives, so subscribers of one text share
 * one document, which is immutable once validated. Only documents that passed
 * validation (and of at most DOCUMENT_CACHE_MAX_TEXT characters) are kept; the per-operation limits still run on every operation, since
 * they read its variables. Least recently used first out.
 */
class DocumentCache {
  private readonly map = new Map<string, CachedDocument>();

  constructor(private readonly max: number) {}

  get(text: string): CachedDocument | undefined {
    const entry = this.map.get(text);
    if (entry) {
      this.map.delete(text);
      this.map.set(text, entry);
    }
    return entry;
  }

  add(text: string, document: DocumentNode): CachedDocument {
    const entry = { text, document };
    this.map.set(text, entry);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
    return entry;
  }
}
