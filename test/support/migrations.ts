import { Client } from 'pg';
import { initOrm } from '../../src/db/orm';
import { migrate } from '../../src/db/migrate';
import { entities } from '../../src/features';
import { freshDatabase } from './database';

/**
 * For a migration test: a fresh database migrated up to `release` (a previous release's
 * schema), with an ORM and a client on it. `close` ends both; the caller drops `db`.
 */
export async function previousReleaseDatabase(release: string) {
  const db = await freshDatabase();
  const orm = await initOrm(db.url, entities);
  const c = new Client({ connectionString: db.url });
  await c.connect();
  await migrate(orm, { to: release });
  return { db, orm, c, close: async () => (await c.end(), await orm.close()) };
}

/** Whether each of the named indexes exists and is valid (a failed `create index concurrently` leaves one invalid). */
export async function indexValidity(c: Client, names: readonly string[]): Promise<Record<string, boolean>> {
  const { rows } = await c.query(`select x.relname as name, i.indisvalid as valid from pg_index i join pg_class x on x.oid = i.indexrelid where x.relname = any($1)`, [names]);
  return Object.fromEntries(rows.map((r) => [r.name, r.valid]));
}

/**
 * The rows most migration tests start from, on a previous release's schema (raw SQL: that
 * release's entities may differ from today's): partner `partnerId` (direct bill), its user 'u'
 * with `role`, and a Customer Agreement template `templateId` (kept if one of that id exists).
 */
export async function insertPartnerUserTemplate(
  c: Client,
  opts: { partnerId: string; templateId: string; role?: string; effectiveFrom?: string },
): Promise<void> {
  await c.query(`insert into partners (id, name, tenant_id, type, created_at) values ($1, 'P', 't-p', 'DIRECT_BILL', now())`, [opts.partnerId]);
  await c.query(`insert into users (id, display_name, partner_id, roles, first_seen_at, last_seen_at) values ('u', 'U', $1, $2, now(), now())`, [opts.partnerId, [opts.role ?? 'AGENT']]);
  await c.query(
    `insert into agreement_templates (template_id, type, version, version_rank, country, language, display_uri, effective_from, created_at)
     values ($1, 'MICROSOFT_CUSTOMER_AGREEMENT', 'v1', 1, 'GLOBAL', 'en-US', 'https://example.com/mca', $2, now())
     on conflict do nothing`,
    [opts.templateId, opts.effectiveFrom ?? '2020-01-01'],
  );
}
