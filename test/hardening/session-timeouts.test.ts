import type { EntityManager } from '@mikro-orm/postgresql';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';

/** The gateway's database sessions carry a statement timeout and an idle-in-transaction timeout. */

const setting = async (gw: TestGateway, name: string) =>
  ((await gw.orm.em.getConnection().execute(`select current_setting('${name}') as value`)) as { value: string }[])[0].value;

describe('by default', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw?.stop());

  it('every session has a 30 s statement timeout and a 15 s idle-in-transaction timeout', async () => {
    expect(await setting(gw, 'statement_timeout')).toBe('30s');
    expect(await setting(gw, 'idle_in_transaction_session_timeout')).toBe('15s');
  });

  it('every session plans prepared statements generically and without JIT (the derived reads: src/db/orm.ts)', async () => {
    expect(await setting(gw, 'plan_cache_mode')).toBe('force_generic_plan');
    expect(await setting(gw, 'jit')).toBe('off');
  });
});

describe('with short limits', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ databaseSession: { statementTimeoutMs: 500, idleInTransactionTimeoutMs: 500 } });
  });
  afterAll(() => gw?.stop());

  it('a statement running longer is cancelled', async () => {
    await expect(gw.orm.em.getConnection().execute('select pg_sleep(3)')).rejects.toMatchObject({ code: '57014' });
  });

  it('a transaction left idle is ended by PostgreSQL, and the gateway answers on fresh connections', async () => {
    const em = gw.orm.em.fork() as EntityManager;
    const stalled = em.transactional(async (tx) => {
      await tx.getConnection().execute('select 1', [], 'all', tx.getTransactionContext());
      await new Promise((r) => setTimeout(r, 2_000));
      await tx.getConnection().execute('select 1', [], 'all', tx.getTransactionContext());
    });
    await expect(stalled).rejects.toThrow(/idle-in-transaction timeout|Connection terminated|not queryable/);
    const left = await gw.orm.em
      .getConnection()
      .execute(`select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`);
    expect(left[0].n).toBe(0);
    expect((await gw.gql('{ viewer { userId } }', {}, await platformAdminToken())).data).toEqual({ viewer: { userId: 'test-platform-admin' } });
  });
});
