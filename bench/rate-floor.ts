/**
 * The machine's floor for the fixed-rate figures: the same open-loop generator the scale run uses
 * (`fixedRate`, bench/lib.ts: 100 requests/s, 32 connections at most, latency from each request's
 * due time) against a bare http server that answers at once. A p99 here is what the machine adds
 * to every fixed-rate p99 of the gateway (scheduling, stalls of the host).
 *
 *   node -r reflect-metadata -r @swc-node/register bench/rate-floor.ts [runs=6] [seconds=5]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fixedRate } from './lib';

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 6);
  const seconds = Number(process.argv[3] ?? 5);
  const server = createServer((_req, res) => res.end('{"ok":true}')).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    for (let i = 1; i <= runs; i++) {
      const r = await fixedRate({ url, method: 'GET', rate: 100, duration: seconds, connections: 32 });
      console.log(`run ${i}/${runs}: ${r.total} requests, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${r.rps.toFixed(1)} req/s`);
    }
  } finally {
    server.close();
  }
}

void main();
