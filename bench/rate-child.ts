/**
 * The fixed-rate load of bench/scale.ts, in a process of its own (like bench/scale-replay.ts):
 * the runner holds the worlds' descriptions, the captured statements and the plans, and a
 * full collection of that heap, or its concurrent marking, delayed the requests it was due to
 * send, which the open loop then counted as the gateway's latency. Here the generator's heap
 * is its own, and what it did itself during the window comes back with the figures: its own
 * collections and its event loop's longest delay, and the machine's page faults, I/O wait and steal
 * (`machine`). Answers `rate` commands over IPC with fixedRate's result (bench/lib.ts), `generator`
 * and `machine`.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver, constants } from 'node:perf_hooks';
import { fixedRate, serveIpc } from './lib';

/**
 * The machine's counters that explain a stall no process's collections explain: major page
 * faults and KiB paged in (/proc/vmstat: a file page dropped from the page cache and read again,
 * as this machine's host-side reclaim, DAMON's pageout of page cache idle for a minute, does), and
 * the CPU time every core spent waiting for I/O or stolen by the host (/proc/stat, ms).
 */
function machineCounters(): Record<string, number> {
  const vm = Object.fromEntries(readFileSync('/proc/vmstat', 'utf8').trim().split('\n').map((l) => l.split(' ')));
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const tick = 1000 / 100;
  return { majorFaults: Number(vm.pgmajfault), pagedInKiB: Number(vm.pgpgin), iowaitMs: cpu[4] * tick, stealMs: (cpu[7] ?? 0) * tick };
}

let collections: { kind: number; ms: number }[] | null = null;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) collections?.push({ kind: (e as unknown as { detail: { kind: number } }).detail.kind, ms: e.duration });
}).observe({ entryTypes: ['gc'] });

serveIpc({
  rate: async (m) => {
    collections = [];
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const before = machineCounters();
    const result = await fixedRate(m.opts);
    const after = machineCounters();
    loop.disable();
    const own = collections;
    collections = null;
    return {
      result,
      generator: {
        majorCollections: own.filter((c) => c.kind === constants.NODE_PERFORMANCE_GC_MAJOR).length,
        collectionMs: Math.round(own.reduce((a, c) => a + c.ms, 0)),
        longestCollectionMs: Math.round(Math.max(0, ...own.map((c) => c.ms))),
        loopMaxMs: Math.round(loop.max / 1e6),
      },
      machine: Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]])),
    };
  },
});
process.send?.({ type: 'ready' });
