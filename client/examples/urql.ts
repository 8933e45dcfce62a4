/**
 * urql (@urql/core 6; `urql` for React wraps the same Client) on consent-gateway:
 * queries and mutations over HTTP POST, subscriptions over graphql-ws on the same URL
 * with ws:, one bearer token for both. test/client/frameworks.test.ts runs this file
 * against a live gateway.
 */
import { cacheExchange, Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient } from 'graphql-ws';
import type { GatewayClientOptions } from './apollo';

export function createUrqlGatewayClient({ url, token, webSocketImpl }: GatewayClientOptions) {
  const bearer = (): Record<string, string> => {
    const t = token();
    return t ? { authorization: `Bearer ${t}` } : {};
  };
  const socket = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl, connectionParams: bearer });
  const urql = new Client({
    url,
    // urql sends short queries as GET by default; the gateway (Apollo Server's CSRF
    // prevention) refuses a GET without a preflight header, so always POST.
    preferGetMethod: false,
    fetchOptions: () => ({ headers: bearer() }),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: socket.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
  return { urql, close: () => socket.dispose() };
}
