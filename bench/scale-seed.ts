/**
 * The benchmark world at a distributor's scale (issue 23): `BENCH_SCALE` customers
 * (10000 by default, 100000, 1000000; `10k`, `100k`, `1m` too), everything else in
 * proportion, generated in Node and streamed into PostgreSQL with COPY FROM STDIN.
 *
 * Partners grow slower than customers (a distributor has thousands of resellers, not
 * one per customer). With f = customers / 10,000:
 *   direct    = round(10 * f^0.35)   (10k: 10,  100k: 22,  1M: 50)
 *   providers = round(10 * f^0.35)   (10k: 10,  100k: 22,  1M: 50)
 *   resellers = round(30 * f^0.91)   (10k: 30,  100k: 244, 1M: 1,982)
 * Every reseller sells through one provider, a third through two (reseller links).
 *
 * Per customer: one billing relationship, a fifth two (direct or provider; a provider's
 * names one of its resellers); 5 orders; subscriptions from its completed new purchases.
 * Per public-cloud relationship, a compliance state judged by the DEFAULT policy of
 * DESIGN.md section 10 (no permissive rule: the world is meant to show every state):
 *   CONFIRMED 45 (Customer Agreement, current template, agreed on or after 2023-04-01;
 *     15% replaced a Cloud Agreement confirmation: a SUPERSEDED row),
 *   OUTDATED 10 (Customer Agreement, older template), REACCEPTANCE_REQUIRED 12 (a Cloud
 *   Agreement, or a Customer Agreement agreed before 2023-04-01), WITHDRAWN 8, MISSING 17;
 *   5% of customers are in a national cloud (NOT_APPLICABLE), 4% of public ones accepted
 *   the Customer Agreement directly (every partner CONFIRMED).
 * Around them: corrections (3% of confirmations), reseller submissions (approved,
 * pending, rejected), attestations (recorded, expired, failed, cancelled: no open one,
 * so nothing polls upstream at start-up), drift (2% of relationships, 40% resolved),
 * a sync row per confirmation (SYNCED, FAILED, NOT_CONNECTED), subscription events
 * (cancelled, auto-renew off), a blocked-order alert per blocked order, renewal-risk
 * alerts for blocked relationships' subscriptions renewing within 60 days, and the
 * audit chain of every pair, computed by the gateway's own trail SQL and hash
 * (src/audit/audit.chain.ts), so start-up's backfill has nothing to do.
 *
 * Deterministic: the same seed number, scale and seed day give the same rows (ids come
 * from the rng, never randomUUID). Dates are relative to the *seed day* (UTC), stored
 * in the world: by default the day the world is seeded (the compliance rules and the
 * renewal windows are judged against the real today), BENCH_SEED_DAY fixes it.
 *
 * Kept per scale (prepareScaleWorld, `npm run bench:seed`): BENCH_DATA_ROOT/<scale>
 * (default ~/.cache/consent-gateway/bench; /var/tmp/consent-gateway/bench when root's home
 * is closed to the postgres user) holds the embedded cluster, fingerprint.json (seed version,
 * seed, scale, migrations) and world.json. A matching fingerprint reuses the cluster; when
 * only migrations were added since, they are applied to the kept data, as a live upgrade
 * would, and DERIVED_REBUILDS run; otherwise, or when the seed day is more than
 * BENCH_SEED_MAX_AGE_DAYS (30) old, it is seeded anew. Benchmarks that write leave their rows
 * in the kept cluster (the world grows by what they wrote).
 *
 * `npm run bench` keeps bench/seed.ts (its 10,000 world under a permissive rule, comparable
 * with earlier sessions' figures); this seeder is for the scale benchmarks. At 10k its
 * partner counts and orders are those of bench/seed.ts, its mix of states is not (it adds
 * the Customer Agreement, REACCEPTANCE_REQUIRED, direct acceptances and the rest).
 */
import { rebuildComplianceDirectory } from '../src/acceptance/compliance.directory';
import { rebuildRenewalFacts } from '../src/renewals/renewal.derived.queries';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { EntityManager } from '@mikro-orm/postgresql';
import { DERIVED_ALL, canonicalEvent, linkHash, GENESIS_HASH, type DerivedEvent } from '../src/audit/audit.chain';
import { positional } from '../src/db/query';
import { refillDriftCounts } from '../src/reconciliation/reconciliation.queries';
import { MIGRATIONS_DIR, initOrm } from '../src/db/orm';
import { entities } from '../src/features';
import { migrate } from '../src/db/migrate';
import { firstUnenterableFolder, startEmbeddedPostgres } from '../src/db/embedded';

/** Bumped whenever the generated world changes: a kept cluster of another version is re-seeded. */
export const SEED_VERSION = 3;

/**
 * Rebuilds of the derived tables once the rows are in: forced after a seed (COPY ran with the
 * triggers off), only those left invalid after new migrations on a kept world. Each is timed.
 */
export const DERIVED_REBUILDS: {
  name: string;
  run: (em: EntityManager, opts?: { force?: boolean }) => Promise<unknown>;
  /** Its large tables: a seed fills them with their keys and indexes dropped, rebuilt after (as the base tables). */
  bulk: string[];
}[] = [
  { name: 'compliance directory', run: rebuildComplianceDirectory, bulk: ['customer_compliance'] },
  { name: 'renewal facts', run: rebuildRenewalFacts, bulk: ['renewal_facts', 'renewal_fact_counts'] },
];

export interface ScaleSize {
  customers: number;
  direct: number;
  providers: number;
  resellers: number;
  ordersPerCustomer: number;
}

/** `10000`, `10k`, `100k`, `1m`, `1000000` (underscores allowed); default 10,000. */
export function parseScale(text: string | undefined): number {
  if (!text) return 10_000;
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim().replace(/_/g, ''));
  if (!m) throw new Error(`BENCH_SCALE must be a customer count such as 10000, 100k or 1m, not ${JSON.stringify(text)}`);
  const n = Math.round(Number(m[1]) * (m[2].toLowerCase() === 'k' ? 1_000 : m[2].toLowerCase() === 'm' ? 1_000_000 : 1));
  if (n < 100) throw new Error(`BENCH_SCALE must be at least 100 customers, not ${n}`);
  return n;
}

/** The documented formula (see the header). */
export function sizeFor(customers: number): ScaleSize {
  const f = customers / 10_000;
  return {
    customers,
    direct: Math.max(2, Math.round(10 * f ** 0.35)),
    providers: Math.max(2, Math.round(10 * f ** 0.35)),
    resellers: Math.max(3, Math.round(30 * f ** 0.91)),
    ordersPerCustomer: 5,
  };
}

/** Two hex digits per byte value (uuids are formatted from a table: toString(16) was a hot spot). */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const u32 = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = () => u32() / 4294967296;
  const hex16 = (x: number) => HEX[x >>> 8] + HEX[x & 255];
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)],
    weighted: <K extends string>(w: readonly (readonly [K, number])[]): K => {
      let total = 0;
      for (const [, x] of w) total += x;
      let r = next() * total;
      for (const [k, x] of w) if ((r -= x) < 0) return k;
      return w[0][0];
    },
    /** A version-4-shaped UUID from the stream. */
    uuid: () => {
      const a1 = u32();
      const b = ((u32() & 0xffff0fff) | 0x4000) >>> 0;
      const c = ((u32() & 0x3fffffff) | 0x80000000) >>> 0;
      const d = u32();
      return `${hex16(a1 >>> 16)}${hex16(a1 & 0xffff)}-${hex16(b >>> 16)}-${hex16(b & 0xffff)}-${hex16(c >>> 16)}-${hex16(c & 0xffff)}${hex16(d >>> 16)}${hex16(d & 0xffff)}`;
    },
  };
}

