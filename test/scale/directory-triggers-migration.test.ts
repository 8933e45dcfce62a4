import { Client } from 'pg';
import type { EntityManager } from '@mikro-orm/postgresql';
import { insertPartnerUserTemplate, previousReleaseDatabase } from '../support/migrations';
import { migrate } from '../../src/db/migrate';
import { complianceDirectory, rebuildComplianceDirectory } from '../../src/acceptance/compliance.directory';
import { complianceStatusSql } from '../../src/acceptance/compliance';
import { isDerivedValid } from '../../src/kernel/derived';

/**
 * Migration20261206100000 on a database of the previous release: the directory's per-row
 * triggers (and the per-row count triggers) replaced by statement triggers calling
 * `customer_compliance_refresh(uuid[])`; after the start-up's install and rebuild the
 * directory answers as the rule does, and set-based writes keep it and its counts right.
 */

const PREVIOUS_RELEASE = 'Migration20261205110000';
const THIS = 'Migration20261206100000';
const P = '00000000-0000-4000-8000-000000000001';
const T = 'tpl-migration-test';

let db: { drop(): Promise<void> } | undefined;
afterAll(() => db?.drop());

const triggersOf = async (c: Client) =>
  (
    await c.query<{ t: string }>(
      `select tgrelid::regclass::text || ' ' || tgname as t from pg_trigger
        where not tgisinternal and tgname like 'customer_compliance%' and tgrelid::regclass::text not in ('agreement_templates', 'acceptance_policy_rules') order by 1`,
    )
  ).rows.map((r) => r.t);

/** The directory's 'all' scope against the rule, and the counts against the directory. */
async function agrees(c: Client): Promise<void> {
  const rule = complianceStatusSql({ kind: 'all' }, 'c.id');
  let i = 0;
  const live = await c.query(`select c.id, ${rule.sql.replace(/\?/g, () => `$${++i}`)} as status from customers c order by c.id`, rule.params);
  const directory = await c.query(`select customer_id as id, status from customer_compliance where scope = 'all' order by customer_id`);
  expect(directory.rows).toEqual(live.rows);
  const counts = await c.query(`select scope, status, sum(n)::int as n from customer_compliance_counts group by scope, status having sum(n) <> 0 order by 1, 2`);
  const grouped = await c.query(`select scope, status, count(*)::int as n from customer_compliance group by scope, status order by 1, 2`);
  expect(counts.rows).toEqual(grouped.rows);
}

it('replaces the per-row triggers on a database of the previous release; set-based writes keep the directory and its counts right', async () => {
  const previous = await previousReleaseDatabase(PREVIOUS_RELEASE);
  ({ db } = previous);
  const { orm, c } = previous;
  try {
    expect(await triggersOf(c)).toEqual([
      'acceptances customer_compliance_acceptance',
      'customer_compliance customer_compliance_count_delete',
      'customer_compliance customer_compliance_count_insert',
      'customer_compliance customer_compliance_count_update',
      'customer_relationship_resellers customer_compliance_reseller',
      'customer_relationships customer_compliance_relationship',
      'customers customer_compliance_customer_insert',
      'customers customer_compliance_customer_update',
    ]);
    // The previous release's data: 40 customers, half served by P, a quarter with an acceptance.
    await insertPartnerUserTemplate(c, { partnerId: P, templateId: T, role: 'ADMIN', effectiveFrom: '2019-10-01' });
    await c.query(
      `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
       select gen_random_uuid(), 't-' || i, 'Company ' || i, 'c' || i || '.example', 'US', 'A', 'B', 'a@example.com', now() from generate_series(1, 40) i`,
    );
    await c.query(`insert into customer_relationships (id, customer_id, partner_id, created_at) select gen_random_uuid(), id, $1, now() from customers where company_name ~ '[02468]$'`, [P]);

    const applied = await migrate(orm, { to: THIS });
    expect(applied).toEqual([THIS]);
    expect(await triggersOf(c)).toEqual([
      'acceptances customer_compliance_delete',
      'acceptances customer_compliance_insert',
      'acceptances customer_compliance_update',
      'customer_compliance customer_compliance_count_deleted',
      'customer_relationship_resellers customer_compliance_delete',
      'customer_relationship_resellers customer_compliance_insert',
      'customer_relationship_resellers customer_compliance_update',
      'customer_relationships customer_compliance_delete',
      'customer_relationships customer_compliance_insert',
      'customer_relationships customer_compliance_update',
      'customers customer_compliance_insert',
      'customers customer_compliance_update',
    ]);
    expect((await c.query(`select 1 from pg_proc where proname = 'customer_compliance_refresh' and pg_get_function_identity_arguments(oid) = 'p_customer uuid'`)).rowCount).toBe(0);
    expect((await orm.getMigrator().getPendingMigrations()).map((m) => m.name)).not.toContain(THIS);

    // The later migrations, which the generated functions below expect (the directory's sort name).
    await migrate(orm);
    // As the gateway's start-up: the generated refresh installed, the directory rebuilt.
    const em = orm.em.fork() as unknown as EntityManager;
    await rebuildComplianceDirectory(em);
    expect(await isDerivedValid(em, complianceDirectory)).toBe(true);
    await agrees(c);

    // Set-based writes: acceptances for every served customer in one statement, then some withdrawn, a relationship dropped, a customer added.
    await c.query(
      `insert into acceptances (id, customer_id, partner_id, template_id, date_agreed, contact_first_name, contact_last_name, contact_email, confirmed_by_id, recorded_at, status, channel, source)
       select gen_random_uuid(), r.customer_id, r.partner_id, $1, '2024-06-01', 'Ada', 'Lovelace', 'ada@example.com', 'u', now(), 'ACTIVE', 'API', 'PARTNER_RECORDED' from customer_relationships r`,
      [T],
    );
    await c.query(`update acceptances set status = 'WITHDRAWN', withdrawn_at = now() where customer_id in (select id from customers where company_name ~ '[048]$')`);
    // Both statuses appear (the comparison is not vacuous).
    expect((await c.query(`select distinct status from customer_compliance where scope = 'all' order by 1`)).rows.map((r) => r.status)).toEqual(['CONFIRMED', 'MISSING', 'WITHDRAWN']);
    await c.query(`delete from customer_relationships where customer_id in (select id from customers where company_name ~ '6$')`);
    await c.query(`insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at) values (gen_random_uuid(), 't-x', 'X', 'x.example', 'US', 'A', 'B', 'a@example.com', now())`);
    await c.query(`delete from customers where company_name = 'Company 2'`);
    await agrees(c);
    expect(await isDerivedValid(em, complianceDirectory)).toBe(true);

    // Down and up again: the previous release's triggers come back, then this release's.
    await orm.getMigrator().down({ migrations: [THIS] });
    expect(await triggersOf(c)).toContain('acceptances customer_compliance_acceptance');
    expect(await migrate(orm, { to: THIS })).toEqual([THIS]);
    expect(await triggersOf(c)).toContain('acceptances customer_compliance_insert');
  } finally {
    await previous.close();
  }
});
