import { Migration } from '@mikro-orm/migrations';

/**
 * Derived tables kept right by the writes (issue 23, src/kernel/derived.ts).
 * - `derived_epochs`: per derived table, the hash of the functions it was rebuilt under and
 *   the days it is valid; a derived table's migration inserts its row (invalid: the gateway
 *   rebuilds it at start-up).
 * - `derived_invalidate()`: the trigger function global writes (templates, policy rules)
 *   call with the derived table's name: the epoch becomes invalid in the writer's transaction.
 */
export class Migration20261204100000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "derived_epochs" ("name" text not null, "body_hash" text null, "valid_from" date not null default '-infinity', "valid_until" date not null default '-infinity', "rebuilt_at" timestamptz null, constraint "derived_epochs_pkey" primary key ("name"));`);
    this.addSql(`create function derived_invalidate() returns trigger language plpgsql as $$
begin
  update derived_epochs set valid_until = '-infinity' where name = any(TG_ARGV);
  return null;
end $$;`);
    this.directory();
  }

  /**
   * The compliance directory and the blocked-order counts (src/acceptance/compliance.directory.ts,
   * src/alerts/blocked-counts.ts). The functions the triggers call get their bodies at
   * start-up, generated from the rules in code; until then they only invalidate the epoch,
   * and the first start-up rebuilds the tables (reads use the live SQL meanwhile).
   */
  private directory(): void {
    this.addSql(`create table "customer_compliance" ("customer_id" uuid not null, "scope" text not null, "status" text not null, "company_name" varchar(255) not null, constraint "customer_compliance_pkey" primary key ("customer_id", "scope"));`);
    this.addSql(`create index "customer_compliance_scope_company_name_customer_id_index" on "customer_compliance" ("scope", "company_name", "customer_id");`);
    this.addSql(`create index "customer_compliance_scope_status_company_name_customer_id_index" on "customer_compliance" ("scope", "status", "company_name", "customer_id");`);
    this.addSql(`alter table "customer_compliance" add constraint "customer_compliance_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`create table "customer_compliance_counts" ("scope" text not null, "status" text not null, "stripe" smallint not null, "n" bigint not null, constraint "customer_compliance_counts_pkey" primary key ("scope", "status", "stripe"));`);
    this.addSql(`create table "blocked_reason_counts" ("scope" text not null, "reason" text not null, "stripe" smallint not null, "n" bigint not null, constraint "blocked_reason_counts_pkey" primary key ("scope", "reason", "stripe"));`);
    this.addSql(`create table "blocked_order_counts" ("scope" text not null, "stripe" smallint not null, "n" bigint not null, constraint "blocked_order_counts_pkey" primary key ("scope", "stripe"));`);
    this.addSql(`insert into "derived_epochs" ("name") values ('customer_compliance'), ('blocked_order_counts');`);

    // Placeholders (see above).
    this.addSql(`create function customer_compliance_refresh(p_customer uuid) returns void language sql as $$
  update derived_epochs set valid_until = '-infinity' where name = 'customer_compliance'
$$;`);
    this.addSql(`create function blocked_counts_add(p_partner uuid, p_reseller uuid, p_reasons text[], p_delta int) returns void language sql as $$
  update derived_epochs set valid_until = '-infinity' where name = 'blocked_order_counts'
$$;`);

    // A write that can change a customer's status or scopes refreshes its rows.
    this.addSql(`create function customer_compliance_on_customer() returns trigger language plpgsql as $$
begin
  perform customer_compliance_refresh(coalesce(new.id, old.id));
  -- A direct acceptance dated in the future changes the status on that day.
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

    // Templates and policy rules change every customer's status: the epoch is invalidated, rebuilt outside the request.
    this.addSql(`create trigger customer_compliance_templates after insert or update or delete or truncate on agreement_templates for each statement execute function derived_invalidate('customer_compliance');`);
    this.addSql(`create trigger customer_compliance_policy_rules after insert or update or delete or truncate on acceptance_policy_rules for each statement execute function derived_invalidate('customer_compliance');`);

    // The counts follow the directory row by row (skipped while a rebuild refills both).
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

    this.addSql(`create function blocked_counts_on_alert() returns trigger language plpgsql as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then perform blocked_counts_add(old.partner_id, old.reseller_id, old.reasons, -1); end if;
  if tg_op in ('UPDATE', 'INSERT') then perform blocked_counts_add(new.partner_id, new.reseller_id, new.reasons, 1); end if;
  return null;
end $$;`);
    this.addSql(`create trigger blocked_counts_insert_delete after insert or delete on blocked_order_alerts for each row execute function blocked_counts_on_alert();`);
    this.addSql(`create trigger blocked_counts_update after update of partner_id, reseller_id, reasons on blocked_order_alerts for each row
  when ((old.partner_id, old.reseller_id, old.reasons) is distinct from (new.partner_id, new.reseller_id, new.reasons)) execute function blocked_counts_on_alert();`);
  }

  override async down(): Promise<void> {
    for (const t of ['customers', 'customer_relationships', 'acceptances', 'customer_relationship_resellers', 'agreement_templates', 'acceptance_policy_rules', 'blocked_order_alerts']) {
      this.addSql(`do $$ declare tg record; begin
        for tg in select tgname from pg_trigger where tgrelid = '"${t}"'::regclass and not tgisinternal and (tgname like 'customer_compliance_%' or tgname like 'blocked_counts_%') loop
          execute format('drop trigger %I on "${t}"', tg.tgname);
        end loop; end $$;`);
    }
    for (const f of ['customer_compliance_on_customer()', 'customer_compliance_on_customer_row()', 'customer_compliance_on_reseller()', 'customer_compliance_count()', 'blocked_counts_on_alert()',
      'customer_compliance_refresh(uuid)', 'blocked_counts_add(uuid, uuid, text[], int)']) {
      this.addSql(`drop function if exists ${f} cascade;`);
    }
    this.addSql(`drop table if exists "customer_compliance", "customer_compliance_counts", "blocked_reason_counts", "blocked_order_counts" cascade;`);
    this.addSql(`drop function if exists derived_invalidate() cascade;`);
    this.addSql(`drop table if exists "derived_epochs" cascade;`);
  }

}
