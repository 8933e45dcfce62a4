import { setMaxListeners } from 'node:events';

/**
 * Work a plain HTTP route does for one request (an export, an import), tracked so that
 * the gateway's stop can end it: at stop, each is told to abort through its signal and
 * stop waits until all have settled, before the database closes under them.
 */
/** Why in-flight work was aborted: the gateway is stopping (answered 503 when the client is still there). */
export class GatewayStoppingError extends Error {
  constructor() {
    super('The gateway is stopping; try again shortly');
  }
}

export class InFlight {
  private readonly running = new Set<{ controller: AbortController; done: Promise<unknown> }>();

  /** Runs `work` with a signal that aborts when the gateway stops. */
  async run<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const done = work(controller.signal);
    const entry = { controller, done };
    this.running.add(entry);
    try {
      return await done;
    } finally {
      this.running.delete(entry);
    }
  }

  /** Aborts every running piece of work and waits until each has settled. */
  async abortAll(): Promise<void> {
    const entries = [...this.running];
    for (const e of entries) e.controller.abort(new GatewayStoppingError());
    await Promise.allSettled(entries.map((e) => e.done));
  }

  get size(): number {
    return this.running.size;
  }
}

/** A controller whose signal many concurrent calls listen on (each upstream call joins it with AbortSignal.any). */
export function stoppingSignal(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
