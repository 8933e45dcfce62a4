import { Migration } from '@mikro-orm/migrations';

/**
 * Renewal facts derived per ACTIVE subscription (issue 23, src/renewals/renewal.derived.queries.ts):
 * - `renewal_facts` (per ACTIVE subscription: day, parties, who sees the customer, fact set), `renewal_fact_sets`,
 *   `renewal_fact_counts` (striped counts per scope, day and fact set);
 * - triggers on every table the renewal's facts read, statement-level with transition tables (a
 *   bulk write refreshes its subscriptions in one call), each finding the subscriptions whose facts
 *   the write may have changed and calling `renewal_facts_refresh(ids)`;
 * - `renewal_facts_refresh` here is a placeholder that only invalidates the epoch: the gateway
 *   installs the body generated from the facts' SQL at start-up and rebuilds the tables
 *   (src/kernel/derived.ts), so reads use the live SQL until then.
 * - on acceptance_policy_rules: a new minimum acceptance date invalidates the epoch (the stored dates are
 *   coarsened to the thresholds there were).
 * The tables start empty and invalid (their `derived_epochs` row).
 */
export class Migration20261204110000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "renewal_facts" ("subscription_id" uuid not null, "renews_on" date not null, "customer_id" uuid not null, "partner_id" uuid not null, "reseller_id" uuid null, "visible_to_partner" boolean not null, "visible_to_reseller" boolean not null, "fact_key" text not null, constraint "renewal_facts_pkey" primary key ("subscription_id"));`);
    this.addSql(`create index "renewal_facts_reseller_id_renews_on_subscription_id_index" on "renewal_facts" ("reseller_id", "renews_on", "subscription_id");`);
    this.addSql(`create index "renewal_facts_partner_id_renews_on_subscription_id_index" on "renewal_facts" ("partner_id", "renews_on", "subscription_id");`);
    this.addSql(`create index "renewal_facts_renews_on_subscription_id_index" on "renewal_facts" ("renews_on", "subscription_id");`);
    this.addSql(`create table "renewal_fact_counts" ("scope" text not null, "renews_on" date not null, "fact_key" text not null, "stripe" smallint not null, "n" int not null, constraint "renewal_fact_counts_pkey" primary key ("scope", "renews_on", "fact_key", "stripe"));`);
    this.addSql(`create table "renewal_fact_sets" ("fact_key" text not null, "country" text not null, "cloud" text not null, "direct_type" text null, "direct_on" text null, "active_rank" int null, "active_type" text null, "active_date" text null, "withdrawn" boolean not null, "resold" boolean not null, "linked" boolean not null, "serving" boolean not null, constraint "renewal_fact_sets_pkey" primary key ("fact_key"));`);
    this.addSql(`insert into "derived_epochs" ("name") values ('renewal_facts') on conflict do nothing;`);

    // Until the gateway installs the generated body: a write only marks the tables for a rebuild.
    this.addSql(`create function renewal_facts_refresh(p_ids uuid[]) returns void language plpgsql as $$
begin
  update derived_epochs set valid_until = '-infinity' where name = 'renewal_facts';
end $$;`);

    // subscriptions: what the window and the counts key on (status, day, parties).
    this.addSql(`create function renewal_facts_on_subscriptions() returns trigger language plpgsql as $$
begin
  if TG_OP = 'INSERT' then
    perform renewal_facts_refresh(array(select n.id from new_rows n where n.status = 'ACTIVE'));
  elsif TG_OP = 'UPDATE' then
    perform renewal_facts_refresh(array(select n.id from new_rows n join old_rows o on o.id = n.id
      where (n.status, n.renews_on, n.customer_id, n.partner_id, n.reseller_id) is distinct from (o.status, o.renews_on, o.customer_id, o.partner_id, o.reseller_id)));
  else
    perform renewal_facts_refresh(array(select o.id from old_rows o where o.status = 'ACTIVE'));
  end if;
  return null;
end $$;`);
    // acceptances: the billing partner's active confirmation and withdrawals, per (customer, partner).
    this.addSql(`create function renewal_facts_on_acceptances() returns trigger language plpgsql as $$
begin
  if TG_OP = 'INSERT' then
    perform renewal_facts_refresh(array(select s.id from subscriptions s where s.status = 'ACTIVE'
      and (s.customer_id, s.partner_id) in (select n.customer_id, n.partner_id from new_rows n)));
  elsif TG_OP = 'UPDATE' then
    perform renewal_facts_refresh(array(select s.id from subscriptions s where s.status = 'ACTIVE'
      and (s.customer_id, s.partner_id) in (
        select x.customer_id, x.partner_id from new_rows n join old_rows o on o.id = n.id
          cross join lateral (values (n.customer_id, n.partner_id), (o.customer_id, o.partner_id)) x(customer_id, partner_id)
         where (n.customer_id, n.partner_id, n.status, n.template_id, n.date_agreed) is distinct from (o.customer_id, o.partner_id, o.status, o.template_id, o.date_agreed))));
  else
    perform renewal_facts_refresh(array(select s.id from subscriptions s where s.status = 'ACTIVE'
      and (s.customer_id, s.partner_id) in (select o.customer_id, o.partner_id from old_rows o)));
  end if;
  return null;
end $$;`);
    // customers: country, cloud and direct acceptance (a new customer has no subscriptions; a deleted one's go with it).
    this.addSql(`create function renewal_facts_on_customers() returns trigger language plpgsql as $$
begin
  perform renewal_facts_refresh(array(select s.id from subscriptions s where s.status = 'ACTIVE' and s.customer_id in (
    select n.id from new_rows n join old_rows o on o.id = n.id
     where (n.country, n.cloud, n.direct_acceptance_type, n.direct_accepted_on) is distinct from (o.country, o.cloud, o.direct_acceptance_type, o.direct_accepted_on))));
  return null;
