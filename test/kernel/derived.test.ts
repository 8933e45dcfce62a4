import pino from 'pino';
import type { EntityManager } from '@mikro-orm/postgresql';
import { startGateway, type TestGateway } from '../support/gateway';
import { DerivedScheduler, installDerivedFunctions, isDerivedValid, rebuildDerived, type DerivedTable } from '../../src/kernel/derived';
import { queryRows } from '../../src/db/query';

/** A toy derived table: the number of partners, by a generated function whose body names a version. */
function toy(version: number, validUntilSql = 'null'): DerivedTable {
  return {
    name: 'toy_partner_count',
    functions: () => [`create or replace function toy_version() returns int language sql as $$ select ${version} $$`],
    rebuild: async (tx) => {
      await queryRows(tx, 'delete from toy_partner_count');
      await queryRows(tx, 'insert into toy_partner_count select count(*) from partners');
    },
    validUntilSql,
  };
}

let gw: TestGateway;
let em: EntityManager;
const sql = (text: string) => gw.orm.em.getConnection().execute(text);

beforeAll(async () => {
  gw = await startGateway();
  em = gw.orm.em.fork() as EntityManager;
  await sql(`create table toy_partner_count (n bigint not null)`);
  await sql(`insert into derived_epochs (name) values ('toy_partner_count')`);
  await sql(`create table toy_rules (id int)`);
  await sql(`create trigger toy_rules_invalidate after insert or update or delete on toy_rules for each statement execute function derived_invalidate('toy_partner_count')`);
});
afterAll(() => gw?.stop());

describe('derived tables (kernel)', () => {
  it('installs generated functions once per body hash and rebuilds when the body changed', async () => {
    expect(await installDerivedFunctions(em, [toy(1)])).toEqual(['toy_partner_count']);
    expect(await isDerivedValid(em, toy(1))).toBe(false);
    expect(await rebuildDerived(em, toy(1))).toBe(true);
    expect(await isDerivedValid(em, toy(1))).toBe(true);
    // Same body: nothing installed, nothing to rebuild.
    expect(await installDerivedFunctions(em, [toy(1)])).toEqual([]);
    expect(await rebuildDerived(em, toy(1))).toBe(false);
    // The rule changed in code: a new body, installed and rebuilt.
    expect(await isDerivedValid(em, toy(2))).toBe(false);
    expect(await installDerivedFunctions(em, [toy(2)])).toEqual(['toy_partner_count']);
    expect((await queryRows<{ v: number }>(em, 'select toy_version() as v'))[0]!.v).toBe(2);
    expect(await rebuildDerived(em, toy(2))).toBe(true);
    expect(await isDerivedValid(em, toy(2))).toBe(true);
  });

  it('a global write invalidates the epoch in its own transaction; the scheduler rebuilds it', async () => {
    const table = toy(2);
    await sql('insert into toy_rules values (1)');
    expect(await isDerivedValid(em, table)).toBe(false);
    const scheduler = new DerivedScheduler({ orm: gw.orm, log: pino({ level: 'silent' }) }, [table], 60_000);
    await scheduler.start();
    try {
      expect(await isDerivedValid(em, table)).toBe(true);
      await sql('insert into toy_rules values (2)');
      await scheduler.rebuildStale();
      expect(await isDerivedValid(em, table)).toBe(true);
    } finally {
      await scheduler.stop();
    }
  });

  it('an epoch is valid only before its valid_until (the next effective date)', async () => {
    const table = toy(2, `(now() at time zone 'utc')::date + 1`);
    await rebuildDerived(em, table, { force: true });
    expect(await isDerivedValid(em, table)).toBe(true);
    // As if the day had passed: valid_until is today.
    await sql(`update derived_epochs set valid_until = (now() at time zone 'utc')::date where name = 'toy_partner_count'`);
    expect(await isDerivedValid(em, table)).toBe(false);
    expect(await rebuildDerived(em, table)).toBe(true);
    expect(await isDerivedValid(em, table)).toBe(true);
  });

  it('a stopped scheduler rebuilds nothing more', async () => {
    const table = toy(2);
    const scheduler = new DerivedScheduler({ orm: gw.orm, log: pino({ level: 'silent' }) }, [table], 60_000);
    await scheduler.start();
    await scheduler.stop();
    await sql('insert into toy_rules values (3)');
    await scheduler.rebuildStale();
    expect(await isDerivedValid(em, table)).toBe(false);
  });
});
