/**
 * The alert replay of bench/scale.ts, in a process of its own (like bench/fanout-subscribers.mjs):
 * OnBlockedOrder over graphql-ws from a cursor, timed to the `count`th alert. Answers
 * `replay` commands over IPC with `{ ms, received, error? }`.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { operation, serveIpc } from './lib';

const SUBSCRIPTION = operation('alerts.graphql', 'OnBlockedOrder');

function replay(m: { url: string; token: string; after: string; count: number; timeoutMs: number }): Promise<{ ms: number; received: number; error?: string }> {
  const client = createClient({ url: m.url, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${m.token}` }, retryAttempts: 0 });
  const t0 = performance.now();
  let received = 0;
  return new Promise<{ ms: number; received: number; error?: string }>((resolve) => {
    const finish = (x: { ms: number; received: number; error?: string }) => {
      clearTimeout(timer);
      void client.dispose();
      resolve(x);
    };
    const timer = setTimeout(() => finish({ ms: NaN, received, error: `timed out after ${m.timeoutMs / 1000} s with ${received} of ${m.count}` }), m.timeoutMs);
    client.subscribe(
      { query: SUBSCRIPTION, variables: { after: m.after }, operationName: 'OnBlockedOrder' },
      {
        next: (msg) => {
          if (msg.errors) return finish({ ms: NaN, received, error: JSON.stringify(msg.errors).slice(0, 300) });
          if (++received === m.count) finish({ ms: performance.now() - t0, received });
        },
        error: (err) => finish({ ms: NaN, received, error: String((err as Error)?.message ?? JSON.stringify(err)).slice(0, 300) }),
        complete: () => finish({ ms: received === m.count ? performance.now() - t0 : NaN, received, error: received === m.count ? undefined : 'completed early' }),
      },
    );
  });
}

serveIpc({ replay: (m) => replay(m) });
process.send?.({ type: 'ready' });
