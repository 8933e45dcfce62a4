import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { BLOCKED_ORDER_ALERTS, cursorOf, type AlertKind, type AlertRecord } from './alert.kinds';
import { AlertListener } from './alert.listener';
import { sessionUrl } from '../db/topology';
import { alertRows, newestAlertId, type BlockedOrderAlertRecord } from './alert.queries';
import { AlertBatch, AlertStream, type StreamHooks } from './alert.stream';
import { alertInScope, type AlertScope } from './alert.tenancy';

// Callers that attach a kind name it as the hub's (src/renewals).
export type { AlertKind, AlertRecord } from './alert.kinds';


export interface AlertHubOptions {
  /** Slow timer: reads the table even without a ring, in case a NOTIFY was missed. */
  pollMs: number;
  /** Rows per read of the process stream. */
  batchSize: number;
  /** Rows per table page while a subscriber catches up. */
  pageSize: number;
  /** Alerts queued per subscriber before it falls back to reading the table. */
  maxQueue: number;
  /** Reconnect backoff of the LISTEN connection, doubling from min to max. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

export const DEFAULT_HUB_OPTIONS: AlertHubOptions = {
  pollMs: 2_000,
  batchSize: 500,
  pageSize: 200,
  maxQueue: 1_000,
  reconnectMinMs: 250,
  reconnectMaxMs: 10_000,
};

/**
 * One per gateway process. The alerts table is the mailbox and NOTIFY only the
 * doorbell: on a ring (or the slow timer) the hub reads every alert after its
 * last-seen cursor in one query and fans them out in memory to its subscribers.
 * A missed ring costs at most one timer period; nothing is ever read from the
 * notification payload, so a lost or duplicated ring loses or doubles nothing.
 */
export class AlertHub<T extends AlertRecord = BlockedOrderAlertRecord> {
  readonly options: AlertHubOptions;
  /** Every alert up to this cursor has been fanned out (or predates the hub). */
  lastSeen = 0n;
  private listener?: AlertListener;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private pumping?: Promise<void>;
  private again = false;
  /** Subscribers of partner users, by their partner id; platform roles in `everything`. */
  private readonly byPartner = new Map<string, Set<AlertStream<T>>>();
  private readonly everything = new Set<AlertStream<T>>();
  /** Hubs of other kinds attached to this one, by channel: they share its LISTEN connection and timer. */
  private readonly attached = new Map<string, AlertHub<any>>();
  private parent?: AlertHub<any>;

  constructor(
    private readonly orm: MikroORM,
    private readonly log: Logger,
    options: Partial<AlertHubOptions> = {},
    readonly kind: AlertKind<T> = BLOCKED_ORDER_ALERTS as unknown as AlertKind<T>,
  ) {
    this.options = { ...DEFAULT_HUB_OPTIONS, ...options };
  }

  async start(): Promise<void> {
    this.lastSeen = await newestAlertId(this.fork(), this.kind.table);
    // An attached hub is rung by its parent: no connection or timer of its own.
    if (this.parent) return;
    this.listener = new AlertListener(sessionUrl(this.orm), this.log, this.options, {
      // The channel names the kind; anything else rings them all (a ring never loses or doubles anything).
      ring: (channel, payload) => {
        const hub = channel === this.kind.channel ? this : this.attached.get(channel);
        if (hub) hub.ring(payload);
        else this.ringAll();
      },
      connected: () => this.ringAll(),
    });
    await this.listener.start(this.kind.channel);
    this.timer = setInterval(() => this.tick(), this.options.pollMs);
    this.timer.unref();
  }

  /**
   * Delivers another kind of alert through this hub's LISTEN connection: the returned
   * hub has its own table, cursor and subscribers, and the same guarantees.
   */
  async attach<K extends AlertRecord>(kind: AlertKind<K>): Promise<AlertHub<K>> {
    const existing = this.attached.get(kind.channel);
    if (existing) return existing as AlertHub<K>;
    const hub = new AlertHub<K>(this.orm, this.log, this.options, kind);
    hub.parent = this;
    await hub.start();
    this.attached.set(kind.channel, hub);
    // While disconnected, the next connect listens to every attached channel.
    await this.listener?.add(kind.channel);
    hub.ring();
    return hub;
  }

  /**
   * The slow timer, in case a ring was missed: rings every hub with subscribers. One
   * without subscribers reads nothing while its LISTEN connection is up (its cursor
   * follows the rings); a reconnect rings it to catch up.
   */
  private tick(): void {
    for (const hub of [this, ...this.attached.values()]) if (!hub.idle() || !this.listener?.connected) hub.ring();
  }

  /** Rings this hub and every attached one (a (re)connect). */
  private ringAll(): void {
    this.ring();
    for (const hub of this.attached.values()) hub.ring();
  }

  async stop(): Promise<void> {
    for (const hub of this.attached.values()) await hub.stop();
    this.stopped = true;
    clearInterval(this.timer);
    const listener = this.listener;
    this.listener = undefined;
    const closing = listener?.stop();
    for (const s of this.streams()) s.close();
    await this.pumping;
    await closing;
  }

  /** Subscribers currently registered in this process. */
  subscriberCount(): number {
    return this.streams().length;
  }

  /** The registered streams, attached hubs' included (stop closes them; tests look into them). */
  streams(): AlertStream<any>[] {
    const own: AlertStream<any>[] = [...this.everything, ...[...this.byPartner.values()].flatMap((set) => [...set])];
    return [...own, ...[...this.attached.values()].flatMap((hub) => hub.streams())];
  }

