/** The node flags the gateway starts with, read from package.json (no other imports: the deployment test reads them too). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The V8 flags of `npm start` and `npm run start:prod` (package.json; test/deployment/files.test.ts
 * keeps the two equal), read from there so the benchmarks' gateways run as a deployment's do:
 * - `--max-semi-space-size=16`: the young generation at 16 MB (V8's default on 64 bits, stated so
 *   that it does not move with the machine); 32 MB made each scavenge copy more survivors
 *   (history, thirteenth session).
 * - `--no-allocation-site-pretenuring`: under a steady request load V8 began allocating some sites'
 *   objects directly in the old generation, where they (and the young objects they point to) waited
 *   for the next full collection: at 100 `Customers` pages/s the old generation grew ~1.9 MB per
 *   scavenge, a full collection every ~13 s (history, twenty-first session).
 * - `--heap-growing-percent=100`: the next full collection when the old generation has doubled.
 *   With little promoted, V8's own factor fell to ~1.15 (a full collection every ~10 MB, each
 *   stalling two cores shared with PostgreSQL for ~100 ms); doubling costs ~75 MB of heap.
 * BENCH_NODE_FLAGS (space-separated) replaces them for a run (bench/lib.ts `GATEWAY_NODE_FLAGS`).
 */
export const START_NODE_FLAGS: string[] = nodeFlagsOf(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).scripts['start:prod']);

/** The node options of an npm script `exec node <flags> -r ... <entry>`: the words starting with `--` before the first other one. */
export function nodeFlagsOf(script: string): string[] {
  const words = script.split(/\s+/).filter(Boolean);
  const from = words.indexOf('node') + 1;
  const flags: string[] = [];
  for (const w of words.slice(from)) {
    if (!w.startsWith('--')) break;
    flags.push(w);
  }
  return flags;
}
