import { Client } from 'pg';
import type { EntityManager } from '@mikro-orm/postgresql';
import { previousReleaseDatabase } from '../support/migrations';
import { migrate } from '../../src/db/migrate';
import { rebuildRenewalFacts, renewalFactsTable, SPAN_DAYS } from '../../src/renewals/renewal.derived.queries';
import { isDerivedValid } from '../../src/kernel/derived';

/**
 * Migration20261207100000 on a database of the previous release: the renewal counts per day
 * become cumulative counts per span of 64 days. The table is rebuilt by the start-up (reads
 * use the live SQL until then); afterwards set-based writes keep every day's count right.
 */

const PREVIOUS_RELEASE = 'Migration20261206100000';
const THIS = 'Migration20261207100000';
const P = '00000000-0000-4000-8000-000000000001';

let db: { drop(): Promise<void> } | undefined;
afterAll(() => db?.drop());

const columnsOf = async (c: Client) =>
  (await c.query<{ c: string }>(`select column_name as c from information_schema.columns where table_name = 'renewal_fact_counts' order by ordinal_position`)).rows.map((r) => r.c);

/** Every partner's counts per day and set, from the spans, against renewal_facts grouped. */
async function agrees(c: Client): Promise<void> {
  const fromSpans = await c.query(
    `select d.renews_on, d.fact_key, sum(d.n)::int as n
       from (select (k.span_start + i - 1)::text as renews_on, k.fact_key, k.cumulative[i] - coalesce(k.cumulative[i - 1], 0) as n
               from renewal_fact_counts k cross join generate_series(1, ${SPAN_DAYS}) i where k.scope = 'all') d
      group by 1, 2 having sum(d.n) <> 0 order by 1, 2`,
  );
  const grouped = await c.query(`select renews_on::text, fact_key, count(*)::int as n from renewal_facts group by 1, 2 order by 1, 2`);
  expect(fromSpans.rows).toEqual(grouped.rows);
}

it('counts per span on a database of the previous release, rebuilt at start-up; set-based writes keep each day right', async () => {
  const previous = await previousReleaseDatabase(PREVIOUS_RELEASE);
  ({ db } = previous);
  const { orm, c } = previous;
  try {
    expect(await columnsOf(c)).toEqual(['scope', 'renews_on', 'fact_key', 'stripe', 'n']);
    // The previous release's data: 30 customers of P, each with an ACTIVE subscription renewing on one of 30 days (three spans).
    await c.query(`insert into partners (id, name, tenant_id, type, created_at) values ($1, 'P', 't-p', 'DIRECT_BILL', now())`, [P]);
    await c.query(
      `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
       select gen_random_uuid(), 't-' || i, 'Company ' || i, 'c' || i || '.example', 'US', 'A', 'B', 'a@example.com', now() from generate_series(1, 30) i`,
    );
    await c.query(`insert into customer_relationships (id, customer_id, partner_id, created_at) select gen_random_uuid(), id, $1, now() from customers`, [P]);
    const subscribe = (where: string, days: string) =>
      c.query(
        `insert into subscriptions (id, customer_id, partner_id, offer_id, seats, renews_on, created_at, term_started_at, seat_lots)
         select gen_random_uuid(), c.id, $1, 'o', 1, current_date + (${days}), now(), now(), '[]' from customers c where ${where}`,
        [P],
      );
    await subscribe('true', `(substr(c.tenant_id, 3)::int * 5)`);
    await c.query(`insert into renewal_fact_counts (scope, renews_on, fact_key, stripe, n) values ('all', current_date, 'k', 0, 1)`);

    expect(await migrate(orm, { to: THIS })).toEqual([THIS]);
    expect(await columnsOf(c)).toEqual(['scope', 'span_start', 'fact_key', 'stripe', 'cumulative']);
    const em = orm.em.fork() as unknown as EntityManager;
    expect(await isDerivedValid(em, renewalFactsTable)).toBe(false);

    // As the gateway's start-up: the generated refresh installed, the tables rebuilt.
    await rebuildRenewalFacts(em);
    expect(await isDerivedValid(em, renewalFactsTable)).toBe(true);
    expect((await c.query(`select count(*)::int as n from renewal_facts`)).rows[0].n).toBe(30);
    await agrees(c);

    // Set-based writes: a second subscription for every customer (many days of a span in one statement), renewals moved, some cancelled.
    await subscribe('true', `(substr(c.tenant_id, 3)::int * 3 + 1)`);
    await c.query(`update subscriptions set renews_on = renews_on + 40 where customer_id in (select id from customers where tenant_id ~ '[13579]$')`);
    await c.query(`update subscriptions set status = 'CANCELLED', cancelled_at = now() where customer_id in (select id from customers where tenant_id ~ '[26]$')`);
    await agrees(c);
    expect((await c.query(`select count(distinct span_start)::int as n from renewal_fact_counts where scope = 'all'`)).rows[0].n).toBeGreaterThan(2);
    expect(await isDerivedValid(em, renewalFactsTable)).toBe(true);

    // Down and up again.
    await orm.getMigrator().down({ migrations: [THIS] });
    expect(await columnsOf(c)).toEqual(['scope', 'renews_on', 'fact_key', 'stripe', 'n']);
    expect(await migrate(orm, { to: THIS })).toEqual([THIS]);
    await rebuildRenewalFacts(em);
    await agrees(c);
  } finally {
    await previous.close();
  }
});
