import pino from 'pino';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ConfigError, loadConfig } from '../../src/config';
import { queryRows } from '../../src/db/query';
import { holdsSession, sessionUrl } from '../../src/db/topology';
import { AlertHub } from '../../src/alerts/alert.hub';
import { startGateway, TEST_SECRET, type TestGateway } from '../support/gateway';
import { freshDatabase } from '../support/database';
import { startLoggedGateway } from '../hardening/support';
import { Client } from 'pg';

/**
 * Pooler-safe database use (src/db/topology.ts). The pooler itself (PgBouncer in
 * transaction mode) is exercised end to end by `npm run test:topology`; here the gateway
 * runs with DATABASE_DIRECT_URL and DATABASE_POOLER=transaction on one direct database,
 * which shows where each kind of connection goes and what the pooled sessions carry.
 */

const env = (vars: Record<string, string>) => loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_SECRET, ...vars });

describe('DATABASE_DIRECT_URL and DATABASE_POOLER', () => {
  it('leave everything on DATABASE_URL when unset', () => {
    const config = env({ DATABASE_URL: 'postgres://db/app' });
    expect(config.databaseDirectUrl).toBeUndefined();
    expect(config.databasePooler).toBe('none');
  });

  it('mean a transaction pooler on DATABASE_URL when the direct URL is set, unless told otherwise', () => {
    expect(env({ DATABASE_URL: 'postgres://pooler/app', DATABASE_DIRECT_URL: 'postgres://db/app' }).databasePooler).toBe('transaction');
    expect(env({ DATABASE_URL: 'postgres://pooler/app', DATABASE_DIRECT_URL: 'postgres://db/app', DATABASE_POOLER: 'none' }).databasePooler).toBe('none');
  });

  it('are refused when they cannot work, naming why', () => {
    expect(() => env({ DATABASE_DIRECT_URL: 'postgres://db/app' })).toThrow(new ConfigError('DATABASE_DIRECT_URL is set without DATABASE_URL (the pooled URL everything else uses)'));
    expect(() => env({ DATABASE_URL: 'postgres://pooler/app', DATABASE_POOLER: 'transaction' })).toThrow(/DATABASE_POOLER=transaction needs DATABASE_DIRECT_URL/);
    expect(() => env({ DATABASE_URL: 'postgres://pooler/app', DATABASE_DIRECT_URL: 'http://db/app' })).toThrow(/DATABASE_DIRECT_URL must start with postgres:\/\//);
    expect(() => env({ DATABASE_URL: 'postgres://pooler/app', DATABASE_DIRECT_URL: 'postgres://db/app', DATABASE_POOLER: 'session' })).toThrow(/DATABASE_POOLER must be none or transaction/);
  });
});

describe('a gateway with a direct URL beside a transaction-pooled one', () => {
  let gw: TestGateway;
  let direct: string;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => {
    db = await freshDatabase();
    // The same database, told apart in pg_stat_activity by the direct URL's application name.
    const url = new URL(db.url);
    url.searchParams.set('application_name', 'cg-direct-session');
    direct = url.toString();
    gw = await startGateway({ databaseDirectUrl: direct, databasePooler: 'transaction' }, db.url);
  });
  afterAll(async () => {
    await gw?.stop();
    await db?.drop();
  });

  const preparedHere = (tx: EntityManager) => queryRows<{ name: string }>(tx, "select name from pg_prepared_statements where name like 'cg\\_%'");

  it('runs queryRows unnamed, so no statement outlives its transaction on a pooled server connection', async () => {
    await gw.orm.em.fork().transactional(async (tx: EntityManager) => {
      expect(await queryRows<{ n: number }>(tx, 'select ?::int + 1 as n', [41])).toEqual([{ n: 42 }]);
      expect(await preparedHere(tx)).toEqual([]);
    });
  });

  it('sends no session start-up parameters through the pooler (the role carries the limits there)', async () => {
    const [row] = await queryRows<{ timeout: string }>(gw.orm.em.fork(), "select current_setting('statement_timeout') as timeout");
    expect(row.timeout).toBe('0');
  });

  it('puts the alert LISTEN connection on the direct URL', async () => {
    const hub = new AlertHub(gw.orm, pino({ level: 'silent' }), { pollMs: 3_600_000 });
    await hub.start();
    try {
      expect(sessionUrl(gw.orm)).toBe(direct);
      const [row] = await queryRows<{ app: string }>(gw.orm.em.fork(), 'select application_name as app from pg_stat_activity where pid = ?', [hub.listenerPid()]);
      expect(row.app).toBe('cg-direct-session');
    } finally {
      await hub.stop();
    }
  });

  it('finds a direct connection holds a session (the start-up check never refuses one)', async () => {
    expect(await holdsSession(direct)).toBe(true);
  });
});

describe('a gateway without a direct URL', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw?.stop());

  it('prepares named statements per connection, as before', async () => {
    await gw.orm.em.fork().transactional(async (tx: EntityManager) => {
      await queryRows(tx, 'select ?::int + 2 as n', [40]);
      const names = await queryRows<{ name: string }>(tx, "select name from pg_prepared_statements where name like 'cg\\_%'");
      expect(names.length).toBeGreaterThan(0);
    });
    expect(sessionUrl(gw.orm)).toBe(gw.databaseUrl);
  });
});

describe('session limits behind a transaction pooler', () => {
  it("warns when the pooled sessions run without the limits, and not once the database's own settings carry them", async () => {
    const db = await freshDatabase();
    const pooledConfig = { databaseDirectUrl: db.url, databasePooler: 'transaction' as const };
    try {
      const bare = await startLoggedGateway(pooledConfig, {}, db.url);
      await bare.stop();
      expect(bare.log.find((l) => l.level === 40 && Array.isArray(l.missing))?.missing).toEqual(['statement_timeout', 'idle_in_transaction_session_timeout']);

      // What an operator does behind PgBouncer (on the role; here on this test's own database).
      const admin = new Client({ connectionString: db.url });
      await admin.connect();
      await admin.query(`alter database ${db.name} set statement_timeout = '30s'`);
      await admin.query(`alter database ${db.name} set idle_in_transaction_session_timeout = '15s'`);
      await admin.end();
      const set = await startLoggedGateway(pooledConfig, {}, db.url);
      await set.stop();
      expect(set.log.find((l) => Array.isArray(l.missing))).toBeUndefined();
    } finally {
      await db.drop();
    }
  });
});
