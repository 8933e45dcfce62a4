import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Prepared statements for the order path. `em.getConnection().execute` inlines every
 * parameter into the text, so PostgreSQL parses and plans each attempt's statements
 * anew; planning the attempt's read took about ten times as long as running it. Here
 * a statement is prepared once per pooled connection (named after its text) and then
 * only bound and run. Connections come from the ORM's own knex pool, and each
 * statement is announced on knex's `query` event like any other, so statement
 * counters and logs still see it. Errors are PostgreSQL's own (the error formatter
 * maps them like the ORM's).
 */

/** A pooled connection of node-postgres, as knex hands it out. */
interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
  query(text: string): Promise<{ rows: unknown[] }>;
  __knexUid?: string;
}

interface KnexClient {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): Promise<void>;
  emit(event: 'query', data: object): boolean;
}

/** One statement text, with `?` placeholders turned into `$n`, and its prepared name. */
interface Prepared {
  name: string;
  text: string;
}

/** By key (the text itself, or a short name of its variant): texts vary only by kind, outcome and the viewer's tenancy condition. */
const prepared = new Map<string, Prepared>();
let named = 0;

function statement(key: string, sql: () => string): Prepared {
  let p = prepared.get(key);
  if (!p) {
    let n = 0;
    p = { name: `tx_${++named}`, text: sql().replace(/\?/g, () => `$${++n}`) };
    if (prepared.size < 500) prepared.set(key, p);
  }
  return p;
}

/** Runs statements on one pooled connection. */
export class Sql {
  private constructor(
    private readonly client: KnexClient,
    private readonly connection: PgConnection,
  ) {}

  /** Runs `sql` (with `?` placeholders) as a prepared statement; answers its rows. */
  rows<R>(sql: string, values: unknown[]): Promise<R[]> {
    return this.rowsOf<R>(sql, () => sql, values);
  }

  /** Like `rows`, for a text built by `sql()` only the first time `key` is asked for. */
  async rowsOf<R>(key: string, sql: () => string, values: unknown[]): Promise<R[]> {
    const p = statement(key, sql);
    this.client.emit('query', { sql: p.text, bindings: values, method: 'raw', __knexUid: this.connection.__knexUid });
    const res = await this.connection.query({ name: p.name, text: p.text, values });
    return res.rows as R[];
  }

  private static client(em: EntityManager): KnexClient {
    return (em.getConnection().getKnex() as unknown as { client: KnexClient }).client;
  }

  /** `work` on one connection of the pool, outside any transaction (each statement commits on its own). */
  static async run<T>(em: EntityManager, work: (sql: Sql) => Promise<T>): Promise<T> {
    const client = Sql.client(em);
    const connection = await client.acquireConnection();
    try {
      return await work(new Sql(client, connection));
    } finally {
      await client.releaseConnection(connection);
    }
  }

  /** `work` in one transaction on this connection: committed when it returns, rolled back when it throws. */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    await this.plain('begin');
    let result: T;
    try {
      result = await work();
    } catch (err) {
      await this.plain('rollback').catch(() => undefined);
      throw err;
    }
    await this.plain('commit');
    return result;
  }

  private async plain(text: string): Promise<void> {
    this.client.emit('query', { sql: text, bindings: [], method: 'raw', __knexUid: this.connection.__knexUid });
    await this.connection.query(text);
  }
}
