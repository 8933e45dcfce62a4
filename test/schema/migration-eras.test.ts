import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { initOrm } from '../../src/db/orm';
import { entities } from '../../src/features';
import { freshDatabase } from '../support/database';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';

/**
 * Issue 18's migration on a database filled by the previous release (migrated up to
 * Migration20261202160000, with the founding FAQ's data written as that release wrote it):
 * existing Cloud Agreement confirmations stay as they are (history), the default policy
 * appears, and the founding era replays as before.
 */

const PREVIOUS_RELEASE = 'Migration20261202160000';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let orm: MikroORM;
let gw: TestGateway | undefined;
const ids = { partner: randomUUID(), customer: randomUUID(), old: randomUUID(), active: randomUUID() };

beforeAll(async () => {
  db = await freshDatabase();
  orm = await initOrm(db.url, entities);
  await orm.getMigrator().up({ to: PREVIOUS_RELEASE });
  const sql = orm.em.getConnection();
  await sql.execute(`insert into partners (id, name, tenant_id, type, created_at) values (?, 'Old Partner', 'old-partner', 'DIRECT_BILL', now())`, [ids.partner]);
  await sql.execute(
    `insert into customers (id, tenant_id, company_name, domain, country, cloud, contact_first_name, contact_last_name, contact_email, created_at)
     values (?, 'old-customer', 'Old Customer', 'old.example', 'US', 'PUBLIC', 'Ada', 'Lovelace', 'ada@old.example', now())`,
    [ids.customer],
  );
  await sql.execute(`insert into customer_relationships (id, customer_id, partner_id, created_at) values (?, ?, ?, now())`, [randomUUID(), ids.customer, ids.partner]);
  await sql.execute(`insert into users (id, display_name, partner_id, roles, first_seen_at, last_seen_at) values ('old-agent', 'Old Agent', ?, '{AGENT}', now(), now())`, [ids.partner]);
  for (const [templateId, rank, from] of [['cloud-v1', 1, '2018-11-07'], ['cloud-v2', 2, '2019-01-01']] as const) {
    await sql.execute(
      `insert into agreement_templates (template_id, type, version, version_rank, country, language, display_uri, effective_from, created_at)
       values (?, 'MICROSOFT_CLOUD_AGREEMENT', ?, ?, 'GLOBAL', 'en-US', 'https://example.com/a.pdf', ?, now())`,
      [templateId, `v${rank}`, rank, from],
    );
  }
  const confirm = (id: string, templateId: string, dateAgreed: string, status: string, supersededAt: string | null) =>
    sql.execute(
      `insert into acceptances (id, customer_id, partner_id, template_id, date_agreed, contact_first_name, contact_last_name, contact_email, channel, status, confirmed_by_id, recorded_at, superseded_at)
       values (?, ?, ?, ?, ?, 'Ada', 'Lovelace', 'ada@old.example', 'API', ?, 'old-agent', now(), ?)`,
      [id, ids.customer, ids.partner, templateId, dateAgreed, status, supersededAt],
    );
  await confirm(ids.old, 'cloud-v1', '2018-12-01', 'SUPERSEDED', '2019-02-01T00:00:00Z');
  await confirm(ids.active, 'cloud-v2', '2019-02-01', 'ACTIVE', null);
  await orm.close();
  gw = await startGateway({}, db.url, { foundingRules: false }); // this release: migrates the rest
});
afterAll(async () => {
  await gw?.stop();
  await db?.drop();
});

describe('the eras migration on a database of the previous release', () => {
  it('keeps existing Cloud Agreement confirmations as they were, adds the default policy, and no customer has a direct acceptance', async () => {
    const sql = gw!.orm.em.fork().getConnection();
    const rows = await sql.execute(`select id, template_id, status, to_char(date_agreed, 'YYYY-MM-DD') as date_agreed from acceptances order by date_agreed`);
    expect(rows).toEqual([
      { id: ids.old, template_id: 'cloud-v1', status: 'SUPERSEDED', date_agreed: '2018-12-01' },
      { id: ids.active, template_id: 'cloud-v2', status: 'ACTIVE', date_agreed: '2019-02-01' },
    ]);
    expect((await sql.execute(`select count(*)::int as n from acceptance_policy_rules`))[0].n).toBe(6);
    expect(await sql.execute(`select direct_acceptance_type from customers`)).toEqual([{ direct_acceptance_type: null }]);
  });

  it('the founding era replays as before; today the same confirmation is AGREEMENT_TYPE_NOT_ACCEPTED and REACCEPTANCE_REQUIRED for compliance', async () => {
    const token = await platformAdminToken();
    const ask = (requestedAt?: string) =>
      gw!.gql(`query ($input: TransactionInput!) { preflightTransaction(input: $input) { allowed blockReasons warnings requiredAgreement { templateId } } }`, {
        input: { customerId: ids.customer, partnerId: ids.partner, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: 'k', ...(requestedAt ? { requestedAt } : {}) },
      }, token);
    expect((await ask('2019-06-01T12:00:00Z')).data.preflightTransaction).toEqual({ allowed: true, blockReasons: [], warnings: [], requiredAgreement: { templateId: 'cloud-v2' } });
    expect((await ask()).data.preflightTransaction).toMatchObject({ allowed: false, blockReasons: ['AGREEMENT_TYPE_NOT_ACCEPTED'] });
    const status = await gw!.gql(`query ($id: ID!) { customer(id: $id) { complianceStatus } }`, { id: ids.customer }, token);
    expect(status.data.customer.complianceStatus).toBe('REACCEPTANCE_REQUIRED');
  });
});
