import type { EntityManager } from '@mikro-orm/postgresql';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { loadConfig } from '../../src/config';

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

/** The pool keeps an unused connection for DATABASE_POOL_IDLE_TIMEOUT_MS (src/db/orm.ts): a new one is cold. */
describe('the pool and its idle connections', () => {
  const backend = async (gw: TestGateway) => ((await gw.orm.em.getConnection().execute('select pg_backend_pid() as pid')) as { pid: number }[])[0].pid;
  /** Longer than a 1 s idle timeout and the pool's reaping (every second). */
  const quiet = () => new Promise((r) => setTimeout(r, 3_000));

  it('keeps an unused connection open 10 minutes by default (DATABASE_POOL_IDLE_TIMEOUT_MS), and the setting reaches the pool', async () => {
    expect(loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32) }).databasePoolIdleTimeoutMs).toBe(600_000);
    expect(loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), DATABASE_POOL_IDLE_TIMEOUT_MS: '120000' }).databasePoolIdleTimeoutMs).toBe(120_000);
    expect(() => loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), DATABASE_POOL_IDLE_TIMEOUT_MS: '10' })).toThrow(/DATABASE_POOL_IDLE_TIMEOUT_MS/);
    const gw = await startGateway();
    try {
      expect(gw.orm.config.get('pool')).toMatchObject({ idleTimeoutMillis: 600_000 });
      const first = await backend(gw);
      await quiet();
      expect(await backend(gw)).toBe(first);
    } finally {
      await gw.stop();
    }
  });

  it('closes it after DATABASE_POOL_IDLE_TIMEOUT_MS unused: the next statement runs on a new backend', async () => {
    const gw = await startGateway({ databasePoolIdleTimeoutMs: 1_000 });
    try {
      const first = await backend(gw);
      await quiet();
      expect(await backend(gw)).not.toBe(first);
    } finally {
      await gw.stop();
    }
  });
});
