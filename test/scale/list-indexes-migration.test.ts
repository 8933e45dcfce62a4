import { Client } from 'pg';
import { freshDatabase } from '../support/database';
import { indexValidity } from '../support/migrations';
import { initOrm } from '../../src/db/orm';
import { migrate } from '../../src/db/migrate';
import { entities } from '../../src/features';
import { LIST_INDEXES } from '../../migrations/Migration20261204120000';

/**
 * Migration20261204120000 on a database filled by the previous release: its indexes are
 * built concurrently, outside a transaction, after the migrations before it have
 * committed (`migrate`), and an index a failed run left invalid is built again.
 */

const PREVIOUS_RELEASE = 'Migration20261203140000';

let db: Awaited<ReturnType<typeof freshDatabase>>;
afterAll(() => db?.drop());

const indexes = (c: Client) => indexValidity(c, LIST_INDEXES.map((i) => i.name));

it('the list indexes are built concurrently on a database of the previous release, and agree with the entities', async () => {
  db = await freshDatabase();
  const orm = await initOrm(db.url, entities);
  const c = new Client({ connectionString: db.url });
  await c.connect();
  try {
    await orm.getMigrator().up({ to: PREVIOUS_RELEASE });
    const P = '00000000-0000-4000-8000-000000000001';
    const C = '00000000-0000-4000-8000-000000000002';
    await c.query(`insert into partners (id, name, tenant_id, type, created_at) values ($1, 'P', 't-p', 'DIRECT_BILL', now())`, [P]);
    await c.query(`insert into users (id, display_name, partner_id, roles, first_seen_at, last_seen_at) values ('u', 'U', $1, '{AGENT}', now(), now())`, [P]);
    await c.query(
      `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
       values ($1, 't-c', 'C', 'c.example', 'US', 'A', 'B', 'a@example.com', now())`,
      [C],
    );
    await c.query(
      `insert into orders (id, customer_id, partner_id, kind, channel, outcome, block_reasons, warnings, requested_at, created_at, quantity, placed_by_id, idempotency_key, idempotency_scope, request_hash)
       select gen_random_uuid(), $1, $2, 'NEW_PURCHASE', 'API', 'BLOCKED', '{AGREEMENT_TYPE_NOT_ACCEPTED}', '{}', now(), now(), 1, 'u', gen_random_uuid()::text, 's', 'h' from generate_series(1, 200)`,
      [C, P],
    );
    await c.query(`insert into blocked_order_alerts (order_id, customer_id, partner_id, reasons, created_at) select id, customer_id, partner_id, block_reasons, now() from orders`);
    // A run cut short left one index invalid (as a failed `create index concurrently` does).
    await c.query(`create index concurrently "orders_created_at_id_index" on "orders" ("created_at", "id")`);
    await c.query(`update pg_index set indisvalid = false where indexrelid = '"orders_created_at_id_index"'::regclass`);
    expect(await indexes(c)).toEqual({ orders_created_at_id_index: false });

    const applied = await migrate(orm);
    expect(applied).toContain('Migration20261204120000');
    expect(await indexes(c)).toEqual(Object.fromEntries(LIST_INDEXES.map((i) => [i.name, true])));
    const { rows } = await c.query(`select count(*)::int as n from blocked_order_alerts where customer_id = $1`, [C]);
    expect(rows[0].n).toBe(200);
    expect(await orm.getMigrator().checkMigrationNeeded()).toBe(false);
  } finally {
    await c.end();
    await orm.close();
  }
});
