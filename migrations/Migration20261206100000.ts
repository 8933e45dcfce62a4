import { Migration } from '@mikro-orm/migrations';

/**
 * The compliance directory refreshed once per statement, for all the customers it wrote
 * (issue 23). Its triggers fired per row: a statement writing 10,000 acceptances (a bulk
 * import's chunk, an import fixture, a migration's backfill) refreshed 10,000 customers one
 * by one, each refresh a planned statement and a counts upsert per directory row (about
 * 1 ms a row: 10 s for the import of a 10,000-line file). The triggers now read their transition
 * tables and call `customer_compliance_refresh(uuid[])` once per statement with the customers
 * whose status or scopes the statement may have changed; that function (body generated at
 * start-up, src/acceptance/compliance.directory.ts) computes their rows in one statement and
 * counts what it inserts and changes; rows deleted (by it or by a customer's cascade) are
 * counted by one statement trigger, so the per-row count triggers go.
 *
 * An UPDATE trigger with transition tables cannot name columns: the functions keep only the
 * rows whose watched columns changed (the columns the row triggers named).
 */
export class Migration20261206100000 extends Migration {

  override async up(): Promise<void> {
    for (const [table, trigger] of [
      ['customers', 'customer_compliance_customer_insert'],
      ['customers', 'customer_compliance_customer_update'],
      ['customer_relationships', 'customer_compliance_relationship'],
      ['acceptances', 'customer_compliance_acceptance'],
      ['customer_relationship_resellers', 'customer_compliance_reseller'],
      ['customer_compliance', 'customer_compliance_count_insert'],
      ['customer_compliance', 'customer_compliance_count_delete'],
      ['customer_compliance', 'customer_compliance_count_update'],
    ] as const) {
      this.addSql(`drop trigger if exists ${trigger} on "${table}";`);
    }
    for (const f of ['customer_compliance_on_customer()', 'customer_compliance_on_customer_row()', 'customer_compliance_on_reseller()', 'customer_compliance_count()', 'customer_compliance_refresh(uuid)']) {
      this.addSql(`drop function if exists ${f};`);
    }

    // Placeholder until the gateway installs the generated body (src/kernel/derived.ts): the
    // body hash changes, so the first start-up rebuilds the directory anyway.
    this.addSql(`create or replace function customer_compliance_refresh(p_customers uuid[]) returns void language sql as $$
  update derived_epochs set valid_until = '-infinity' where name = 'customer_compliance'
$$;`);

    // customers: a new customer, or a change of what the rule reads (cloud, country, name, direct acceptance).
    const watched = ['cloud', 'country', 'company_name', 'direct_acceptance_type', 'direct_accepted_on'];
    const changed = (cols: string[]) => `(${cols.map((c) => `o.${c}`).join(', ')}) is distinct from (${cols.map((c) => `n.${c}`).join(', ')})`;
    this.addSql(`create function customer_compliance_on_customers() returns trigger language plpgsql as $$
declare
  until date;
begin
  if tg_op = 'INSERT' then
    perform customer_compliance_refresh(array(select n.id from new_rows n));
  else
    perform customer_compliance_refresh(array(select n.id from new_rows n join old_rows o on o.id = n.id where ${changed(watched)}));
  end if;
  -- A direct acceptance dated in the future changes the status on that day.
  select min(n.direct_accepted_on) into until from new_rows n
   where n.direct_acceptance_type is not null and n.direct_accepted_on > (now() at time zone 'utc')::date;
  if until is not null then
    update derived_epochs set valid_until = until where name = 'customer_compliance' and valid_until > until;
  end if;
  return null;
end $$;`);

    // Rows naming a customer (relationships, acceptances): the customers of the rows inserted
    // or deleted, and of both sides of an update that changed a watched column.
    const onCustomerRows = (name: string, cols: string[]) => `create function ${name}() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    perform customer_compliance_refresh(array(select distinct n.customer_id from new_rows n));
  elsif tg_op = 'DELETE' then
    perform customer_compliance_refresh(array(select distinct o.customer_id from old_rows o));
  else
    perform customer_compliance_refresh(array(
      select x.customer_id from new_rows n join old_rows o on o.id = n.id
       cross join lateral (values (o.customer_id), (n.customer_id)) x(customer_id)
       where ${changed(cols)}
      group by x.customer_id));
  end if;
  return null;
end $$;`;
    this.addSql(onCustomerRows('customer_compliance_on_relationships', ['customer_id', 'partner_id']));
    this.addSql(onCustomerRows('customer_compliance_on_acceptances', ['customer_id', 'partner_id', 'template_id', 'status', 'date_agreed']));

    // Resellers on a relationship: its customer.
    // Resellers on a relationship: its customer (a statement names only the transition tables its event has).
    const customersOfRelationships = (rows: string) =>
      `customer_compliance_refresh(array(select distinct r.customer_id from customer_relationships r where r.id in (select x.relationship_id from ${rows} x)))`;
    this.addSql(`create function customer_compliance_on_relationship_resellers() returns trigger language plpgsql as $$
begin
  if tg_op in ('INSERT', 'UPDATE') then perform ${customersOfRelationships('new_rows')}; end if;
  if tg_op in ('UPDATE', 'DELETE') then perform ${customersOfRelationships('old_rows')}; end if;
  return null;
end $$;`);

    // A directory row deleted, by the refresh or by a customer's cascade (the foreign key), leaves
    // the counts here; the refresh counts the rows it inserts and the statuses it changes. Skipped
    // while a rebuild refills the table (it recounts).
    this.addSql(`create function customer_compliance_count_deleted() returns trigger language plpgsql as $$
begin
  if current_setting('consent.derived_rebuild', true) = 'customer_compliance' then return null; end if;
  insert into customer_compliance_counts as c (scope, status, stripe, n)
  select o.scope, o.status, pg_backend_pid() % 16, -count(*) from old_rows o group by o.scope, o.status order by o.scope, o.status
  on conflict (scope, status, stripe) do update set n = c.n + excluded.n;
  return null;
end $$;`);
    this.addSql(`create trigger customer_compliance_count_deleted after delete on "customer_compliance" referencing old table as old_rows for each statement execute function customer_compliance_count_deleted();`);

    for (const [table, fn] of [
      ['customers', 'customer_compliance_on_customers'],
      ['customer_relationships', 'customer_compliance_on_relationships'],
      ['acceptances', 'customer_compliance_on_acceptances'],
      ['customer_relationship_resellers', 'customer_compliance_on_relationship_resellers'],
    ] as const) {
      for (const event of table === 'customers' ? ['insert', 'update'] : ['insert', 'update', 'delete']) {
        const transition = event === 'insert' ? 'new table as new_rows' : event === 'delete' ? 'old table as old_rows' : 'old table as old_rows new table as new_rows';
        this.addSql(`create trigger customer_compliance_${event} after ${event} on "${table}" referencing ${transition} for each statement execute function ${fn}();`);
      }
    }
  }