const WORDS = ['Contoso', 'Fabrikam', 'Northwind', 'Adventure', 'Tailspin', 'Wingtip', 'Litware', 'Proseware', 'Woodgrove', 'Alpine', 'Coho', 'Lucerne', 'Margie', 'Trey', 'Humongous', 'Blue Yonder', 'Fourth Coffee', 'Wide World', 'Graphic Design', 'Southridge', 'Relecloud', 'VanArsdel', 'Datum', 'Bellows', 'Consolidated', 'Litmus', 'Nod', 'Lamna', 'Munson', 'Olympia'];
const SECTORS = ['Systems', 'Retail', 'Health', 'Logistics', 'Energy', 'Labs', 'Foods', 'Media'];
const SUFFIXES = ['Ltd', 'GmbH', 'Inc', 'SA', 'BV', 'AB', 'Oy', 'Srl', 'plc', 'LLC'];
const FIRST = ['Ada', 'Ben', 'Chloe', 'Dev', 'Elena', 'Femi', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Kari', 'Liam', 'Mona', 'Nils', 'Olga', 'Priya'];
const LAST = ['Smith', 'Müller', 'García', 'Rossi', 'Novak', 'Jensen', 'Dubois', 'Kowalski', 'Silva', 'Tanaka', 'Okafor', 'Larsen'];
const COUNTRIES = [['US', 30], ['DE', 15], ['GB', 12], ['FR', 10], ['NL', 8], ['SE', 5], ['IT', 5], ['ES', 5], ['PL', 4], ['JP', 3], ['BR', 3]] as const;
const OFFERS = ['O365_E3', 'O365_E5', 'M365_BP', 'AZURE_PLAN', 'TEAMS_ESS'];

export type State = 'CONFIRMED' | 'OUTDATED' | 'REACCEPTANCE_REQUIRED' | 'WITHDRAWN' | 'MISSING' | 'NOT_APPLICABLE';
const STATES = [['CONFIRMED', 45], ['OUTDATED', 10], ['REACCEPTANCE_REQUIRED', 12], ['WITHDRAWN', 8], ['MISSING', 17]] as const;
const CLOUD = 'MICROSOFT_CLOUD_AGREEMENT';
const CUSTOMER = 'MICROSOFT_CUSTOMER_AGREEMENT';

export interface ScalePartner {
  id: string;
  name: string;
  type: 'DIRECT_BILL' | 'INDIRECT_PROVIDER' | 'INDIRECT_RESELLER';
  providers: string[];
  adminUser: string;
}

/** What the harness needs to know of a seeded world (kept beside the data as world.json). */
export interface ScaleWorld {
  seedVersion: number;
  seed: number;
  scale: number;
  /** The UTC day the world's dates are relative to. */
  seedDay: string;
  size: ScaleSize;
  partners: ScalePartner[];
  /** Platform users without a partner. */
  analystUser: string;
  platformAdminUser: string;
  samples: {
    /** The customer (and its billing partner) with the longest audit trail. */
    longTrail: { customerId: string; partnerId: string; links: number };
    attestationId: string;
    driftId: string;
    /** An acceptance with a sync row (its acceptance id). */
    syncAcceptanceId: string;
    /** A blocked relationship (customer, partner, reseller) and a completed one, for the gate. */
    blocked: { customerId: string; partnerId: string; resellerId: string | null };
    compliant: { customerId: string; partnerId: string; resellerId: string | null; subscriptionId: string | null };
  };
  counts: Record<string, number>;
  /** Relationships per intended state. */
  states: Record<string, number>;
  /** Step times of the seeding (ms), when this process seeded. */
  steps: Record<string, number>;
  /** CPU time of the seed (ms): this Node process, and the PostgreSQL server (Linux only, else 0). */
  cpu?: { nodeMs: number; postgresMs: number };
}

/**
 * User and system CPU (ms) and minor page faults of the PostgreSQL server of `pgDir` so far:
 * the postmaster, its ended children (backends of closed connections) and its live ones, from
 * /proc (zeros elsewhere).
 */
export function postgresProcess(pgDir: string): { userMs: number; sysMs: number; minorFaults: number } {
  try {
    const pid = Number(readFileSync(join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const fieldsOf = (p: number | string) => {
      const text = readFileSync(`/proc/${p}/stat`, 'utf8');
      return text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number);
    };
    // After the name: state(0) ppid(1) ... minflt(7) cminflt(8) majflt(9) cmajflt(10) utime(11) stime(12) cutime(13) cstime(14).
    const own = fieldsOf(pid);
    const sum = { user: own[11] + own[13], sys: own[12] + own[14], faults: own[7] + own[8] };
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const f = fieldsOf(p);
        if (f[1] !== pid) continue;
        sum.user += f[11];
        sum.sys += f[12];
        sum.faults += f[7];
      } catch {
        // gone meanwhile
      }
    }
    const tick = 100; // USER_HZ on Linux
    return { userMs: (sum.user * 1000) / tick, sysMs: (sum.sys * 1000) / tick, minorFaults: sum.faults };
  } catch {
    return { userMs: 0, sysMs: 0, minorFaults: 0 };
  }
}

/** CPU time (ms) of the PostgreSQL server of `pgDir` so far (postgresProcess). */
function postgresCpuMs(pgDir: string): number {
  const { userMs, sysMs } = postgresProcess(pgDir);
  return userMs + sysMs;
}

/**
 * A value in COPY text form when it needs no escaping: the generator's own strings (names,
 * ids, dates, seat lots) never hold a tab, newline or backslash.
 */
