import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../../src/db/query';
import { startGateway, type TestGateway } from '../support/gateway';

/** The one SQL runner: placeholders, arrays, statements built once, transactions, counting. */

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.stop());

describe('queryRows', () => {
  it('binds each ? in order, and an array as one PostgreSQL array', async () => {
    const rows = await queryRows<{ a: string; n: number }>(gw.orm.em.fork(), 'select ?::text as a, cardinality(?::int[]) as n', ['x', [1, 2, 3]]);
    expect(rows).toEqual([{ a: 'x', n: 3 }]);
  });

  it("builds a Statement's text only the first time its key runs", async () => {
    let built = 0;
    const statement = { key: 'query.test:built-once', sql: () => (built++, 'select ?::int + 1 as n') };
    const em = gw.orm.em.fork();
    expect(await queryRows<{ n: number }>(em, statement, [1])).toEqual([{ n: 2 }]);
    expect(await queryRows<{ n: number }>(em, statement, [41])).toEqual([{ n: 42 }]);
    expect(built).toBe(1);
  });

  it("runs on the transaction's connection inside em.transactional: a rollback undoes its writes", async () => {
    const id = 'query-test-user';
    await gw.orm.em
      .fork()
      .transactional(async (tx: EntityManager) => {
        await queryRows(tx, `insert into users (id, display_name, partner_id, roles, first_seen_at, last_seen_at) values (?, 'x', null, '{ANALYST}', now(), now())`, [id]);
        // Seen inside the transaction...
        expect(await queryRows(tx, 'select 1 from users where id = ?', [id])).toHaveLength(1);
        // ...and not outside it before it commits.
        expect(await queryRows(gw.orm.em.fork(), 'select 1 from users where id = ?', [id])).toHaveLength(0);
        throw new Error('roll back');
      })
      .catch((err: Error) => expect(err.message).toBe('roll back'));
    expect(await queryRows(gw.orm.em.fork(), 'select 1 from users where id = ?', [id])).toHaveLength(0);
  });

  it('is counted as one statement', async () => {
    const n = await gw.countStatements(() => queryRows(gw.orm.em.fork(), 'select 1'));
    expect(n).toBe(1);
  });
});
