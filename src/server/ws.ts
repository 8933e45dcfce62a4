import type { Server } from 'node:http';
import { parse, validate, specifiedRules, type GraphQLSchema, type ValidationRule } from 'graphql';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { randomUUID } from 'node:crypto';
import { buildContext, type Services } from './context';
import { formatError } from './errors';

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
): SubscriptionServer {
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const mask = formatError(services.log, services.config.production);
  const rules = [...specifiedRules, ...extraRules];
  const disposable = useServer<{ authorization?: string }>(
    {
      schema,
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        if (typeof authorization !== 'string') return false;
        const context = await buildContext(services, authorization);
        if (!context.viewer) return false;
        (ctx.extra as Record<string, unknown>).authorization = authorization;
        return true;
      },
      // A subscription lives for hours: resolvers fork their own EntityManager per delivered batch.
      context: (ctx) => buildContext(services, (ctx.extra as Record<string, unknown>).authorization as string),
      onSubscribe: (_ctx, _id, payload) => {
        let document;
        try {
          document = parse(payload.query);
        } catch (err) {
          return [err as never];
        }
        const errors = validate(schema, document, rules);
        if (errors.length) return errors;
      },
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((e) => {
          const formatted = mask(e.toJSON(), e, randomUUID());
          return Object.assign(e, { message: formatted.message, extensions: formatted.extensions });
        }),
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!result.errors?.length) return;
        const requestId = (args.contextValue as { requestId?: string } | undefined)?.requestId;
        return { ...result, errors: result.errors.map((e) => mask(e.toJSON(), e, requestId)) } as never;
      },
    },
    wss,
    30_000,
  );
  return {
    clients: () => wss.clients.size,
    close: async () => {
      for (const socket of wss.clients) socket.close(1001, 'Going away');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
