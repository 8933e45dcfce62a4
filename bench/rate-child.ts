/**
 * The fixed-rate load of bench/scale.ts, in a process of its own (like bench/scale-replay.ts):
 * the runner holds the worlds' descriptions, the captured statements and the plans, and a
 * full collection of that heap, or its concurrent marking, delayed the requests it was due to
 * send, which the open loop then counted as the gateway's latency. Here the generator's heap
 * is its own, and what it did itself during the window comes back with the figures: its own
 * collections and its event loop's longest delay. Answers `rate` commands over IPC with
 * fixedRate's result (bench/lib.ts) and `generator`.
 */
import { monitorEventLoopDelay, PerformanceObserver, constants } from 'node:perf_hooks';
import { fixedRate, serveIpc } from './lib';

let collections: { kind: number; ms: number }[] | null = null;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) collections?.push({ kind: (e as unknown as { detail: { kind: number } }).detail.kind, ms: e.duration });
}).observe({ entryTypes: ['gc'] });

serveIpc({
  rate: async (m) => {
    collections = [];
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const result = await fixedRate(m.opts);
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
    };
  },
});
process.send?.({ type: 'ready' });