function plainField(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '\\N';
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** COPY text format: tabs, newlines and backslashes escaped, \N for null. */
function field(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  const s = String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : s;
}

/** A COPY FROM STDIN into one table, on a connection of its own, with back-pressure. */
class CopySink {
  rows = 0;
  private buf: string[] = [];
  private size = 0;
  private waiting: Promise<void> | undefined;
  private stream!: NodeJS.WritableStream & { on: (e: string, f: (...a: unknown[]) => void) => void };
  private done!: Promise<void>;
  private client: Client;
  /** `escaped`: values may hold tabs, newlines or backslashes (the audit chain's canonical JSON). */
  constructor(private url: string, readonly table: string, readonly columns: string[], private escaped = false) {
    this.client = new Client({ connectionString: url });
  }
  async open(): Promise<void> {
    await this.client.connect();
    await this.client.query(SESSION_SETTINGS);
    // An empty table truncated in the loading transaction: with wal_level=minimal (a fresh
    // seed, see prepareScaleWorld) its rows are then written without WAL, and frozen as they
    // go in. Unfrozen, the first statement to read each page after the load (a key's build, an
    // analyze, a rebuild) set its hint bits, which with data checksums (on in PostgreSQL 18's
    // initdb) logs the whole page: 7 GB of WAL at 1M, and every page written twice.
    await this.client.query('begin');
    const { rows } = await this.client.query(`select not exists (select 1 from ${this.table}) as empty`);
    if (rows[0].empty) await this.client.query(`truncate ${this.table}`);
    const freeze = rows[0].empty ? ' with (freeze)' : '';
    this.stream = this.client.query(copyFrom(`copy ${this.table} (${this.columns.map((c) => `"${c}"`).join(', ')}) from stdin${freeze}`)) as never;
    this.done = new Promise((resolve, reject) => {
      this.stream.on('finish', () => resolve());
      this.stream.on('error', (e) => reject(e as Error));
    });
  }
  /** Queues a row (written in chunks of about 1 MB). */
  push(row: unknown[]): void {
    this.pushLine(row.map(this.escaped ? field : plainField).join('\t') + '\n');
  }
  /** Queues a row already in COPY text form (ending in a newline). */
  pushLine(line: string): void {
    this.buf.push(line);
    this.size += line.length;
    this.rows++;
    if (this.size >= 1 << 20) this.flush();
  }
  private flush(): void {
    if (this.buf.length === 0) return;
    const ok = this.stream.write(this.buf.join(''));
    this.buf = [];
    this.size = 0;
    if (!ok && !this.waiting) this.waiting = new Promise((r) => this.stream.once('drain', () => ((this.waiting = undefined), r())));
  }
  /** Resolves once the server has taken what was written (back-pressure). */
  drained(): Promise<void> {
    return this.waiting ?? Promise.resolve();
  }
  async close(): Promise<void> {
    this.flush();
    this.stream.end();
    await this.done;
    await this.client.query('commit');
    await this.client.end();
  }
}

/**
 * Settings of the loading sessions: no wait for the WAL flush at commit, room for index
 * builds, no triggers and no foreign-key checks while rows go in (replica role: the
 * derived tables are rebuilt afterwards, the keys are checked when recreated).
 */
const SESSION_SETTINGS = `set synchronous_commit = off; set maintenance_work_mem = '512MB'; set work_mem = '64MB';
  set session_replication_role = replica; set statement_timeout = 0`;

export const TABLES: Record<string, string[]> = {
  partners: ['id', 'name', 'tenant_id', 'type', 'created_at'],
  reseller_links: ['id', 'reseller_id', 'provider_id', 'created_at'],
  users: ['id', 'display_name', 'partner_id', 'roles', 'first_seen_at', 'last_seen_at'],
  agreement_templates: ['template_id', 'type', 'version', 'version_rank', 'country', 'language', 'display_uri', 'effective_from', 'created_at'],
  customers: ['id', 'tenant_id', 'company_name', 'domain', 'country', 'cloud', 'contact_first_name', 'contact_last_name', 'contact_email', 'contact_phone_number', 'created_at', 'direct_acceptance_type', 'direct_accepted_on', 'direct_acceptance_source'],
  customer_relationships: ['id', 'customer_id', 'partner_id', 'created_at'],
  customer_relationship_resellers: ['relationship_id', 'reseller_id'],
  acceptances: ['id', 'customer_id', 'partner_id', 'template_id', 'date_agreed', 'contact_first_name', 'contact_last_name', 'contact_email', 'contact_phone_number', 'on_behalf_of', 'channel', 'status', 'confirmed_by_id', 'recorded_at', 'superseded_at', 'withdrawn_at', 'withdrawn_by_id', 'withdrawal_reason', 'source', 'attestation_id'],
  acceptance_corrections: ['id', 'acceptance_id', 'corrected_by_id', 'corrected_at', 'field', 'old_value', 'new_value'],
  acceptance_submissions: ['id', 'customer_id', 'provider_id', 'reseller_id', 'template_id', 'date_agreed', 'contact_first_name', 'contact_last_name', 'contact_email', 'contact_phone_number', 'status', 'submitted_by_id', 'submitted_at', 'reviewed_by_id', 'reviewed_at', 'review_note', 'acceptance_id'],
  attestations: ['id', 'customer_id', 'partner_id', 'reseller_id', 'requested_by_id', 'status', 'upstream_id', 'acceptance_url', 'link_expires_at', 'link_lifetime_minutes', 'company_name', 'country', 'language', 'signatory_first_name', 'signatory_last_name', 'signatory_email', 'last_error', 'error_code', 'accepted_at', 'create_request_id', 'agreement_request_id', 'acceptance_id', 'created_at', 'recorded_at', 'updated_at'],
  acceptance_drift: ['id', 'customer_id', 'partner_id', 'kind', 'detail', 'first_detail', 'acceptance_id', 'first_detected_at', 'detected_at', 'resolved_at'],
  acceptance_syncs: ['acceptance_id', 'partner_id', 'status', 'attempts', 'request_id', 'correlation_id', 'last_attempt_at', 'synced_at', 'last_error', 'created_at'],
  subscriptions: ['id', 'customer_id', 'partner_id', 'reseller_id', 'offer_id', 'seats', 'status', 'renews_on', 'created_at', 'cancelled_at', 'term_duration', 'billing_cycle', 'auto_renew', 'term_started_at', 'seat_lots'],
  subscription_events: ['id', 'subscription_id', 'customer_id', 'partner_id', 'event', 'at', 'actor_id', 'note'],
  orders: ['id', 'customer_id', 'partner_id', 'reseller_id', 'kind', 'channel', 'outcome', 'block_reasons', 'warnings', 'requested_at', 'created_at', 'offer_id', 'quantity', 'subscription_id', 'placed_by_id', 'idempotency_key', 'idempotency_scope', 'request_hash'],
  blocked_order_alerts: ['id', 'order_id', 'customer_id', 'partner_id', 'reseller_id', 'reasons', 'created_at', 'acknowledged_at', 'acknowledged_by_id'],
  renewal_risk_alerts: ['id', 'subscription_id', 'customer_id', 'partner_id', 'reseller_id', 'renews_on', 'block_reasons', 'warnings', 'required_template_id', 'created_at'],
  audit_chain: ['customer_id', 'partner_id', 'seq', 'event_key', 'event', 'at', 'canonical', 'hash', 'prev_hash', 'chained_at'],
};

/** Tables with a bigint identity column whose sequence follows the ids we wrote. */
const SERIAL_TABLES = ['blocked_order_alerts', 'renewal_risk_alerts'];

const DAY = 86_400_000;
const isoDate = (d: Date) => d.toISOString().slice(0, 10);
const arr = (xs: string[]) => `{${xs.join(',')}}`;
const addMonths = (d: Date, n: number) => {
  const x = new Date(d.getTime());
  const day = x.getUTCDate();
  x.setUTCDate(1);
  x.setUTCMonth(x.getUTCMonth() + n);
  const last = new Date(Date.UTC(x.getUTCFullYear(), x.getUTCMonth() + 1, 0)).getUTCDate();
  x.setUTCDate(Math.min(day, last));
  return x;
};

interface Timer {
  steps: Record<string, number>;
  step<T>(name: string, work: () => Promise<T>): Promise<T>;
}

function timer(log: (m: string) => void): Timer {
  const steps: Record<string, number> = {};
  return {
    steps,
    async step(name, work) {
      const t = Date.now();
      const out = await work();
      steps[name] = Date.now() - t;
      log(`  ${name}: ${steps[name]} ms`);
      return out;
    },
  };
}

/** Secondary indexes and constraints of the loaded tables, as their definitions, to recreate after COPY. */
interface Saved {
  /** `index`: a primary or unique key's index as CREATE UNIQUE INDEX (null for foreign keys). */
  constraints: { table: string; name: string; def: string; type: string; index: string | null }[];
  indexes: { name: string; def: string }[];
}

async function dropKeysAndIndexes(db: Client, tables: string[]): Promise<Saved> {
  const constraints = (
    await db.query<{ table: string; name: string; def: string; type: string; index: string | null }>(
      `select c.conrelid::regclass::text as table, c.conname as name, pg_get_constraintdef(c.oid) as def, c.contype as type,
              case when c.contype in ('p', 'u') then pg_get_indexdef(c.conindid) end as index
         from pg_constraint c where c.contype in ('p', 'u', 'f') and (c.conrelid::regclass::text = any($1) or c.confrelid::regclass::text = any($1))
        order by c.contype desc`,
      [tables],
    )
  ).rows;
  // Foreign keys first (they depend on the keys), then unique and primary keys.
  const fk = constraints.filter((c) => c.type === 'f');
  const keys = constraints.filter((c) => c.type !== 'f');
  for (const c of fk) await db.query(`alter table ${c.table} drop constraint "${c.name}"`);
  for (const c of keys) await db.query(`alter table ${c.table} drop constraint "${c.name}"`);
  const indexes = (
    await db.query<{ name: string; def: string }>(`select indexname as name, indexdef as def from pg_indexes where schemaname = 'public' and tablename = any($1)`, [tables])
  ).rows;
  for (const i of indexes) await db.query(`drop index "${i.name}"`);
  return { constraints, indexes };
}

/**
 * Runs `statements` on two connections side by side, each taking the next from one queue (logging
 * the slow ones). A statement given as `{ sql, table }` is not started while the other connection
 * runs one of the same table (the next other one is taken first): statements that lock their
 * table against each other (two validations of one table's foreign keys) would leave a core idle.
 */
async function sideBySide(url: string, statements: (string | { sql: string; table: string })[], log: (m: string) => void = () => undefined): Promise<void> {
  const queue = statements.map((s) => (typeof s === 'string' ? { sql: s, table: undefined } : s));
  const busy = new Set<string>();
  const next = () => {
    const i = queue.findIndex((s) => s.table === undefined || !busy.has(s.table));
    return i < 0 ? queue.shift() : queue.splice(i, 1)[0];
  };
  const worker = async () => {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`set maintenance_work_mem = '512MB'; set work_mem = '256MB'; set max_parallel_maintenance_workers = 0; set statement_timeout = 0`);
      for (let s = next(); s; s = next()) {
        const started = Date.now();
        if (s.table !== undefined) busy.add(s.table);
        try {
          await c.query(s.sql);
        } finally {
          if (s.table !== undefined) busy.delete(s.table);
        }
        // The slow ones, to see where the time of a large world goes.
        if (Date.now() - started > 5_000) log(`    ${Date.now() - started} ms: ${s.sql.slice(0, 120)}`);
      }
    } finally {
      await c.end();
    }
  };
  await Promise.all([worker(), worker()]);
}

