import { Client } from 'pg';
import { freshDatabase } from '../support/database';
import { initOrm } from '../../src/db/orm';
import { migrate } from '../../src/db/migrate';
import { entities } from '../../src/features';

/**
 * Migration20261203130000: subscriptions from before new commerce become one-year,
 * annual, auto-renewing; their term started at what is known (the last completed
 * renewal, else the purchase, else the row's creation), their seats added then.
 */

let db: Awaited<ReturnType<typeof freshDatabase>>;
afterAll(() => db?.drop());

it('existing subscriptions migrate as one-year, annual, auto-renewing, their term started at the last renewal or the purchase', async () => {
  db = await freshDatabase();
  const orm = await initOrm(db.url, entities);
  try {
    await orm.getMigrator().up({ to: 'Migration20261203090000' });
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      const P = '00000000-0000-4000-8000-000000000001';
      const C = '00000000-0000-4000-8000-000000000002';
      const [renewed, bought, bare] = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-0000000000a3'];
      await c.query(`insert into partners (id, name, tenant_id, type, created_at) values ($1, 'P', 't-p', 'DIRECT_BILL', now())`, [P]);
      await c.query(`insert into users (id, display_name, partner_id, roles, first_seen_at, last_seen_at) values ('u', 'U', $1, '{AGENT}', now(), now())`, [P]);
      await c.query(
        `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
         values ($1, 't-c', 'C', 'c.example', 'US', 'A', 'B', 'a@example.com', now())`,
        [C],
      );
      for (const [id, seats] of [[renewed, 7], [bought, 3], [bare, 2]] as const) {
        await c.query(`insert into subscriptions (id, customer_id, partner_id, offer_id, seats, renews_on, created_at) values ($1, $2, $3, 'o', $4, '2027-01-01', '2024-05-05T00:00:00Z')`, [id, C, P, seats]);
      }
      const order = (sub: string, kind: string, at: string, outcome = 'COMPLETED') =>
        c.query(
          `insert into orders (id, customer_id, partner_id, kind, channel, outcome, block_reasons, warnings, requested_at, created_at, quantity, subscription_id, placed_by_id, idempotency_key, idempotency_scope, request_hash)
           values (gen_random_uuid(), $1, $2, $3, 'API', $4, '{}', '{}', $5, now(), 1, $6, 'u', gen_random_uuid()::text, 's', 'h')`,
          [C, P, kind, outcome, at, sub],
        );
      await order(renewed, 'NEW_PURCHASE', '2024-01-01T10:00:00Z');
      await order(renewed, 'RENEWAL', '2025-01-01T11:00:00Z');
      await order(renewed, 'AUTO_RENEWAL', '2026-01-01T12:00:00Z');
      await order(renewed, 'RENEWAL', '2026-06-01T12:00:00Z', 'BLOCKED');
      await order(bought, 'NEW_PURCHASE', '2025-09-09T09:00:00Z');
      await order(bought, 'SEAT_CHANGE', '2025-10-10T09:00:00Z');

      // This migration and any after it.
      await migrate(orm);
      const { rows } = await c.query(
        `select id, term_duration, billing_cycle, auto_renew, status, term_started_at, seat_lots from subscriptions order by id`,
      );
      expect(rows.map((r) => ({ ...r, term_started_at: r.term_started_at.toISOString() }))).toEqual([
        { id: renewed, term_duration: 'P1Y', billing_cycle: 'ANNUAL', auto_renew: true, status: 'ACTIVE', term_started_at: '2026-01-01T12:00:00.000Z', seat_lots: [{ seats: 7, addedAt: '2026-01-01T12:00:00.000Z' }] },
        { id: bought, term_duration: 'P1Y', billing_cycle: 'ANNUAL', auto_renew: true, status: 'ACTIVE', term_started_at: '2025-09-09T09:00:00.000Z', seat_lots: [{ seats: 3, addedAt: '2025-09-09T09:00:00.000Z' }] },
        { id: bare, term_duration: 'P1Y', billing_cycle: 'ANNUAL', auto_renew: true, status: 'ACTIVE', term_started_at: '2024-05-05T00:00:00.000Z', seat_lots: [{ seats: 2, addedAt: '2024-05-05T00:00:00.000Z' }] },
      ]);
      expect(await orm.getMigrator().checkMigrationNeeded()).toBe(false);
    } finally {
      await c.end();
    }
  } finally {
    await orm.close();
  }
});
