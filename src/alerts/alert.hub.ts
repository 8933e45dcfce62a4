import { Client } from 'pg';
import type { EntityManager, EntityName, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { queryRows } from '../db/query';
import type { Loaders } from '../kernel/loaders';
import type { Customer } from '../customers/customer.entity';
import type { Partner, User } from '../partners/partner.entity';
import type { Order } from '../transactions/transaction.entity';
import type { BlockReason } from '../transactions/transaction.enums';
import { BlockedOrderAlert } from './alert.entity';
import { ALERT_CHANNEL } from './alert.record';
import { alertInScope, alertScopeCondition, type AlertParties, type AlertScope } from './alert.tenancy';

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

/** An alert row: its bigserial id is its cursor. */
export interface AlertRecord {
  id: string;
}

/**
 * A kind of alert the hub delivers: its table (the mailbox, with `partner_id`,
 * `reseller_id` and `customer_id` columns for the tenancy rule), its NOTIFY channel
 * (the doorbell) and who it concerns. Blocked-order alerts are the hub's own kind;
 * other kinds (renewal-risk alerts) `attach` to it and share its one LISTEN connection.
 */
export interface AlertKind<T extends AlertRecord> {
  name: string;
  table: string;
  channel: string;
  entity: EntityName<T>;
  parties(alert: T): AlertParties;
  /**
   * Reads the kind as plain records instead of entities: `columns` of the table
   * (aliased `a`) in one prepared statement, `fromRow` makes each record. The hub and
   * table pages then build no entity and run no query builder per read. Without it, the
   * ORM reads entities.
   */
  plain?: { columns: string; fromRow(row: any): T };
}

interface AlertRow {
  id: string;
  order_id: string;
  customer_id: string;
  partner_id: string;
  reseller_id: string | null;
  reasons: BlockReason[];
  created_at: string | Date;
  acknowledged_at: string | Date | null;
  acknowledged_by_id: string | null;
}

/**
 * A read-only record of the entity's class holding plain fields (relations as `{ id }`,
 * which the field resolvers look up): shared by every subscriber of a read, never
 * managed by an EntityManager.
 */
function plainAlert(r: AlertRow): BlockedOrderAlert {
  const fields: Partial<BlockedOrderAlert> = {
    id: String(r.id),
    order: { id: r.order_id } as Order,
    customer: { id: r.customer_id } as Customer,
    partner: { id: r.partner_id } as Partner,
    reseller: r.reseller_id ? ({ id: r.reseller_id } as Partner) : null,
    reasons: r.reasons,
    createdAt: new Date(r.created_at),
    acknowledgedAt: r.acknowledged_at ? new Date(r.acknowledged_at) : null,
    acknowledgedBy: r.acknowledged_by_id ? ({ id: r.acknowledged_by_id } as User) : null,
  };
  const o = Object.create(BlockedOrderAlert.prototype) as BlockedOrderAlert;
  for (const [key, value] of Object.entries(fields)) Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  return o;
}

export const BLOCKED_ORDER_ALERTS: AlertKind<BlockedOrderAlert> = {
  name: 'blocked-order',
  table: 'blocked_order_alerts',
  channel: ALERT_CHANNEL,
  entity: BlockedOrderAlert,
  parties: (a) => ({ partnerId: a.partner.id, resellerId: a.reseller?.id ?? null, customerId: a.customer.id }),
  plain: {
    columns: 'a.id::text as id, a.order_id, a.customer_id, a.partner_id, a.reseller_id, a.reasons, a.created_at, a.acknowledged_at, a.acknowledged_by_id',
    fromRow: plainAlert,
  },
};

const idOf = (a: AlertRecord) => BigInt(a.id);

/**
 * One read of the process stream, fanned out to every subscriber it concerns: they
 * resolve their alerts' lookups by id through this one EntityManager (and the shared
 * loaders the resolver keeps in `shared`), so the statements per read do not grow
 * with the subscribers. A new one per read, so no fork lives longer than its batch.
 */
export class AlertBatch {
  /** The viewer-independent loaders its subscribers share, built by the subscription resolver on first use. */
  loaders?: Loaders;
  private forked?: EntityManager;

  constructor(private readonly orm: MikroORM) {}

  /** Forked on first use: a read nobody receives costs nothing. */
  get em(): EntityManager {
    return (this.forked ??= this.orm.em.fork() as EntityManager);
  }
}

/**
 * One per gateway process. The alerts table is the mailbox and NOTIFY only the
 * doorbell: on a ring (or the slow timer) the hub reads every alert after its
 * last-seen cursor in one query and fans them out in memory to its subscribers.
 * A missed ring costs at most one timer period; nothing is ever read from the
 * notification payload, so a lost or duplicated ring loses or doubles nothing.
 */
export class AlertHub<T extends AlertRecord = BlockedOrderAlert> {
  readonly options: AlertHubOptions;
  /** Every alert up to this cursor has been fanned out (or predates the hub). */
  lastSeen = 0n;
  private listener?: Client;
  private timer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private reconnectDelay: number;
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
    this.reconnectDelay = this.options.reconnectMinMs;
  }

  async start(): Promise<void> {
    const rows = await this.orm.em.fork().getConnection().execute<{ max: string | null }[]>(`select max(id)::text as max from ${this.kind.table}`);
    this.lastSeen = BigInt(rows[0]?.max ?? 0);
    // An attached hub is rung by its parent: no connection or timer of its own.
    if (this.parent) return;
    await this.listen();
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
    // While disconnected, the next listen() listens to every attached channel.
    await this.listener?.query(`listen ${kind.channel}`).catch((err) => this.warn(err, 'listening to an attached alert channel failed'));
    hub.ring();
    return hub;
  }

  /**
   * The slow timer, in case a ring was missed: rings every hub with subscribers. One
   * without subscribers reads nothing while its LISTEN connection is up (its cursor
   * follows the rings); a reconnect rings it to catch up.
   */
  private tick(): void {
    for (const hub of [this, ...this.attached.values()]) if (!hub.idle() || !this.listener) hub.ring();
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
    clearTimeout(this.reconnectTimer);
    for (const s of this.streams()) s.close();
    await this.pumping;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  /** Subscribers currently registered in this process. */
  subscriberCount(): number {
    return this.streams().length;
  }

  /** The registered streams (for metrics and tests). */
  streams(): AlertStream<any>[] {
    const own: AlertStream<any>[] = [...this.everything, ...[...this.byPartner.values()].flatMap((set) => [...set])];
    return [...own, ...[...this.attached.values()].flatMap((hub) => hub.streams())];
  }

  /** The server process id of the LISTEN connection, while connected. */
  listenerPid(): number | undefined {
    if (this.parent) return this.parent.listenerPid();
    return (this.listener as (Client & { processID?: number }) | undefined)?.processID;
  }

  /**
   * A stream of the alerts in `scope`: from `after` when given (served from the
   * table until it reaches the process stream), else from now on.
   */
  subscribe(scope: AlertScope, after: bigint | null, hooks: StreamHooks = {}): AlertStream<T> {
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
        const [{ max }] = await queryRows<{ max: string | null }>(this.fork(), this.statements().max);
        if (this.idle()) {
          if (max && BigInt(max) > this.lastSeen) this.lastSeen = BigInt(max);
          return;
        }
      }
      const rows = await this.readRows(this.lastSeen, null, this.options.batchSize);
      if (!rows.length || this.stopped) return;
      // Advance first: a subscriber that overflows during this fan-out re-reads up to here from the table.
      this.lastSeen = idOf(rows[rows.length - 1]);
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
    // A constant text per tenancy condition (a handful): each is prepared once per connection.
    const sql =
      `select ${plain.columns} from ${table} a where a.id > ?::bigint` +
      (upTo === null ? '' : ' and a.id <= ?::bigint') +
      (cond ? ` and (${cond.sql})` : '') +
      ' order by a.id limit ?::int';
    const values = [String(after), ...(upTo === null ? [] : [String(upTo)]), ...(cond?.params ?? []), limit];
    const rows = await queryRows<Record<string, unknown>>(em, sql, values);
    return rows.map(plain.fromRow);
  }

  private statementTexts?: { max: string };
  private statements(): { max: string } {
    return (this.statementTexts ??= { max: `select max(id)::text as max from ${this.kind.table}` });
  }

  private fanOut(alert: T, batch: AlertBatch): void {
    const parties = this.kind.parties(alert);
    const resellerId = parties.resellerId;
    const offer = (set: Set<AlertStream<T>> | undefined) => {
      if (set) for (const s of set) if (alertInScope(s.scope, parties)) s.offer(alert, batch);
    };
    offer(this.everything);
    offer(this.byPartner.get(parties.partnerId));
    if (resellerId) offer(this.byPartner.get(resellerId));
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.orm.config.get('clientUrl'), application_name: 'consent-gateway alert listener' });
    // Errors and ends both mean the same: reconnect, then read what was missed meanwhile.
    client.on('error', (err) => this.dropped(client, err));
    client.on('end', () => this.dropped(client));
    // The channel names the kind; anything else rings them all (a ring never loses or doubles anything).
    client.on('notification', (msg) => {
      const hub = msg.channel === this.kind.channel ? this : this.attached.get(msg.channel);
      if (hub) hub.ring(msg.payload);
      else this.ringAll();
    });
    try {
      await client.connect();
      for (const channel of [this.kind.channel, ...this.attached.keys()]) await client.query(`listen ${channel}`);
    } catch (err) {
      this.dropped(client, err as Error);
      return;
    }
    this.listener = client;
    this.reconnectDelay = this.options.reconnectMinMs;
    this.ringAll();
  }

  private dropped(client: Client, err?: Error): void {
    if (this.stopped || (this.listener && this.listener !== client)) return;
    if (this.reconnectTimer) return;
    this.listener = undefined;
    client.removeAllListeners();
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    this.log.warn({ err, retryInMs: this.reconnectDelay }, 'alert listener connection lost; reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped) void this.listen();
    }, this.reconnectDelay);
    this.reconnectTimer.unref();
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, this.options.reconnectMaxMs);
  }
}