/**
 * `analyze` of `tables` (default: every table of the schema), largest first, on two
 * connections: one `analyze` of the whole database is one backend, reading table after table.
 */
async function analyzeTables(url: string, tables?: string[]): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  const { rows } = await c
    .query<{ name: string }>(
      `select c.oid::regclass::text as name from pg_class c
        where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace and ($1::text[] is null or c.oid::regclass::text = any($1))
        order by pg_relation_size(c.oid) desc, 1`,
      [tables ?? null],
    )
    .finally(() => c.end());
  await sideBySide(url, rows.map((r) => `analyze ${r.name}`));
}

/** The heap size of each table of the schema (bytes), to build the largest first. */
async function tableSizes(url: string): Promise<Map<string, number>> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ name: string; bytes: string }>(
      `select c.oid::regclass::text as name, pg_relation_size(c.oid) as bytes from pg_class c where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace`,
    );
    return new Map(rows.map((r) => [r.name, Number(r.bytes)]));
  } finally {
    await c.end();
  }
}

/** The name of an index definition's index, as written there (quoted where it needs it). */
const indexName = (def: string) => /\bINDEX (\S+) ON\b/.exec(def)![1];

/** The table of an index definition (`CREATE [UNIQUE] INDEX name ON public.table USING ...`). */
const indexedTable = (def: string) => /\bON (?:ONLY )?public\.(\S+) USING\b/.exec(def)![1];

/**
 * Recreates keys and indexes, then (after `analyze`, so that checking them plans hash joins
 * from real statistics) foreign keys, on two connections side by side, largest tables first (the
 * longest builds start first and the short ones fill in after: the two connections end together).
 * A primary or unique key is built as its unique index, then attached (`add constraint ... using
 * index`: instant): added directly, it locked its table against every other build (orders' two
 * keys, 7.5 and 9.6 s at 1M, one after the other, a core idle). Index builds of one table go side
 * by side. A foreign key is added unchecked (`not valid`: instant; on one connection, since adding
 * one locks both its tables against another's adding), then validated on two: a validation locks
 * its own table only against another validation of it, so keys of different tables are checked at
 * once (added checked, each had waited for the other, a core idle), and two of one table never
 * together (taken largest first, orders' six came one after another while the other connection
 * waited: at 1M the step took 53 s that way, 44 s with them kept apart).
 */
async function recreate(url: string, saved: Saved, analyze: () => Promise<unknown>, log: (m: string) => void = () => undefined): Promise<void> {
  const sizes = await tableSizes(url);
  const largestFirst = <T extends { table: string }>(items: T[]) => [...items].sort((a, b) => (sizes.get(b.table) ?? 0) - (sizes.get(a.table) ?? 0));
  const keys = saved.constraints.filter((c) => c.type !== 'f');
  const builds = largestFirst([...keys.map((c) => ({ table: c.table, sql: c.index! })), ...saved.indexes.map((i) => ({ table: indexedTable(i.def), sql: i.def }))]);
  let at = Date.now();
  const lap = (what: string) => {
    log(`    ${what}: ${Date.now() - at} ms`);
    at = Date.now();
  };
  await sideBySide(url, builds.map((b) => b.sql), log);
  lap(`${builds.length} keys and indexes`);
  const foreign = saved.constraints.filter((c) => c.type === 'f');
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    for (const c of keys) await db.query(`alter table ${c.table} add constraint "${c.name}" ${c.type === 'p' ? 'primary key' : 'unique'} using index ${indexName(c.index!)}`);
    await analyze();
    lap('analyze');
    for (const c of foreign) await db.query(`alter table ${c.table} add constraint "${c.name}" ${c.def} not valid`);
  } finally {
    await db.end();
  }
  await sideBySide(url, largestFirst(foreign).map((c) => ({ sql: `alter table ${c.table} validate constraint "${c.name}"`, table: c.table })), log);
  lap(`${foreign.length} foreign keys validated`);
}

/**
 * Seeds a freshly migrated, empty gateway database at `url` with the world of `customers`
 * customers. Answers the world description (without `steps` of the caller's own work).
 */
