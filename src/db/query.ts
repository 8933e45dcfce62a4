import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';

/** The part of a pg client this module uses. */
interface PgClient {
  query<R>(config: { text: string; values: unknown[]; name?: string }): Promise<{ rows: R[] }>;
}
interface KnexClient {
  acquireConnection(): Promise<PgClient>;
  releaseConnection(connection: PgClient): Promise<unknown>;
  positionBindings(sql: string): string;
}

/** Each statement's prepared name and positional text, made once: the texts are constants of the code. */
const prepared = new Map<string, { name: string; text: string }>();

/**
 * Rows of one read statement on the hot paths (a customers page, alert delivery),
 * straight through the pool's pg client: a prepared statement, planned once per
 * connection, and none of the query builder's work per call. `?` placeholders take
 * their values as given: an array binds as one PostgreSQL array (`= any(?::uuid[])`),
 * unlike knex, which spreads it. Inside `em.transactional` it runs on the transaction's
 * connection. Rows come typed as the ORM's connection types them (timestamps as text).
 * Every `?` becomes a placeholder, even inside a string literal or a comment (knex's
 * `positionBindings` does not parse SQL): write a literal question mark as `chr(63)` or pass it as a value.
 * `sql` must be a constant text (values go in `values`): each distinct text is
 * prepared on every connection that runs it. Announced as knex's `query` event, so
 * statement counts (tests, benchmarks) include it.
 */
export async function queryRows<R>(em: EntityManager, sql: string, values: unknown[] = []): Promise<R[]> {
  const knex = em.getConnection().getKnex();
  const client = (em.getTransactionContext() ?? knex).client as unknown as KnexClient;
  let statement = prepared.get(sql);
  if (!statement) {
    statement = { name: 'cg_' + createHash('sha1').update(sql).digest('hex').slice(0, 24), text: client.positionBindings(sql) };
    prepared.set(sql, statement);
  }
  knex.emit('query', { sql, bindings: values, method: 'raw' });
  const connection = await client.acquireConnection();
  try {
    return (await connection.query<R>({ ...statement, values })).rows;
  } finally {
    await client.releaseConnection(connection);
  }
}
