import { Client } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { DatabaseSessionLimits } from '../config';

/**
 * How the gateway reaches PostgreSQL. Behind a pooler in transaction mode (PgBouncer as
 * managed services run it) a client owns a server connection only for one transaction:
 * no session state lasts from one statement to the next, so LISTEN, session advisory
 * locks and named prepared statements break there. Those go to a direct session
 * (DATABASE_DIRECT_URL); everything else runs through the pooler (DATABASE_URL).
 */
export interface DatabaseTopology {
  /** Where the session features connect: the LISTEN connection and the start-up lock. */
  sessionUrl: string;
  /** DATABASE_URL passes through a transaction pooler: statements unnamed, no session start-up parameters. */
  transactionPooler: boolean;
}

/** Per ORM (by its configuration, which every forked EntityManager shares); absent: one direct database, as before. */
const topologies = new WeakMap<object, DatabaseTopology>();

export function useTopology(orm: MikroORM, topology: DatabaseTopology): void {
  topologies.set(orm.config, topology);
}

/** The URL for a session of its own (LISTEN, session advisory locks): DATABASE_DIRECT_URL when set, else the ORM's. */
export function sessionUrl(orm: Pick<MikroORM, 'config'>): string {
  return topologies.get(orm.config)?.sessionUrl ?? orm.config.get('clientUrl')!;
}

/** Whether statements on this ORM's pool must stay unnamed (a transaction pooler without prepared-statement support). */
export function transactionPooled(ormConfig: object): boolean {
  return topologies.get(ormConfig)?.transactionPooler === true;
}

/** A URL with its password hidden, for messages. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

const backendPid = async (client: Client): Promise<number> => (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0].pid;

/**
 * Whether `url` gives each client a session of its own (a direct connection or a pooler
 * in session mode) or hands server connections around per transaction. Two clients: the
 * first runs a statement and goes idle; the second opens a transaction, which pins a
 * server connection; then the first runs again. On a session its server process never
 * changes. Behind a transaction pooler the idle first client's server is either the one
 * the second was given (the pooler reuses the most recent one) or is not its own any
 * more: a changed process id proves it. (Never a false alarm on a direct session.)
 */
export async function holdsSession(url: string): Promise<boolean> {
  const first = new Client({ connectionString: url, application_name: 'consent-gateway session check', connectionTimeoutMillis: 3_000 });
  const second = new Client({ connectionString: url, application_name: 'consent-gateway session check', connectionTimeoutMillis: 3_000 });
  first.on('error', () => undefined);
  second.on('error', () => undefined);
  try {
    await first.connect();
    const before = await backendPid(first);
    await second.connect();
    await second.query('begin');
    const pinned = await backendPid(second);
    const after = await backendPid(first);
    await second.query('rollback');
    return pinned !== before && after === before;
  } finally {
    await Promise.all([first.end().catch(() => undefined), second.end().catch(() => undefined)]);
  }
}

export class TopologyError extends Error {}

/**
 * The start-up check: the session features' URL must hold a session. Named plainly,
 * because the symptoms otherwise (alerts arriving only by the slow poll, two instances
 * migrating at once) are far from their cause.
 */
export async function checkSessionUrl(url: string, directUrlSet: boolean): Promise<void> {
  if (await holdsSession(url)) return;
  throw new TopologyError(
    directUrlSet
      ? `DATABASE_DIRECT_URL (${shown(url)}) passes through a pooler in transaction mode: LISTEN and the start-up advisory lock need a session of their own. Point it at PostgreSQL itself (or a pooler in session mode).`
      : `DATABASE_URL (${shown(url)}) passes through a pooler in transaction mode, and LISTEN and the start-up advisory lock need a session of their own. Set DATABASE_DIRECT_URL to PostgreSQL itself (or a pooler in session mode); DATABASE_URL may stay on the pooler.`,
  );
}

/**
 * Behind a transaction pooler the gateway sends no session start-up parameters, so its
 * statement and idle-transaction limits are whatever the database role (or database) sets.
 * Answers those of `wanted` that the pooled sessions run without, by setting name.
 */
export async function limitsMissingBehindPooler(orm: MikroORM, wanted: DatabaseSessionLimits): Promise<string[]> {
  const [row] = await orm.em
    .fork()
    .getConnection()
    .execute<{ statement_timeout: string; idle_in_transaction_session_timeout: string }[]>(
      "select current_setting('statement_timeout') as statement_timeout, current_setting('idle_in_transaction_session_timeout') as idle_in_transaction_session_timeout",
    );
  const missing: string[] = [];
  if (wanted.statementTimeoutMs > 0 && row.statement_timeout === '0') missing.push('statement_timeout');
  if (wanted.idleInTransactionTimeoutMs > 0 && row.idle_in_transaction_session_timeout === '0') missing.push('idle_in_transaction_session_timeout');
  return missing;
}