export async function seedScale(url: string, opts: { customers: number; seed?: number; seedDay?: string; log?: (m: string) => void }): Promise<ScaleWorld> {
  const log = opts.log ?? ((m: string) => console.log(m));
  const t = timer(log);
  const seedNumber = opts.seed ?? 42;
  const seedDay = opts.seedDay ?? isoDate(new Date());
  const size = sizeFor(opts.customers);
  const r = rng(seedNumber);
  const ids = rng(seedNumber ^ 0x5eed);
  const uuid = ids.uuid;
  const noon = Date.parse(`${seedDay}T12:00:00.000Z`);
  const daysAgo = (d: number) => new Date(noon - d * DAY - r.int(36_000_000));
  const dayOf = (d: number) => isoDate(new Date(noon - d * DAY));
  const CA_MIN = Date.parse('2023-04-02T00:00:00Z');
  /** Days ago of a date on or after 2023-04-02 (the default policy's minimum), at most `max` days ago. */
  const recentDays = (max: number) => Math.min(max, Math.floor((noon - CA_MIN) / DAY)) > 30 ? 30 + r.int(Math.min(max, Math.floor((noon - CA_MIN) / DAY)) - 30) : 1 + r.int(29);

  const db = new Client({ connectionString: url });
  await db.connect();
  const saved = await t.step('drop keys and indexes', () => dropKeysAndIndexes(db, Object.keys(TABLES)));

  // Partners and users are small: plain COPY too, for one path.
  const partners: ScalePartner[] = [];
  const mk = (type: ScalePartner['type'], n: number, label: string) => {
    for (let i = 0; i < n; i++) partners.push({ id: uuid(), name: `${label} ${String(i + 1).padStart(4, '0')}`, type, providers: [], adminUser: `bench-admin-${type.toLowerCase()}-${i + 1}` });
  };
  mk('DIRECT_BILL', size.direct, 'Direct Partner');
  mk('INDIRECT_PROVIDER', size.providers, 'Provider');
  mk('INDIRECT_RESELLER', size.resellers, 'Reseller');
  const direct = partners.filter((p) => p.type === 'DIRECT_BILL');
  const providers = partners.filter((p) => p.type === 'INDIRECT_PROVIDER');
  const resellers = partners.filter((p) => p.type === 'INDIRECT_RESELLER');
  resellers.forEach((res, i) => {
    res.providers.push(providers[i % providers.length].id);
    if (i % 3 === 0 && providers.length > 1) res.providers.push(providers[(i + 3) % providers.length].id);
  });
  const resellersOf = new Map<string, ScalePartner[]>(providers.map((p) => [p.id, resellers.filter((x) => x.providers.includes(p.id))]));
  const billers = [...direct, ...providers];
  const partnerById = new Map(partners.map((p) => [p.id, p]));

  const sinks = Object.fromEntries(Object.entries(TABLES).filter(([n]) => n !== 'audit_chain').map(([n, cols]) => [n, new CopySink(url, n, cols)]));
  const counts: Record<string, number> = {};
  const states: Record<string, number> = { CONFIRMED: 0, OUTDATED: 0, REACCEPTANCE_REQUIRED: 0, WITHDRAWN: 0, MISSING: 0, NOT_APPLICABLE: 0, DIRECT: 0 };
  const samples: Partial<ScaleWorld['samples']> = {};
  const pairs: [string, string][] = [];

  await t.step('generate and copy', async () => {
    await Promise.all(Object.values(sinks).map((s) => s.open()));
    const S = sinks;
    for (const p of partners) S.partners.push([p.id, p.name, uuid(), p.type, daysAgo(900)]);
    for (const res of resellers) for (const prov of res.providers) S.reseller_links.push([uuid(), res.id, prov, daysAgo(800)]);
    for (const p of partners) S.users.push([p.adminUser, `${p.name} admin`, p.id, '{ADMIN}', daysAgo(700), daysAgo(1)]);
    S.users.push(['bench-analyst', 'Bench Analyst', null, '{ANALYST}', daysAgo(700), daysAgo(1)]);
    S.users.push(['bench-platform-admin', 'Bench Platform Admin', null, '{PLATFORM_ADMIN}', daysAgo(700), daysAgo(1)]);

    // Templates of both agreement types: GLOBAL, DE and FR, an old rank and the current one.
    const tpl = (type: string, country: string, rank: number) => `${type === CLOUD ? 'mca' : 'mcua'}-r${rank}-${country.toLowerCase()}`;
    for (const [type, versions] of [
      [CLOUD, [[1, '2018-11', '2018-11-07'], [2, '2024-06', '2024-06-01']]],
      [CUSTOMER, [[1, '2019-10', '2019-10-01'], [2, '2023-03', '2023-03-01']]],
    ] as const) {
      for (const country of ['GLOBAL', 'DE', 'FR']) {
        for (const [rank, version, from] of versions) {
          const id = tpl(type, country, rank);
          S.agreement_templates.push([id, type, version, rank, country, country === 'DE' ? 'de-DE' : country === 'FR' ? 'fr-FR' : 'en-US', `https://example.com/agreements/${id}`, from, daysAgo(600)]);
        }
      }
    }
    const templateFor = (type: string, country: string, rank: number) => tpl(type, country === 'DE' || country === 'FR' ? country : 'GLOBAL', rank);

    let orderSeq = 0;
    // Kept until the end (to number them in time order) as COPY text: strings cost the GC little.
    const alerts: { t: number; line: string }[] = [];
    const risks: { t: number; line: string }[] = [];
    const line = (row: unknown[]) => row.map(plainField).join('\t');

    for (let i = 0; i < size.customers; i++) {
      const customerId = uuid();
      const country = r.weighted(COUNTRIES);
      const national = r.next() < 0.05;
      const cloud = national ? (country === 'DE' ? 'GERMANY' : r.pick(['US_GOVERNMENT', 'CHINA'])) : 'PUBLIC';
      const name = `${r.pick(WORDS)} ${r.pick(SECTORS)} ${String(i).padStart(7, '0')} ${r.pick(SUFFIXES)}`;
      const first = r.pick(FIRST);
      const last = r.pick(LAST);
      const domain = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '')}.example.com`;
      const email = `${first.toLowerCase()}.${i}@${domain}`;
      const directAccepted = !national && r.next() < 0.04 ? dayOf(recentDays(600)) : null;
      if (directAccepted) states.DIRECT++;
      S.customers.push([customerId, uuid(), name, domain, country, cloud, first, last, email, r.next() < 0.6 ? '+14255550100' : null, daysAgo(700 + r.int(300)),
        directAccepted ? CUSTOMER : null, directAccepted, directAccepted ? 'PARTNER_CENTER' : null]);

      const count = r.next() < 0.2 ? 2 : 1;
      const chosen: ScalePartner[] = [];
      while (chosen.length < count) {
        const p = r.pick(billers);
        if (!chosen.includes(p)) chosen.push(p);
      }
      const rels: { partner: ScalePartner; resellerId: string | null; state: State; blockReasons: string[]; renewalReasons: string[]; blockedSinceAgo: number; subs: string[]; acceptanceId: string | null }[] = [];
      for (const partner of chosen) {
        const relId = uuid();
        pairs.push([customerId, partner.id]);
        S.customer_relationships.push([relId, customerId, partner.id, daysAgo(620 + r.int(60))]);
        let resellerId: string | null = null;
        if (partner.type === 'INDIRECT_PROVIDER') {
          resellerId = r.pick(resellersOf.get(partner.id)!).id;
          S.customer_relationship_resellers.push([relId, resellerId]);
        }
        const state: State = national ? 'NOT_APPLICABLE' : r.weighted(STATES);
        states[state]++;
        let acceptanceId: string | null = null;
        let cloudType = false;
        let withdrawnAgo = 0;
        const actor = partner.adminUser;
        const acc = (id: string, tplId: string, agreedDay: string, status: string, recorded: Date, superseded: Date | null, withdrawn: Date | null, source = 'PARTNER_RECORDED', attestationId: string | null = null, contactEmail = email) => {
          S.acceptances.push([id, customerId, partner.id, tplId, agreedDay, first, last, contactEmail, null, null, r.next() < 0.5 ? 'API' : 'DASHBOARD', status, actor, recorded, superseded, withdrawn,
            withdrawn ? actor : null, withdrawn ? 'Customer no longer agrees' : null, source, attestationId]);
        };
        if (state === 'CONFIRMED' || state === 'OUTDATED' || state === 'REACCEPTANCE_REQUIRED') {
          acceptanceId = uuid();
          const agoDays = recentDays(500);
          const recorded = daysAgo(agoDays);
          if (state === 'CONFIRMED' && r.next() < 0.15) {
            // An older Cloud Agreement confirmation, replaced by this one.
            acc(uuid(), templateFor(CLOUD, country, 2), dayOf(900 + r.int(200)), 'SUPERSEDED', daysAgo(900), recorded, null);
          }
          let type = CUSTOMER;
          let rank = state === 'OUTDATED' ? 1 : 2;
          let agreed = dayOf(agoDays + r.int(5));
          if (state === 'REACCEPTANCE_REQUIRED') {
            if (r.next() < 0.5) {
              type = CLOUD;
              cloudType = true;
            } else agreed = `${2021 + r.int(2)}-0${1 + r.int(9)}-1${r.int(10)}`;
            rank = 2;
          }
          // A tenth of the Customer Agreement confirmations come from an attestation, some from a reseller's submission.
          let source = 'PARTNER_RECORDED';
          let attestationId: string | null = null;
          const roll = r.next();
          if (type === CUSTOMER && state !== 'REACCEPTANCE_REQUIRED' && roll < 0.1) {
            source = 'ATTESTATION';
            attestationId = uuid();
            const created = new Date(recorded.getTime() - 3_600_000);
            S.attestations.push([attestationId, customerId, partner.id, resellerId, actor, 'RECORDED', `att-${attestationId.slice(0, 8)}`, `https://example.com/attest/${attestationId}`, new Date(created.getTime() + 7 * DAY), 10_080, name, country, 'en-US',
              first, last, email, null, null, new Date(recorded.getTime() - 60_000), uuid(), uuid(), acceptanceId, created, recorded, recorded]);
            samples.attestationId ??= attestationId;
          } else if (resellerId && roll < 0.25) {
            source = 'RESELLER_SUBMITTED';
            const submitted = new Date(recorded.getTime() - 86_400_000);
            S.acceptance_submissions.push([uuid(), customerId, partner.id, resellerId, templateFor(type, country, rank), agreed, first, last, email, null, 'APPROVED', partnerById.get(resellerId)!.adminUser, submitted, actor, recorded, null, acceptanceId]);
          } else if (roll > 0.9) source = 'BULK_IMPORT';
          const corrected = r.next() < 0.03;
          const currentEmail = corrected ? `${first.toLowerCase()}.${last.toLowerCase()}.${i}@${domain}` : email;
          acc(acceptanceId, templateFor(type, country, rank), agreed, 'ACTIVE', recorded, null, null, source, attestationId, currentEmail);
          if (corrected) {
            S.acceptance_corrections.push([uuid(), acceptanceId, actor, new Date(recorded.getTime() + 2 * DAY), 'email', email, currentEmail]);
          }
        } else if (state === 'WITHDRAWN') {
          acceptanceId = uuid();
          withdrawnAgo = 10 + r.int(50);
          acc(acceptanceId, templateFor(CUSTOMER, country, 2), dayOf(300 + r.int(100)), 'WITHDRAWN', daysAgo(300), null, daysAgo(withdrawnAgo));
        } else if (state === 'MISSING') {
          const roll = r.next();
          if (resellerId && roll < 0.2) {
            const rejected = roll < 0.05;
            S.acceptance_submissions.push([uuid(), customerId, partner.id, resellerId, templateFor(CUSTOMER, country, 2), dayOf(20), first, last, email, null, rejected ? 'REJECTED' : 'PENDING', partnerById.get(resellerId)!.adminUser, daysAgo(15),
              rejected ? actor : null, rejected ? daysAgo(14) : null, rejected ? 'Contact does not match the tenant' : null, null]);
          } else if (roll < 0.35) {
            // An attestation that did not end in a confirmation.
            const status = r.pick(['EXPIRED', 'FAILED', 'CANCELLED']);
            const created = daysAgo(20 + r.int(60));
            S.attestations.push([uuid(), customerId, partner.id, resellerId, actor, status, status === 'FAILED' ? null : `att-${i}`, status === 'FAILED' ? null : `https://example.com/attest/${i}`, status === 'FAILED' ? null : new Date(created.getTime() + DAY), 1_440, name, country, 'en-US',
              first, last, email, status === 'FAILED' ? 'Partner Center refused the request' : null, status === 'FAILED' ? 'UPSTREAM_REJECTED' : null, null, uuid(), null, null, created, null, new Date(created.getTime() + DAY)]);
          }
        }
        // Sync state of the confirmation (the current one, or the withdrawn one).
        if (acceptanceId) {
          const roll = r.next();
          const at = daysAgo(5 + r.int(25));
          if (roll < 0.8) {
            S.acceptance_syncs.push([acceptanceId, partner.id, 'SYNCED', 1, uuid(), uuid(), at, at, null, at]);
            samples.syncAcceptanceId ??= acceptanceId;
          } else if (roll < 0.87) {
            S.acceptance_syncs.push([acceptanceId, partner.id, 'FAILED', 5, null, uuid(), at, null, 'Partner Center answered 503 Service Unavailable', at]);
          } else S.acceptance_syncs.push([acceptanceId, partner.id, 'NOT_CONNECTED', 0, null, null, null, null, null, at]);
        }
        // Drift found by reconciliation.
        if (!national && r.next() < 0.02) {
          const kind = acceptanceId ? r.pick(['MISSING_UPSTREAM', 'CONTACT_DIFFERS']) : r.pick(['UNKNOWN_LOCALLY', 'DIRECT_ACCEPTANCE_FOUND']);
          const found = daysAgo(3 + r.int(60));
          const resolved = r.next() < 0.4 ? new Date(found.getTime() + 2 * DAY) : null;
          const detail = kind === 'CONTACT_DIFFERS' ? 'email differs from Partner Center' : kind === 'MISSING_UPSTREAM' ? 'not on record in Partner Center' : kind === 'UNKNOWN_LOCALLY' ? 'confirmed in Partner Center, not here' : 'the customer accepted directly';
          const driftId = uuid();
          S.acceptance_drift.push([driftId, customerId, partner.id, kind, detail, detail, kind === 'MISSING_UPSTREAM' || kind === 'CONTACT_DIFFERS' ? acceptanceId : null, found, resolved ?? daysAgo(1), resolved]);
          samples.driftId ??= driftId;
        }
        // What the gate answers today: a new purchase or seat change (`blockReasons`), a renewal
        // (`renewalReasons`: the minimum date of DESIGN.md section 10 does not apply to it).
        const blockReasons =
          state === 'MISSING' ? ['ACCEPTANCE_NOT_CONFIRMED'] : state === 'WITHDRAWN' ? ['ACCEPTANCE_WITHDRAWN'] : state === 'REACCEPTANCE_REQUIRED' ? [cloudType ? 'AGREEMENT_TYPE_NOT_ACCEPTED' : 'REACCEPTANCE_REQUIRED'] : [];
        const renewalReasons = state === 'REACCEPTANCE_REQUIRED' && !cloudType ? [] : blockReasons;
        // Since when: the withdrawal; the 2025-10-07 rule; a missing confirmation for a year
        // (what the customer bought before was sold when its partner's record lapsed).
        const blockedSinceAgo = state === 'WITHDRAWN' ? withdrawnAgo : state === 'REACCEPTANCE_REQUIRED' ? Math.max(1, Math.round((noon - Date.parse('2025-10-07T00:00:00Z')) / DAY)) : 365;
        rels.push({ partner, resellerId, state: directAccepted && state !== 'NOT_APPLICABLE' ? 'CONFIRMED' : state, blockReasons: directAccepted ? [] : blockReasons, renewalReasons: directAccepted ? [] : renewalReasons, blockedSinceAgo, subs: [], acceptanceId });
      }

      // Five orders over the customer's relationships; new purchases that complete open a subscription.
      for (let k = 0; k < size.ordersPerCustomer; k++) {
        const rel = rels[k % rels.length];
        const partner = rel.partner;
        const kind = rel.subs.length === 0 || r.next() < 0.4 ? 'NEW_PURCHASE' : r.pick(['SEAT_CHANGE', 'RENEWAL', 'AUTO_RENEWAL']);
        const ago = 1 + r.int(600);
        const createdAt = daysAgo(ago);
        const reasons = ago >= rel.blockedSinceAgo ? [] : kind === 'NEW_PURCHASE' || kind === 'SEAT_CHANGE' ? rel.blockReasons : kind === 'RENEWAL' ? rel.renewalReasons : [];
        const blocked = reasons.length > 0;
        const warnings = rel.state === 'NOT_APPLICABLE' ? ['ACCEPTANCE_NOT_APPLICABLE'] : rel.state === 'OUTDATED' ? ['AGREEMENT_UPDATE_AVAILABLE'] : [];
        let subscriptionId: string | null = kind === 'NEW_PURCHASE' ? null : r.pick(rel.subs);
        const quantity = 1 + r.int(250);
        const offerId = kind === 'NEW_PURCHASE' ? r.pick(OFFERS) : null;
        if (!blocked && kind === 'NEW_PURCHASE') {
          subscriptionId = uuid();
          rel.subs.push(subscriptionId);
          const term = r.weighted([['P1M', 25], ['P1Y', 55], ['P3Y', 20]] as const);
          const months = term === 'P1M' ? 1 : term === 'P1Y' ? 12 : 36;
          const cycle = term === 'P1M' ? 'MONTHLY' : term === 'P1Y' ? r.pick(['MONTHLY', 'ANNUAL']) : r.pick(['MONTHLY', 'ANNUAL', 'TRIENNIAL']);
          // The current term: renewed (automatically) until it covers the seed day.
          let termStart = createdAt;
          let renews = addMonths(termStart, months);
          while (renews.getTime() <= noon) {
            termStart = renews;
            renews = addMonths(termStart, months);
          }
          let status = rel.state === 'WITHDRAWN' ? r.pick(['CANCELLED', 'ENDING'] as const) : r.weighted([['ACTIVE', 75], ['ENDING', 8], ['EXPIRED', 7], ['CANCELLED', 10]] as const);
          let autoRenew = status === 'ACTIVE';
          let cancelledAt: Date | null = null;
          if (status === 'EXPIRED') {
            // It ended at the end of the term before.
            renews = termStart;
            termStart = addMonths(renews, -months);
            if (renews.getTime() <= createdAt.getTime()) status = 'CANCELLED';
          }
          if (status === 'CANCELLED') cancelledAt = new Date(createdAt.getTime() + 3 * DAY);
          if (status === 'CANCELLED') autoRenew = true;
          if (status === 'CANCELLED' || status === 'ENDING' || status === 'EXPIRED') {
            const at = status === 'CANCELLED' ? cancelledAt! : new Date(Math.max(createdAt.getTime(), termStart.getTime()) + DAY);
            S.subscription_events.push([uuid(), subscriptionId, customerId, partner.id, status === 'CANCELLED' ? 'SUBSCRIPTION_CANCELLED' : 'AUTO_RENEW_OFF', at, partner.adminUser, null]);
          }
          if (status === 'CANCELLED') autoRenew = false;
          S.subscriptions.push([subscriptionId, customerId, partner.id, rel.resellerId, offerId, quantity, status, isoDate(renews), createdAt, cancelledAt, term, cycle, autoRenew, termStart,
            JSON.stringify([{ seats: quantity, addedAt: termStart.toISOString() }])]);
          const untilRenewal = (renews.getTime() - noon) / DAY;
          if (status === 'ACTIVE' && untilRenewal <= 60 && rel.renewalReasons.length > 0) {
            const at = noon - r.int(5) * DAY;
            risks.push({ t: at, line: line([subscriptionId, customerId, partner.id, rel.resellerId, isoDate(renews), arr(rel.renewalReasons), arr(warnings), rel.state === 'REACCEPTANCE_REQUIRED' ? templateFor(CUSTOMER, country, 2) : null, new Date(at)]) });
          }
          if (rel.state === 'CONFIRMED' && !samples.compliant) samples.compliant = { customerId, partnerId: partner.id, resellerId: rel.resellerId, subscriptionId };
        }
        const orderId = uuid();
        const seq = orderSeq++;
        S.orders.push([orderId, customerId, partner.id, rel.resellerId, kind, r.next() < 0.5 ? 'API' : 'DASHBOARD', blocked ? 'BLOCKED' : 'COMPLETED', arr(reasons), arr(warnings), createdAt, createdAt, offerId, quantity,
          blocked ? null : subscriptionId, partner.adminUser, `seed-${seq}`, partner.id, `seed-hash-${seq}`]);
        if (blocked) {
          alerts.push({ t: createdAt.getTime(), line: line([orderId, customerId, partner.id, rel.resellerId, arr(reasons), createdAt, r.next() < 0.3 ? createdAt : null, null]) });
          if (!samples.blocked) samples.blocked = { customerId, partnerId: partner.id, resellerId: rel.resellerId };
        }
      }
      // Back-pressure: let the streams drain every few hundred customers.
      if (i % 256 === 255) await Promise.all(Object.values(S).map((s) => s.drained()));
      if (i % 200_000 === 199_999) log(`    ${i + 1} customers generated`);
    }
    // Alerts in creation order, so their ids follow time as they would live.
    alerts.sort((a, b) => a.t - b.t);
    alerts.forEach((a, k) => S.blocked_order_alerts.pushLine(`${k + 1}\t${a.line}\n`));
    risks.sort((a, b) => a.t - b.t);
    risks.forEach((a, k) => S.renewal_risk_alerts.pushLine(`${k + 1}\t${a.line}\n`));
    for (const s of Object.values(S)) {
      await s.close();
      counts[s.table] = s.rows;
    }
  });
  const chainTables = ['audit_chain'];
  const base: Saved = { constraints: saved.constraints.filter((c) => !chainTables.includes(c.table)), indexes: saved.indexes.filter((i) => !/ON public\.audit_chain /.test(i.def)) };
  const chain: Saved = { constraints: saved.constraints.filter((c) => chainTables.includes(c.table)), indexes: saved.indexes.filter((i) => /ON public\.audit_chain /.test(i.def)) };
  await t.step('recreate keys, indexes, analyze, foreign keys', () => recreate(url, base, () => analyzeTables(url), log));
  await t.step('sequences', async () => {
    for (const table of SERIAL_TABLES) {
      await db.query(`select setval(pg_get_serial_sequence($1, 'id'), greatest((select max(id) from ${table}), 1), (select count(*) > 0 from ${table}))`, [table]);
    }
  });

  // Into empty tables a rebuild's every row is new: without keys, indexes and foreign keys (a
  // per-row check) the rows go in as COPY's do, and each index is built once after (at 1M, the
  // directory's 3.4M rows went in in 69 s with them and in 17 + 14 s without).
  const bulk = new Map<string, Saved>();
  for (const rebuild of DERIVED_REBUILDS) bulk.set(rebuild.name, await dropKeysAndIndexes(db, rebuild.bulk));
  const orm = await initOrm(url, entities, {}, { max: 5 });
  try {
    // Counts kept by triggers, which did not fire during COPY (a few thousand rows: no need to go side by side).
    await t.step('drift counts', () => refillDriftCounts(orm.em.fork() as unknown as EntityManager));
    // Side by side (they read the base tables and write disjoint ones): the chain's hashing is
    // this process's work, each rebuild one PostgreSQL backend's; one after the other they left
    // a core idle most of the time (92 + 12 + 138 + 79 s at 1M).
    await t.step('audit chain and derived rebuilds, side by side', () =>
      Promise.all([
        (async () => {
          counts.audit_chain = await t.step('audit chain', () => chainPairs(url, pairs, noon, (s) => (samples.longTrail = s)));
          await t.step('recreate audit chain keys', () => recreate(url, chain, async () => undefined));
        })(),
        ...DERIVED_REBUILDS.map(async (rebuild) => {
          await t.step(`rebuild ${rebuild.name}`, () => rebuild.run(orm.em.fork() as unknown as EntityManager));
          await t.step(`recreate ${rebuild.name} keys`, () => recreate(url, bulk.get(rebuild.name)!, () => analyzeTables(url, rebuild.bulk)));
        }),
      ]),
    );
  } finally {
    await orm.close();
  }
  // Triggers did not fire during COPY (replica role): tables they maintain need a rebuild registered above.
  const triggers = await db.query<{ name: string }>(
    `select tgrelid::regclass::text || '.' || tgname as name from pg_trigger where not tgisinternal and tgrelid::regclass::text = any($1)`,
    [Object.keys(TABLES)],
  );
  if (triggers.rows.length > 0 && DERIVED_REBUILDS.length === 0) {
    log(`  WARNING: triggers ${triggers.rows.map((x) => x.name).join(', ')} did not fire during COPY and DERIVED_REBUILDS is empty: their tables are not rebuilt`);
  }
  // The base tables were analyzed before their foreign keys; the derived tables (if any) are new since.
  await t.step('analyze', () => analyzeTables(url, DERIVED_REBUILDS.length ? undefined : ['audit_chain']));
  await db.end();
  counts.partners = partners.length;
  return {
    seedVersion: SEED_VERSION,
    seed: seedNumber,
    scale: size.customers,
    seedDay,
    size,
    partners,
    analystUser: 'bench-analyst',
    platformAdminUser: 'bench-platform-admin',
    samples: samples as ScaleWorld['samples'],
    counts,
    states,
    steps: t.steps,
  };
}

