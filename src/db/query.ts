import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { transactionPooled } from './topology';

/**
 * The one way hand-written SQL runs: `queryRows`, with `?` placeholders, on the ORM's
 * own pool. Multi-statement writes run it inside `em.transactional` (the callback's
 * EntityManager), which puts every statement on the transaction's connection.
 *
 * Why not `em.getConnection().execute`: it inlines every value into the text, so
 * PostgreSQL parses and plans each call anew (for the order path's read, planning took
 * about ten times as long as running). Here each statement is prepared once per pooled
 * connection (named after its text) and then only bound and run, with none of the query
 * builder's work per call. Behind a pooler in transaction mode (DATABASE_POOLER, src/db/topology.ts)
 * a named statement would be looked up on whichever server connection the next transaction
 * gets, so there each call is parsed unnamed (PgBouncer before 1.21 cannot track names).
 */

/** A nullable timestamp column as `queryRows` returns it (text), as a Date. */
export const dateOrNull = (value: string | Date | null): Date | null => (value === null ? null : new Date(value));

/** The part of a pg client this module uses. */
interface PgClient {
  query<R>(config: { text: string; values: unknown[]; name?: string }, callback: (err: Error | null, result: { rows: R[] }) => void): void;
}
/** The part of knex's client (or a transaction's client) this module uses: its pooled connections. */
interface KnexClient {
  acquireConnection(): Promise<PgClient>;
  releaseConnection(connection: PgClient): Promise<unknown>;
}

/**
 * A statement whose text is built only the first time its `key` is run: for texts put
 * together from a few variants (a tenancy condition, an outcome), so that a call costs
 * a lookup by a short key instead of building and hashing the whole text.
 */
export interface Statement {
  key: string;
  sql: () => string;
}

/** One statement's prepared name and positional text. */
interface Prepared {
  name: string;
  text: string;
}

/** By text (or `Statement` key), made once: the texts are constants of the code or few variants of them. */
const prepared = new Map<string, Prepared>();

/** `?` placeholders as PostgreSQL's `$1`, `$2`, ... in order of appearance. */
export function positional(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function preparedOf(sql: string | Statement): Prepared {
  const key = typeof sql === 'string' ? sql : `statement:${sql.key}`;
  let p = prepared.get(key);
  if (!p) {
    const text = typeof sql === 'string' ? sql : sql.sql();
    p = { name: 'cg_' + createHash('sha1').update(text).digest('hex').slice(0, 24), text: positional(text) };
    prepared.set(key, p);
  }
  return p;
}

/**
 * Rows of one statement. `?` placeholders take their values as given: an array binds as
 * one PostgreSQL array (`= any(?::uuid[])`), unlike knex, which spreads it. Inside
 * `em.transactional` (pass the callback's EntityManager) it runs on the transaction's
 * connection. Rows come typed as the ORM's connection types them (timestamps as text).
 * Every `?` becomes a placeholder, even inside a string literal or a comment (the text is
 * not parsed): write a literal question mark as `chr(63)` or pass it as a value.
 * It calls pg's callback form: with pg's promise form (`client.query(config)` answering a
 * promise), every statement's rows outlived two young-generation collections and were
 * promoted to the old generation, freed only by the next full collection (measured: a lone
 * 50-row page left 264 kB of old generation behind with it, 162 kB with the callback; the
 * history's seventeenth session). Full collections under load are what the p99 waits on.
 * `sql` must be a constant text (values go in `values`) or a `Statement`: each distinct
 * text is prepared on every connection that runs it. Announced as knex's `query` event,
 * so statement counts (tests, benchmarks) include it. Errors are PostgreSQL's own (the
 * error formatter maps them like the ORM's).
 */
export async function queryRows<R>(em: EntityManager, sql: string | Statement, values: unknown[] = []): Promise<R[]> {
  const knex = em.getConnection().getKnex();
  const client = (em.getTransactionContext() ?? knex).client as unknown as KnexClient;
  const statement = preparedOf(sql);
  knex.emit('query', { sql: statement.text, bindings: values, method: 'raw' });
  const connection = await client.acquireConnection();
  try {
    const config = transactionPooled(em.config) ? { text: statement.text, values } : { ...statement, values };
    return await new Promise<R[]>((resolve, reject) =>
      connection.query<R>(config, (err, result) => {
        if (!err) return resolve(result.rows);
        // As pg's own promise does: a stack that leads back here, not to the socket's read.
        Error.captureStackTrace(err);
        reject(err);
      }),
    );
  } finally {
    await client.releaseConnection(connection);
  }
}
