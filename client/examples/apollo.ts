/**
 * Apollo Client 4 on consent-gateway: queries and mutations over HTTP (POST /graphql),
 * subscriptions over WebSocket (graphql-ws on the same URL with ws:), one bearer token
 * for both. test/client/frameworks.test.ts runs this file against a live gateway.
 */
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { isSubscriptionOperation } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';

export interface GatewayClientOptions {
  /** The gateway's GraphQL URL, e.g. http://localhost:4000/graphql; WebSocket uses the same with ws:. */
  url: string;
  /** The current token, read for every HTTP request and every WebSocket (re)connection. */
  token: () => string | undefined;
  /** Leave it out in a browser; in Node, `ws`'s WebSocket. */
  webSocketImpl?: unknown;
}

export function createApolloGatewayClient({ url, token, webSocketImpl }: GatewayClientOptions) {
  const bearer = (): Record<string, string> => {
    const t = token();
    return t ? { authorization: `Bearer ${t}` } : {};
  };
  // The token travels in connectionParams: browsers cannot set headers on a WebSocket.
  const socket = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl, connectionParams: bearer });
  const http = new SetContextLink(({ headers }) => ({ headers: { ...headers, ...bearer() } })).concat(new HttpLink({ uri: url }));
  const apollo = new ApolloClient({
    link: ApolloLink.split(({ query }) => isSubscriptionOperation(query), new GraphQLWsLink(socket), http),
    cache: new InMemoryCache(),
  });
  return { apollo, close: () => socket.dispose() };
}