/** Rows per FETCH of the chain's cursors. */
const CHAIN_FETCH = 10_000;

/**
 * Chains every pair's derived events with the gateway's own trail SQL (`DERIVED_ALL`) and
 * hash (`canonicalEvent`, `linkHash`), as the backfill would, but half of the pairs per
 * connection, each half one statement read through a cursor, the links streamed in with
 * COPY. Answers the links written. The trail SQL reads each event table whole once per
 * statement: in batches (16 of 75,000 pairs at 1M) it read them 16 times, and small batches
 * far more often; one statement's rows could not be held in memory.
 */
async function chainPairs(url: string, pairs: [string, string][], noon: number, longest: (s: ScaleWorld['samples']['longTrail']) => void): Promise<number> {
  const sink = new CopySink(url, 'audit_chain', TABLES.audit_chain, true);
  await sink.open();
  const chainedAt = new Date(noon);
  let best = { customerId: '', partnerId: '', links: -1 };
  const worker = async (chunk: [string, string][]) => {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      await c.query('begin');
      // Planned for all its rows (not a cursor's first tenth); its hashes and sort in memory where they fit.
      await c.query(`set local cursor_tuple_fraction = 1; set local work_mem = '256MB'; set local statement_timeout = 0`);
      await c.query({ text: `declare chain_events no scroll cursor for ${positional(DERIVED_ALL)}`, values: [chunk.map((p) => p[0]), chunk.map((p) => p[1])] });
      const fetch = () => c.query<DerivedEvent>(`fetch ${CHAIN_FETCH} from chain_events`);
      let key = '';
      let seq = 0;
      let prev = GENESIS_HASH;
      const done = () => {
        // Ties go to the smallest pair: the two halves finish in any order.
        const customerId = key.slice(0, 36);
        const partnerId = key.slice(37);
        const longer = seq > best.links || (seq === best.links && (customerId < best.customerId || (customerId === best.customerId && partnerId < best.partnerId)));
        if (longer) best = { customerId, partnerId, links: seq };
      };
      for (let next = fetch(); ; ) {
        const { rows } = await next;
        if (rows.length === 0) break;
        // The server reads the next rows while these are hashed.
        next = fetch();
        for (const e of rows) {
          const k = `${e.customer_id}/${e.partner_id}`;
          if (k !== key) {
            done();
            key = k;
            seq = 0;
            prev = GENESIS_HASH;
          }
          const canonical = canonicalEvent(e);
          const hash = linkHash(prev, canonical);
          seq++;
          sink.push([e.customer_id, e.partner_id, seq, e.event_key, e.event, e.at_text, canonical, hash, prev, chainedAt]);
          prev = hash;
        }
        await sink.drained();
      }
      done();
      await c.query('commit');
    } finally {
      await c.end();
    }
  };
  const half = Math.ceil(pairs.length / 2);
  await Promise.all([worker(pairs.slice(0, half)), worker(pairs.slice(half))]);
  await sink.close();
  longest(best);
  return sink.rows;
}