  override async down(): Promise<void> {
    for (const table of ['customers', 'customer_relationships', 'acceptances', 'customer_relationship_resellers']) {
      for (const event of ['insert', 'update', 'delete']) this.addSql(`drop trigger if exists customer_compliance_${event} on "${table}";`);
    }
    this.addSql(`drop trigger if exists customer_compliance_count_deleted on "customer_compliance";`);
    this.addSql(`drop function if exists customer_compliance_count_deleted();`);
    for (const f of ['customers', 'relationships', 'acceptances', 'relationship_resellers']) this.addSql(`drop function if exists customer_compliance_on_${f}();`);
    this.addSql(`drop function if exists customer_compliance_refresh(uuid[]);`);
    // The row triggers of Migration20261204100000 come back with their placeholder bodies; the
    // gateway of that release reinstalls its refresh (its hash differs) and rebuilds.
    this.addSql(`create function customer_compliance_refresh(p_customer uuid) returns void language sql as $$
  update derived_epochs set valid_until = '-infinity' where name = 'customer_compliance'
$$;`);
    this.addSql(`update derived_epochs set body_hash = null, valid_until = '-infinity' where name = 'customer_compliance';`);
    this.addSql(`create function customer_compliance_on_customer() returns trigger language plpgsql as $$
begin
  perform customer_compliance_refresh(coalesce(new.id, old.id));
  if new.direct_acceptance_type is not null and new.direct_accepted_on > (now() at time zone 'utc')::date then
    update derived_epochs set valid_until = new.direct_accepted_on where name = 'customer_compliance' and valid_until > new.direct_accepted_on;
  end if;
  return null;
end $$;`);
    this.addSql(`create trigger customer_compliance_customer_insert after insert on customers for each row execute function customer_compliance_on_customer();`);
    this.addSql(`create trigger customer_compliance_customer_update after update of cloud, country, company_name, direct_acceptance_type, direct_accepted_on on customers for each row
  when ((old.cloud, old.country, old.company_name, old.direct_acceptance_type, old.direct_accepted_on) is distinct from (new.cloud, new.country, new.company_name, new.direct_acceptance_type, new.direct_accepted_on))
  execute function customer_compliance_on_customer();`);
    this.addSql(`create function customer_compliance_on_customer_row() returns trigger language plpgsql as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then perform customer_compliance_refresh(old.customer_id); end if;
  if tg_op in ('UPDATE', 'INSERT') and (tg_op = 'INSERT' or new.customer_id <> old.customer_id) then perform customer_compliance_refresh(new.customer_id); end if;
  return null;
end $$;`);
    this.addSql(`create trigger customer_compliance_relationship after insert or delete or update of customer_id, partner_id on customer_relationships for each row execute function customer_compliance_on_customer_row();`);
    this.addSql(`create trigger customer_compliance_acceptance after insert or delete or update of customer_id, partner_id, template_id, status, date_agreed on acceptances for each row execute function customer_compliance_on_customer_row();`);
    this.addSql(`create function customer_compliance_on_reseller() returns trigger language plpgsql as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then perform customer_compliance_refresh(r.customer_id) from customer_relationships r where r.id = old.relationship_id; end if;
  if tg_op in ('UPDATE', 'INSERT') then perform customer_compliance_refresh(r.customer_id) from customer_relationships r where r.id = new.relationship_id; end if;
  return null;
end $$;`);
    this.addSql(`create trigger customer_compliance_reseller after insert or delete or update on customer_relationship_resellers for each row execute function customer_compliance_on_reseller();`);
    this.addSql(`create function customer_compliance_count() returns trigger language plpgsql as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then
    insert into customer_compliance_counts (scope, status, stripe, n) values (old.scope, old.status, pg_backend_pid() % 16, -1)
    on conflict (scope, status, stripe) do update set n = customer_compliance_counts.n - 1;
  end if;
  if tg_op in ('UPDATE', 'INSERT') then
    insert into customer_compliance_counts (scope, status, stripe, n) values (new.scope, new.status, pg_backend_pid() % 16, 1)
    on conflict (scope, status, stripe) do update set n = customer_compliance_counts.n + 1;
  end if;
  return null;
end $$;`);
    const notRebuilding = `current_setting('consent.derived_rebuild', true) is distinct from 'customer_compliance'`;
    this.addSql(`create trigger customer_compliance_count_insert after insert on customer_compliance for each row when (${notRebuilding}) execute function customer_compliance_count();`);
    this.addSql(`create trigger customer_compliance_count_delete after delete on customer_compliance for each row when (${notRebuilding}) execute function customer_compliance_count();`);
    this.addSql(`create trigger customer_compliance_count_update after update of scope, status on customer_compliance for each row when (old.status is distinct from new.status and ${notRebuilding}) execute function customer_compliance_count();`);
  }

}
