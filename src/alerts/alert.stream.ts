import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { cursorOf, type AlertRecord } from './alert.kinds';
import { alertScopeCondition, type AlertScope } from './alert.tenancy';

/**
 * One read of the process stream, fanned out to every subscriber it concerns: they
 * resolve their alerts' lookups by id through this one EntityManager (and the shared
 * loaders the subscription keeps per batch), so the statements per read do not grow
 * with the subscribers. A new one per read, so no fork lives longer than its batch.
 */
export class AlertBatch {
  /** The partners of the subscribers this read was offered to (for checks made once per read, not per subscriber). */
  readonly partnerIds = new Set<string>();
  /** The alerts of this read offered to some subscriber: their lookups are made once for all of them. */
  readonly alerts = new Set<AlertRecord>();
  private forked?: EntityManager;

  constructor(private readonly orm: MikroORM) {}

  /** Forked on first use: a read nobody receives costs nothing. */
  get em(): EntityManager {
    return (this.forked ??= this.orm.em.fork() as EntityManager);
  }
}

/** What a stream needs of its hub. */
export interface StreamSource<T extends AlertRecord> {
  readonly options: { maxQueue: number; pageSize: number; pollMs: number };
  /** Every alert up to this cursor has been fanned out. */
  readonly lastSeen: bigint;
  readRows(after: bigint, upTo: bigint | null, limit: number, cond?: { sql: string; params: unknown[] }): Promise<T[]>;
  unregister(stream: AlertStream<T>): void;
  warn(err: unknown, message: string): void;
}

/** What the subscription wants to know about its stream. */
export interface StreamHooks<T extends AlertRecord = AlertRecord> {
  /**
   * Before each delivered batch, with its alerts (to read during the call only): a
   * drained queue passes the hub's read it came from (shared with the other subscribers
   * of that read); a table page passes none, so the subscriber forks its own EntityManager.
   */
  onBatch?(batch: AlertBatch | undefined, alerts: readonly T[]): void;
  /**
   * Everything handed out was consumed and the stream waits for more: what the last
   * batch needed (its EntityManager, loaders) can go.
   */
  onIdle?(): void;
  /** The stream ended (client unsubscribed, socket closed, gateway stopping). */
  onClose?(): void;
}

/**
 * One subscriber. Its state is a cursor (the last alert handed out) and a mark: every
 * alert up to the mark is read from the table, every alert after it arrives through
 * the bounded in-memory queue. Catching up (`after`) and overflow are the same thing:
 * the table is read in pages from the cursor up to the mark, then the queue takes
 * over. Alerts are handed out in cursor order and never twice (anything at or below
 * the cursor is skipped), so the seam between table and queue has no gap and no
 * duplicate.
 *
 * Overflow: when the queue is full, it is dropped and the mark moves to the hub's
 * last-seen cursor, so the subscriber reads those alerts from the table at its own
 * pace instead. Memory stays bounded and nothing is lost.
 */
export class AlertStream<T extends AlertRecord> implements AsyncIterableIterator<T> {
  cursor: bigint;
  mark: bigint;
  needTable: boolean;
  /** How many times the queue overflowed (read by the back-pressure tests; no metric reports it). */
  overflows = 0;
  /** The highest number of alerts ever queued at once. */
  maxQueued = 0;
  private queue: T[] = [];
  /** The hub read the newest queued alert came from (older queued ones are looked up through it too). */
  private queueBatch?: AlertBatch;
  private batch: T[] = [];
  private generation = 0;
  private closed = false;
  /** Something was handed out since the stream last went idle. */
  private delivered = false;
  private wake?: () => void;

  constructor(
    private readonly source: StreamSource<T>,
    readonly scope: AlertScope,
    after: bigint | null,
    private readonly hooks: StreamHooks<T>,
  ) {
    this.mark = source.lastSeen;
    this.cursor = after ?? source.lastSeen;
    this.needTable = this.cursor < this.mark;
  }

  /** Called by the hub, synchronously during a fan-out. */
  offer(alert: T, batch?: AlertBatch): void {
    if (this.closed || cursorOf(alert) <= this.mark) return;
    if (this.queue.length >= this.source.options.maxQueue) {
      this.queue = [];
      this.queueBatch = undefined;
      this.mark = this.source.lastSeen;
      this.needTable = true;
      this.generation++;
      this.overflows++;
    } else {
      this.queue.push(alert);
      this.queueBatch = batch;
      this.maxQueued = Math.max(this.maxQueued, this.queue.length);
    }
    this.signal();
  }

  queued(): number {
    return this.queue.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queueBatch = undefined;
    this.batch = [];
    this.source.unregister(this);
    this.signal();
    this.hooks.onClose?.();
  }

  async next(): Promise<IteratorResult<T>> {
    while (!this.closed) {
      const alert = this.batch.shift();
      if (alert) {
        if (cursorOf(alert) <= this.cursor) continue;
        this.cursor = cursorOf(alert);
        this.delivered = true;
        return { value: alert, done: false };
      }
      if (this.needTable) {
        await this.readPage();
        continue;
      }
      if (this.queue.length) {
        const shared = this.queueBatch;
        this.batch = this.queue;
        this.queue = [];
        this.queueBatch = undefined;
        this.hooks.onBatch?.(shared, this.batch);
        continue;
      }
      if (this.delivered) {
        this.delivered = false;
        this.hooks.onIdle?.();
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return { value: undefined, done: true };
  }

  async return(): Promise<IteratorResult<T>> {
    this.close();
    return { value: undefined, done: true };
  }

  async throw(err?: unknown): Promise<IteratorResult<T>> {
    this.close();
    throw err;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** One page of the table between the cursor and the mark; a database error is retried, not surfaced. */
  private async readPage(): Promise<void> {
    if (this.cursor >= this.mark) {
      this.needTable = false;
      return;
    }
    const generation = this.generation;
    const { pageSize } = this.source.options;
    let rows: T[];
    try {
      rows = await this.source.readRows(this.cursor, this.mark, pageSize, alertScopeCondition(this.scope, 'a'));
    } catch (err) {
      this.source.warn(err, 'reading alerts for a subscriber failed; retrying');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.source.options.pollMs);
        t.unref();
        this.wake = () => (clearTimeout(t), resolve());
      });
      return;
    }
    if (this.closed) return;
    if (rows.length) {
      this.batch = rows;
      this.hooks.onBatch?.(undefined, rows);
    }
    // A full page may have more behind it; a short one means the table is read up to the
    // mark, unless an overflow moved the mark meanwhile.
    if (rows.length < pageSize && generation === this.generation) this.needTable = false;
  }
}