/** The migrations the gateway would apply, by name (src/db/orm.ts reads the same folder). */
export function migrationNames(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^Migration\d+.*\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => f.replace(/\.(ts|js)$/, ''));
}

export interface Fingerprint {
  seedVersion: number;
  seed: number;
  scale: number;
  migrations: string[];
}

const sameSeed = (a: Fingerprint, b: Fingerprint) => a.seedVersion === b.seedVersion && a.seed === b.seed && a.scale === b.scale;

/** The kept data's migrations are all still there, in order, and only new ones follow. */
const onlyNewMigrations = (kept: string[], now: string[]) => kept.length <= now.length && kept.every((m, i) => now[i] === m);

/**
 * BENCH_DATA_ROOT, else ~/.cache/consent-gateway/bench; started by root (PostgreSQL then runs as
 * the `postgres` user) with a home that user cannot enter, /var/tmp/consent-gateway/bench.
 */
export function benchDataRoot(): string {
  if (process.env.BENCH_DATA_ROOT) return process.env.BENCH_DATA_ROOT;
  const home = join(homedir(), '.cache', 'consent-gateway', 'bench');
  if (process.getuid?.() === 0 && firstUnenterableFolder(home, { uid: -1, gid: -1 })) return join('/var/tmp', 'consent-gateway', 'bench');
  return home;
}