end $$;`);
    // customer_relationships and their resellers: whether the reseller serves the customer for the billing partner,
    // and which partners' users see the customer (every subscription of the customer).
    this.addSql(`create function renewal_facts_on_relationships() returns trigger language plpgsql as $$
begin
  if TG_OP in ('INSERT', 'UPDATE') then
    perform renewal_facts_refresh(array(select s.id from subscriptions s where s.status = 'ACTIVE' and s.customer_id in (select n.customer_id from new_rows n)));
  end if;
  if TG_OP in ('UPDATE', 'DELETE') then
    perform renewal_facts_refresh(array(select s.id from subscriptions s where s.status = 'ACTIVE' and s.customer_id in (select o.customer_id from old_rows o)));
  end if;
  return null;
end $$;`);
    this.addSql(`create function renewal_facts_on_relationship_resellers() returns trigger language plpgsql as $$
begin
  if TG_OP in ('INSERT', 'UPDATE') then
    perform renewal_facts_refresh(array(select s.id from subscriptions s where s.status = 'ACTIVE' and s.customer_id in (
      select r.customer_id from new_rows n join customer_relationships r on r.id = n.relationship_id)));
  end if;
  if TG_OP in ('UPDATE', 'DELETE') then
    perform renewal_facts_refresh(array(select s.id from subscriptions s where s.status = 'ACTIVE' and s.customer_id in (
      select r.customer_id from old_rows o join customer_relationships r on r.id = o.relationship_id)));
  end if;
  return null;
end $$;`);
    // reseller_links: whether the reseller is linked to the billing partner.
    this.addSql(`create function renewal_facts_on_reseller_links() returns trigger language plpgsql as $$
begin
  if TG_OP in ('INSERT', 'UPDATE') then
    perform renewal_facts_refresh(array(select s.id from new_rows n join subscriptions s on s.reseller_id = n.reseller_id and s.partner_id = n.provider_id where s.status = 'ACTIVE'));
  end if;
  if TG_OP in ('UPDATE', 'DELETE') then
    perform renewal_facts_refresh(array(select s.id from old_rows o join subscriptions s on s.reseller_id = o.reseller_id and s.partner_id = o.provider_id where s.status = 'ACTIVE'));
  end if;
  return null;
end $$;`);
    // agreement_templates: the confirmed template's type and rank (templates are not edited today; if one were, its confirmations' facts change).
    this.addSql(`create function renewal_facts_on_templates() returns trigger language plpgsql as $$
begin
  perform renewal_facts_refresh(array(select s.id from subscriptions s where s.status = 'ACTIVE' and (s.customer_id, s.partner_id) in (
    select a.customer_id, a.partner_id from acceptances a where a.template_id in (
      select n.template_id from new_rows n join old_rows o on o.template_id = n.template_id
       where (n.type, n.version_rank) is distinct from (o.type, o.version_rank)))));
  return null;
end $$;`);

    // acceptance_policy_rules: the facts' dates are stored as the latest threshold on or before them;
    // a threshold no rule had before makes the stored dates too coarse: rebuild.
    this.addSql(`create function renewal_facts_on_policy_rules() returns trigger language plpgsql as $$
begin
  if exists (select 1 from new_rows n where n.minimum_date_agreed is not null and not exists (
               select 1 from acceptance_policy_rules p where p.minimum_date_agreed = n.minimum_date_agreed and p.id not in (select x.id from new_rows x))) then
    update derived_epochs set valid_until = '-infinity' where name = 'renewal_facts';
  end if;
  return null;
end $$;`);

    const statementTriggers: [table: string, fn: string, events: ('insert' | 'update' | 'delete')[]][] = [
      ['subscriptions', 'renewal_facts_on_subscriptions', ['insert', 'update', 'delete']],
      ['acceptances', 'renewal_facts_on_acceptances', ['insert', 'update', 'delete']],
      ['customers', 'renewal_facts_on_customers', ['update']],
      ['customer_relationships', 'renewal_facts_on_relationships', ['insert', 'update', 'delete']],
      ['customer_relationship_resellers', 'renewal_facts_on_relationship_resellers', ['insert', 'update', 'delete']],
      ['reseller_links', 'renewal_facts_on_reseller_links', ['insert', 'update', 'delete']],
      ['agreement_templates', 'renewal_facts_on_templates', ['update']],
      ['acceptance_policy_rules', 'renewal_facts_on_policy_rules', ['insert', 'update']],
    ];
    for (const [table, fn, events] of statementTriggers) {
      for (const event of events) {
        const transition = event === 'insert' ? 'new table as new_rows' : event === 'delete' ? 'old table as old_rows' : 'old table as old_rows new table as new_rows';
        this.addSql(`create trigger "${table}_renewal_facts_${event}" after ${event} on "${table}" referencing ${transition} for each statement execute function ${fn}();`);
      }
    }
  }

  override async down(): Promise<void> {
    for (const fn of ['subscriptions', 'acceptances', 'customers', 'relationships', 'relationship_resellers', 'reseller_links', 'templates', 'policy_rules']) {
      this.addSql(`drop function if exists renewal_facts_on_${fn}() cascade;`);
    }
    this.addSql(`drop function if exists renewal_facts_refresh(uuid[]);`);
    this.addSql(`delete from "derived_epochs" where "name" = 'renewal_facts';`);
    this.addSql(`drop table if exists "renewal_facts" cascade;`);
    this.addSql(`drop table if exists "renewal_fact_counts" cascade;`);
    this.addSql(`drop table if exists "renewal_fact_sets" cascade;`);
  }

}
