// Subscribers of the fan-out workload, in their own process so that receiving alerts does
// not slow down the process placing the orders. Each subscriber is one graphql-ws client
// (one WebSocket) running the contract's OnBlockedOrder subscription; it records, per alert
// id, when it arrived (wall clock, ms with sub-ms precision).
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');

const SUBSCRIPTION = `subscription OnBlockedOrder($partnerId: ID, $customerId: ID, $after: String) {
  blockedOrderAlerts(partnerId: $partnerId, customerId: $customerId, after: $after) { ...AlertFields }
}
fragment AlertFields on BlockedOrderAlert {
  id cursor createdAt reasons acknowledgedAt
  order { id kind channel }
  customer { id companyName }
  partner { id name }
  reseller { id name }
}`;

const now = () => performance.timeOrigin + performance.now();
let clients = [];
/** receipts[i] = [[alertId, time], ...] for subscriber i */
let receipts = [];
let errors = 0;

/** Connects in waves: thousands of simultaneous handshakes overflow the listen backlog (resets). */
const WAVE = 250;

async function subscribe({ url, tokens }) {
  receipts = tokens.map(() => []);
  let connected = 0;
  for (let start = 0; start < tokens.length; start += WAVE) await Promise.all(
    tokens.slice(start, start + WAVE).map(
      (token, k, _, i = start + k) =>
        new Promise((resolve) => {
          const client = createClient({
            url,
            webSocketImpl: WebSocket,
            connectionParams: { authorization: `Bearer ${token}` },
            lazy: false,
            retryAttempts: 0,
            onNonLazyError: () => {}, // counted through `on.error`, not printed
            on: { connected: () => (connected++, resolve()), error: () => (errors++, resolve()) },
          });
          clients.push(client);
          client.subscribe(
            { query: SUBSCRIPTION },
            {
              next: (msg) => {
                if (msg.data?.blockedOrderAlerts) receipts[i].push([msg.data.blockedOrderAlerts.id, now()]);
                else errors++;
              },
              error: () => errors++,
              complete: () => {},
            },
          );
        }),
    ),
  );
  return { connected, errors };
}

process.on('message', async (m) => {
  let result;
  if (m.cmd === 'subscribe') result = await subscribe(m);
  else if (m.cmd === 'receipts') result = { receipts, errors };
  else if (m.cmd === 'close') {
    await Promise.all(clients.map((c) => c.dispose()));
    clients = [];
    result = {};
  }
  process.send({ id: m.id, ...result });
});
process.send({ type: 'ready' });