  /** The server process id of the LISTEN connection, while connected. */
  listenerPid(): number | undefined {
    if (this.parent) return this.parent.listenerPid();
    return this.listener?.pid();
  }

  /**
   * A stream of the alerts in `scope`: from `after` when given (served from the
   * table until it reaches the process stream), else from now on.
   */
  subscribe(scope: AlertScope, after: bigint | null, hooks: StreamHooks<T> = {}): AlertStream<T> {
    const stream = new AlertStream<T>(this, scope, after, hooks);
    const key = scope.viewer.partnerId;
    if (!key) this.everything.add(stream);
    else {
      let set = this.byPartner.get(key);
      if (!set) this.byPartner.set(key, (set = new Set()));
      set.add(stream);
    }
    return stream;
  }

  /** @internal */
  unregister(stream: AlertStream<T>): void {
    const key = stream.scope.viewer.partnerId;
    if (!key) this.everything.delete(stream);
    else {
      const set = this.byPartner.get(key);
      set?.delete(stream);
      if (set?.size === 0) this.byPartner.delete(key);
    }
  }

  /** @internal */
  warn(err: unknown, message: string): void {
    this.log.warn({ err }, message);
  }

  /** A fresh EntityManager: the hub and each delivered batch get their own, never a long-lived one. */
  fork(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  /**
   * The doorbell: read what is new. Rings during a read cause one more read, never a
   * parallel one. `cursor` is what the ring announces (a NOTIFY's payload): while
   * nobody subscribes here, the hub only moves its cursor there and reads nothing.
   */
  ring(cursor?: string): void {
    if (this.stopped) return;
    if (cursor !== undefined && !this.pumping && this.idle() && /^\d{1,19}$/.test(cursor)) {
      // Alerts commit in cursor order and the ring comes at commit: everything up to it is
      // committed. A subscriber arriving later starts from here (or replays from the table).
      const announced = BigInt(cursor);
      if (announced > this.lastSeen) this.lastSeen = announced;
      return;
    }
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = (async () => {
      try {
        do {
          this.again = false;
          await this.readNew();
        } while (this.again && !this.stopped);
      } catch (err) {
        // The timer tries again; subscribers lose nothing since lastSeen did not move.
        this.log.warn({ err }, 'reading new alerts failed');
      } finally {
        this.pumping = undefined;
      }
    })();
  }

  /** Resolves once every alert up to `cursor` has been fanned out (tests and shutdown use it). */
  async caughtUp(cursor: bigint): Promise<void> {
    while (this.lastSeen < cursor && !this.stopped) {
      this.ring();
      await (this.pumping ?? new Promise((r) => setTimeout(r, 10)));
    }
  }

  /** No subscriber of this kind in this process: nothing to fan out, so nothing to read. */
  private idle(): boolean {
    return this.everything.size === 0 && this.byPartner.size === 0;
  }

  private async readNew(): Promise<void> {
    for (;;) {
      if (this.idle()) {
        // Only the cursor moves (the timer, a reconnect, a ring without a cursor): one
        // index lookup. If someone subscribed meanwhile, the rows are read after all, so
        // the newcomer's mark (the old cursor) meets the fan-out without a gap.
        const newest = await newestAlertId(this.fork(), this.kind.table);
        if (this.idle()) {
          if (newest > this.lastSeen) this.lastSeen = newest;
          return;
        }
      }
      const rows = await this.readRows(this.lastSeen, null, this.options.batchSize);
      if (!rows.length || this.stopped) return;
      // Advance first: a subscriber that overflows during this fan-out re-reads up to here from the table.
      this.lastSeen = cursorOf(rows[rows.length - 1]);
      const batch = new AlertBatch(this.orm);
      for (const alert of rows) this.fanOut(alert, batch);
      if (rows.length < this.options.batchSize) return;
    }
  }

  /**
   * Alerts after `after` (up to `upTo` when given) in cursor order, narrowed by a
   * tenancy condition on alias `a`: plain records through one prepared statement when
   * the kind has them, else entities.
   */
  async readRows(after: bigint, upTo: bigint | null, limit: number, cond?: { sql: string; params: unknown[] }): Promise<T[]> {
    const { plain, table, entity } = this.kind;
    const em = this.fork();
    if (!plain) {
      const qb = em.createQueryBuilder(entity, 'a').where({ id: { $gt: String(after), ...(upTo === null ? {} : { $lte: String(upTo) }) } });
      if (cond) qb.andWhere(cond.sql, cond.params);
      return qb.orderBy({ id: 'asc' }).limit(limit).getResultList() as Promise<T[]>;
    }
    const rows = await alertRows<Record<string, unknown>>(em, { table, columns: plain.columns }, after, upTo, limit, cond);
    return rows.map(plain.fromRow);
  }

  private fanOut(alert: T, batch: AlertBatch): void {
    const parties = this.kind.parties(alert);
    const resellerId = parties.resellerId;
    const offer = (set: Set<AlertStream<T>> | undefined) => {
      if (!set) return;
      for (const s of set) {
        if (!alertInScope(s.scope, parties)) continue;
        s.offer(alert, batch);
        batch.alerts.add(alert);
      }
    };
    const offerTo = (partnerId: string) => {
      const set = this.byPartner.get(partnerId);
      if (set) batch.partnerIds.add(partnerId);
      offer(set);
    };
    offer(this.everything);
    offerTo(parties.partnerId);
    if (resellerId) offerTo(resellerId);
  }
}
