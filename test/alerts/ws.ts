import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import type { Gateway } from '../../src/gateway';
import type { AlertHub } from '../../src/alerts/alert.hub';
import { alertHub } from '../../src/alerts/alert.runtime';

/** graphql-ws clients and subscriptions for tests; `disposeAll()` in afterAll closes every one. */

export const ALERT_FIELDS = `
  id cursor createdAt reasons acknowledgedAt
  order { id kind channel }
  customer { id companyName }
  partner { id name }
  reseller { id name }`;

export const ON_BLOCKED_ORDER = `subscription OnBlockedOrder($partnerId: ID, $customerId: ID, $after: String) {
  blockedOrderAlerts(partnerId: $partnerId, customerId: $customerId, after: $after) { ${ALERT_FIELDS} }
}`;

export interface Closed {
  code: number;
  reason: string;
}

export interface TestClient {
  client: Client;
  /** Resolves with the close event once the socket closes. */
  closed: Promise<Closed>;
}

export interface Subscriber<T = any> {
  received: T[];
  errors: unknown[];
  /** Resolves once `done(received)` holds (checked at every arrival). */
  until(done: (received: T[]) => boolean): Promise<T[]>;
  /** Resolves with the error the subscription ended with, or null when it completed. */
  ended: Promise<unknown>;
  unsubscribe(): void;
}

const disposers: (() => unknown)[] = [];

export async function disposeAll(): Promise<void> {
  while (disposers.length) await disposers.pop()!();
}

export const wsUrl = (gw: Pick<Gateway, 'url'>) => gw.url.replace(/^http/, 'ws');

/** A client with `authorization: Bearer <token>` (no connection params at all when token is null). */
export function connect(gw: Pick<Gateway, 'url'>, token: string | null, authorization?: string): TestClient {
  let onClosed!: (c: Closed) => void;
  const closed = new Promise<Closed>((resolve) => (onClosed = resolve));
  const client = createClient({
    url: wsUrl(gw),
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
    connectionParams: token === null && authorization === undefined ? undefined : { authorization: authorization ?? `Bearer ${token}` },
    on: { closed: (event) => onClosed({ code: (event as CloseEvent).code, reason: String((event as CloseEvent).reason) }) },
  });
  disposers.push(() => client.dispose());
  return { client, closed };
}

export function subscribe<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}, pick = (data: any) => data?.blockedOrderAlerts as T): Subscriber<T> {
  const received: T[] = [];
  const errors: unknown[] = [];
  const waiters: { done: (r: T[]) => boolean; resolve: (r: T[]) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.done(received)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve([...received]);
      }
    }
  };
  let onEnded!: (e: unknown) => void;
  const ended = new Promise<unknown>((resolve) => (onEnded = resolve));
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (result: ExecutionResult<any>) => {
        if (result.errors?.length) errors.push(...result.errors);
        if (result.data) received.push(pick(result.data));
        check();
      },
      error: (err) => {
        errors.push(err);
        onEnded(err);
      },
      complete: () => onEnded(null),
    },
  );
  disposers.push(unsubscribe);
  return {
    received,
    errors,
    ended,
    unsubscribe,
    until: (done) =>
      new Promise<T[]>((resolve) => {
        waiters.push({ done, resolve });
        check();
      }),
  };
}

/** Until `n` have arrived. */
export const count = (n: number) => (r: unknown[]) => r.length >= n;
/** Until the alert with this cursor has arrived (alerts arrive in cursor order, so everything before it has too). */
export const reached = (cursor: string) => (r: { cursor: string }[]) => r.some((a) => BigInt(a.cursor) >= BigInt(cursor));

export const hubOf = (gw: Gateway): AlertHub => alertHub(gw.services);

/** Resolves once the gateway's hub has `n` subscribers registered (a subscription is live only from then). */
export async function subscribersRegistered(gw: Gateway, n: number): Promise<void> {
  const hub = hubOf(gw);
  while (hub.subscriberCount() < n) await new Promise((r) => setTimeout(r, 10));
}