export interface PreparedWorld {
  url: string;
  world: ScaleWorld;
  dir: string;
  /** What happened: seeded anew, reused as it was, or reused with new migrations applied. */
  how: 'seeded' | 'reused' | 'migrated';
  /** Step times of this preparation (ms). */
  steps: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * Starts the embedded PostgreSQL of the scale's data directory (BENCH_DATA_ROOT/<scale>,
 * outside the repository) and answers a seeded world: the kept one when its fingerprint
 * (seed version, seed, scale, migrations) matches; the kept one with the new migrations
 * applied (a live upgrade) when only migrations were added since; else a fresh seed.
 */
export async function prepareScaleWorld(opts: {
  scale: number;
  seed?: number;
  port: number;
  seedDay?: string;
  log?: (m: string) => void;
  /** Server settings to serve with (ALTER SYSTEM, then a restart), the same for every scale of a run. */
  serving?: Record<string, string>;
}): Promise<PreparedWorld> {
  const log = opts.log ?? ((m: string) => console.log(m));
  const t = timer(log);
  const dir = join(benchDataRoot(), String(opts.scale));
  const pgDir = join(dir, 'pg');
  const fpFile = join(dir, 'fingerprint.json');
  const worldFile = join(dir, 'world.json');
  const want: Fingerprint = { seedVersion: SEED_VERSION, seed: opts.seed ?? 42, scale: opts.scale, migrations: migrationNames() };
  const kept: Fingerprint | undefined = existsSync(fpFile) && existsSync(worldFile) ? JSON.parse(readFileSync(fpFile, 'utf8')) : undefined;
  const keptWorld: ScaleWorld | undefined = kept ? JSON.parse(readFileSync(worldFile, 'utf8')) : undefined;
  // Renewal windows and "days ago" are relative to the seed day: a world grown too old is seeded anew.
  const maxAge = Number(process.env.BENCH_SEED_MAX_AGE_DAYS ?? 30);
  const age = keptWorld ? (Date.parse(opts.seedDay ?? isoDate(new Date())) - Date.parse(keptWorld.seedDay)) / DAY : 0;
  const reusable = kept !== undefined && sameSeed(kept, want) && onlyNewMigrations(kept.migrations, want.migrations) && (opts.seedDay ? age === 0 : age <= maxAge);
  if (kept && !reusable) log(`  kept world at ${dir} does not fit (fingerprint ${fingerprintDigest(kept)} -> ${fingerprintDigest(want)}, seed day ${keptWorld?.seedDay}): seeding anew`);
  if (!reusable && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  let pg = await t.step('start postgres', () => startEmbeddedPostgres(pgDir, opts.port));
  // The read benchmarks run many servers on it (bench/run.ts raises the same limit).
  const admin = new Client({ connectionString: pg.url.replace(/\/consent_gateway$/, '/postgres') });
  await admin.connect();
  const { rows } = await admin.query<{ max_connections: string }>('show max_connections');
  if (Number(rows[0].max_connections) < 300) await admin.query('alter system set max_connections = 300');
  await admin.end();
  if (Number(rows[0].max_connections) < 300) {
    await pg.stop();
    pg = await startEmbeddedPostgres(pgDir, opts.port);
  }

  let world: ScaleWorld;
  let how: PreparedWorld['how'];
  if (reusable) {
    world = keptWorld!;
    const fresh = want.migrations.length - kept.migrations.length;
    how = fresh > 0 ? 'migrated' : 'reused';
    if (fresh > 0) {
      const orm = await initOrm(pg.url, entities);
      try {
        const applied = await t.step(`apply ${fresh} new migrations`, () => migrate(orm));
        log(`  applied: ${applied.join(', ')}`);
        // Only what the new migrations left invalid (a kept million-customer world rebuilds for minutes).
        for (const rebuild of DERIVED_REBUILDS) await t.step(`rebuild ${rebuild.name} if invalid`, () => rebuild.run(orm.em.fork() as unknown as EntityManager, { force: false }));
      } finally {
        await orm.close();
      }
      writeFileSync(fpFile, JSON.stringify(want, null, 2));
    }
  } else {
    how = 'seeded';
    const orm = await initOrm(pg.url, entities);
    try {
      await t.step('migrate', () => migrate(orm));
    } finally {
      await orm.close();
    }
    // A bulk load's server settings for the seed only: rows copied into tables truncated in the
    // same transaction, and index builds, write no WAL (wal_level=minimal); fewer checkpoints;
    // shared buffers that hold the indexes the audit chain's trail SQL probes.
    // Reset afterwards, so the benchmarks run on the settings of any other run.
    const restart = async (settings: string) => {
      const c = new Client({ connectionString: pg.url });
      await c.connect();
      // One statement a query: ALTER SYSTEM refuses a (multi-statement, implicit) transaction.
      for (const statement of settings.split('; ')) await c.query(statement);
      await c.end();
      await pg.stop();
      pg = await startEmbeddedPostgres(pgDir, opts.port);
    };
    await t.step('bulk-load settings', () =>
      restart(`alter system set wal_level = minimal; alter system set max_wal_senders = 0; alter system set max_wal_size = '8GB'; alter system set checkpoint_timeout = '30min'; alter system set shared_buffers = '2GB'`),
    );
    // CPU time, not only wall time: on a shared machine the wall clock says little.
    const nodeBefore = process.cpuUsage();
    const pgBefore = postgresCpuMs(pgDir);
    world = await t.step('seed', () => seedScale(pg.url, { customers: opts.scale, seed: want.seed, seedDay: opts.seedDay, log }));
    const nodeCpu = process.cpuUsage(nodeBefore);
    world.cpu = { nodeMs: Math.round((nodeCpu.user + nodeCpu.system) / 1000), postgresMs: postgresCpuMs(pgDir) - pgBefore };
    log(`  seed cpu: node ${world.cpu.nodeMs} ms, postgres ${world.cpu.postgresMs} ms`);
    await t.step('usual settings', () => restart(`alter system reset wal_level; alter system reset max_wal_senders; alter system reset max_wal_size; alter system reset checkpoint_timeout; alter system reset shared_buffers`));
    writeFileSync(worldFile, JSON.stringify(world));
    writeFileSync(fpFile, JSON.stringify(want, null, 2));
  }
  if (opts.serving && Object.keys(opts.serving).length) {
    const serving = opts.serving;
    await t.step('serving settings', async () => {
      const c = new Client({ connectionString: pg.url });
      await c.connect();
      for (const [name, value] of Object.entries(serving)) await c.query(`alter system set ${name} = '${value.replace(/'/g, "''")}'`);
      await c.end();
      await pg.stop();
      pg = await startEmbeddedPostgres(pgDir, opts.port);
    });
  }
  return { url: pg.url, world, dir, how, steps: t.steps, stop: () => pg.stop() };
}

/** A fingerprint's digest, for logs. */
export const fingerprintDigest = (f: Fingerprint) => createHash('sha256').update(JSON.stringify(f)).digest('hex').slice(0, 12);
