import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import type { Context, Services } from '../kernel/context';
import { buildContext, releaseContextState } from '../kernel/context';
import { PayloadTooLargeError, readBody, sendJson, type Route } from '../kernel/routes';
import { requestScope } from '../kernel/request-scope';
import { isConnectionFailure } from './errors';
import { originAllowed } from './cors';
import { ServiceUnavailableError } from '../errors';

export const MAX_BODY_BYTES = 1_000_000;

const CORS_ALLOW_HEADERS = 'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, x-request-id';

/**
 * CORS by configuration (CORS_ORIGINS, comma-separated; `*` for any origin, `:*` for any
 * port; in development also http://localhost:* and http://127.0.0.1:*). Tokens
 * travel in the Authorization header, never in cookies, so credentials are not allowed.
 * Answers whether the request's origin, if any, is allowed.
 */
function applyCors(req: IncomingMessage, res: ServerResponse, origins: string[]): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  res.setHeader('vary', 'Origin');
  if (!originAllowed(origin, origins)) return false;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-expose-headers', 'x-request-id, retry-after');
  return true;
}

/**
 * One HTTP server for everything: GraphQL over HTTP on /graphql (Apollo through
 * executeHTTPGraphQLRequest, so graphql-ws can share the server), then plain routes.
 */
export function createHttpServer(apollo: () => ApolloServer<Context>, services: Services, routes: Route[]): Server {
  const table = new Map(routes.map((r) => [`${r.method} ${r.path}`, r]));

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const method = (req.method ?? 'GET').toUpperCase();
    res.setHeader('x-request-id', requestId);
    const corsAllowed = applyCors(req, res, services.config.corsOrigins);
    if (method === 'OPTIONS' && req.headers['access-control-request-method']) {
      // A browser's preflight: answered here for every path, nothing else runs.
      if (!corsAllowed) return sendJson(res, 403, { errors: [{ message: 'Origin not allowed', extensions: { code: 'FORBIDDEN' } }] });
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': CORS_ALLOW_HEADERS,
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    // Exact paths first, then a route serving every path under a prefix (`/prefix/*`).
    const route = table.get(`${method} ${url.pathname}`) ?? table.get(`${method} ${url.pathname.slice(0, url.pathname.lastIndexOf('/') + 1)}*`);
    if (route && (!route.accepts || route.accepts(req, url))) return route.handle(req, res, services, url);
    if (url.pathname !== '/graphql') return sendJson(res, 404, { error: 'not found' });
    if (method !== 'GET' && method !== 'POST' && method !== 'OPTIONS') {
      return sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, POST' });
    }

    let body: unknown;
    if (method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, MAX_BODY_BYTES);
      } catch (err) {
        if (err instanceof PayloadTooLargeError) {
          return sendJson(res, 413, { errors: [{ message: `Request body over ${MAX_BODY_BYTES} bytes`, extensions: { code: 'BAD_REQUEST' } }] });
        }
        throw err;
      }
      const type = req.headers['content-type'] ?? '';
      if (type.includes('application/json')) {
        try {
          body = text ? JSON.parse(text) : {};
        } catch {
          return sendJson(res, 400, { errors: [{ message: 'The body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
        }
      } else {
        body = text;
      }
      if (Array.isArray(body)) {
        // Batches would multiply every per-operation limit; one operation per request.
        return sendJson(res, 400, { errors: [{ message: 'Batched operations are not accepted; send one operation per request', extensions: { code: 'BAD_REQUEST' } }] });
      }
    }

    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let context: Context | undefined;
    const result = await apollo().executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method, headers, search: url.search, body },
      context: () =>
        buildContext(services, req.headers.authorization, requestId).then((built) => (context = built), (err) => {
          // Resolving the viewer reads the database: while it is down, fail fast with a code.
          if (!isConnectionFailure(err)) throw err;
          services.log.warn({ err, requestId }, 'database unavailable');
          throw Object.assign(new ServiceUnavailableError(), {
            extensions: { code: 'SERVICE_UNAVAILABLE', requestId, http: { status: 503, headers: new HeaderMap([['retry-after', '5']]) } },
          });
        }),
    });
    for (const [key, value] of result.headers) res.setHeader(key, value);
    res.statusCode = result.status ?? 200;
    try {
      if (result.body.kind === 'complete') {
        res.end(result.body.string);
      } else {
        for await (const chunk of result.body.asyncIterator) res.write(chunk);
        res.end();
      }
    } finally {
      for (const release of context?.afterResponse ?? []) release();
    }
  }

  return createServer((req, res) => {
    const requestId: string = randomUUID();
    requestScope.run({ requestId }, () => {
      handle(req, res, requestId).catch((err) => {
        services.log.error({ err, requestId }, 'request failed');
        if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal error', extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } }] });
        else res.end();
      });
    });
  });
}

/**
 * Lets go of an operation's objects once its response is written. Apollo's gateway interface
 * (the graphql-jit executor's, src/server/jit.ts) builds a request context with a `status`
 * accessor over Apollo's own request context (@apollo/server's makeGatewayGraphQLRequestContext);
 * V8 allocates that accessor pair in the old generation, so until the next full collection it
 * kept the whole operation reachable (the context's loaders with their rows and promises, the
 * result): every request's objects were promoted, about 225 kB a `Customers` page, and at
 * 100 requests/s a full collection came every few seconds. Dropping the context's loaders and
 * fork and the response body (already serialized) leaves that accessor holding little.
 */
export const releaseAfterResponse: ApolloServerPlugin<Context> = {
  async requestDidStart({ contextValue, response }) {
    contextValue.afterResponse?.push(() => {
      releaseContextState(contextValue);
      response.body = undefined;
    });
  },
};
