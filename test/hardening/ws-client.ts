import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';

export interface WsResult {
  data?: any;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
}

/** A graphql-ws client on the gateway's /graphql, authenticated with `token`. */
export function wsClient(httpUrl: string, token: string): Client {
  return createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    // One socket for the client's life: a lazy close racing the next subscribe would end it empty.
    lazy: false,
  });
}

/** Runs one operation over the socket and answers its first result, or its errors. */
export function wsOnce(client: Client, query: string, variables?: Record<string, unknown>): Promise<WsResult> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const dispose = client.subscribe(
      { query, variables },
      {
        next: (value) => {
          settled = true;
          dispose();
          resolve(value as WsResult);
        },
        error: (err) => {
          settled = true;
          if (Array.isArray(err)) resolve({ errors: err as WsResult['errors'] });
          else reject(err);
        },
        complete: () => {
          if (!settled) resolve({});
        },
      },
    );
  });
}

/** Opens a raw socket speaking graphql-transport-ws and answers the close code after connection_init. */
export function wsCloseCode(httpUrl: string, connectionParams: Record<string, unknown>): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(httpUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams })));
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    socket.on('error', reject);
  });
}

/** Sends one message of `bytes` bytes after the connection is acknowledged; answers the close code. */
export function wsOversizedMessage(httpUrl: string, token: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(httpUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type !== 'connection_ack') return;
      const query = `{ viewer { userId } } # ${'x'.repeat(bytes)}`;
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
    });
    socket.on('close', (code) => resolve(code));
    socket.on('error', () => undefined); // the close event follows
    setTimeout(() => reject(new Error('the socket stayed open')), 10_000).unref();
  });
}