/** What the subscription resolver wants to know about its stream. */
export interface StreamHooks {
  /**
   * Before each delivered batch: a drained queue passes the hub's read it came from
   * (shared with the other subscribers of that read); a table page passes nothing, so
   * the subscriber forks its own EntityManager.
   */
  onBatch?(batch?: AlertBatch): void;
  /** An alert was handed out. */
  onDeliver?(): void;
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
export class AlertStream<T extends AlertRecord = BlockedOrderAlert> implements AsyncIterableIterator<T> {
  cursor: bigint;
  mark: bigint;
  needTable: boolean;
  /** How many times the queue overflowed (observable for tests and metrics). */
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
    private readonly hub: AlertHub<T>,
    readonly scope: AlertScope,
    after: bigint | null,
    private readonly hooks: StreamHooks,
  ) {
    this.mark = hub.lastSeen;
    this.cursor = after ?? hub.lastSeen;
    this.needTable = this.cursor < this.mark;
  }

  /** Called by the hub, synchronously during a fan-out. */
  offer(alert: T, batch?: AlertBatch): void {
    if (this.closed || idOf(alert) <= this.mark) return;
    if (this.queue.length >= this.hub.options.maxQueue) {
      this.queue = [];
      this.queueBatch = undefined;
      this.mark = this.hub.lastSeen;
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
    this.hub.unregister(this);
    this.signal();
    this.hooks.onClose?.();
  }

  async next(): Promise<IteratorResult<T>> {
    while (!this.closed) {
      const alert = this.batch.shift();
      if (alert) {
        if (idOf(alert) <= this.cursor) continue;
        this.cursor = idOf(alert);
        this.delivered = true;
        this.hooks.onDeliver?.();
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
        this.hooks.onBatch?.(shared);
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
    const { pageSize } = this.hub.options;
    let rows: T[];
    try {
      rows = await this.hub.readRows(this.cursor, this.mark, pageSize, alertScopeCondition(this.scope, 'a'));
    } catch (err) {
      this.hub.warn(err, 'reading alerts for a subscriber failed; retrying');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.hub.options.pollMs);
        t.unref();
        this.wake = () => (clearTimeout(t), resolve());
      });
      return;
    }
    if (this.closed) return;
    if (rows.length) {
      this.batch = rows;
      this.hooks.onBatch?.();
    }
    // A full page may have more behind it; a short one means the table is read up to the
    // mark, unless an overflow moved the mark meanwhile.
    if (rows.length < pageSize && generation === this.generation) this.needTable = false;
  }
}
