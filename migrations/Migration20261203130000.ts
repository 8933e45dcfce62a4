import { Migration } from '@mikro-orm/migrations';

/**
 * Subscriptions under new commerce (DESIGN.md section 12, issue 22): term, billing,
 * auto-renew, the business time the current term started (the cancellation window's
 * start) and the seats by when they were added (each with its own window); CANCELLATION
 * orders; ENDING and EXPIRED; and the subscription events of the audit trail.
 *
 * Existing subscriptions become what they were before new commerce: one year, billed
 * annually, auto-renewing. Their term started at what is known: the business time of
 * their last completed renewal, else of their purchase, else when they were created;
 * their seats count as added then.
 */
export class Migration20261203130000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "subscription_events" ("id" uuid not null, "subscription_id" uuid not null, "customer_id" uuid not null, "partner_id" uuid not null, "event" text not null, "at" timestamptz not null, "actor_id" text null, "note" text null, constraint "subscription_events_pkey" primary key ("id"));`);
    this.addSql(`create index "subscription_events_customer_id_partner_id_index" on "subscription_events" ("customer_id", "partner_id");`);

    this.addSql(`alter table "subscription_events" add constraint "subscription_events_subscription_id_foreign" foreign key ("subscription_id") references "subscriptions" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "subscription_events" add constraint "subscription_events_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "subscription_events" add constraint "subscription_events_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade;`);
    this.addSql(`alter table "subscription_events" add constraint "subscription_events_actor_id_foreign" foreign key ("actor_id") references "users" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "subscriptions" drop constraint if exists "subscriptions_status_check";`);
    this.addSql(`alter table "orders" drop constraint if exists "orders_kind_check";`);

    this.addSql(`alter table "subscriptions" add column "term_duration" text check ("term_duration" in ('P1M', 'P1Y', 'P3Y')) not null default 'P1Y', add column "billing_cycle" text check ("billing_cycle" in ('MONTHLY', 'ANNUAL', 'TRIENNIAL')) not null default 'ANNUAL', add column "auto_renew" boolean not null default true, add column "term_started_at" timestamptz null, add column "seat_lots" jsonb not null default '[]';`);
    // What is known: the last completed renewal, else the purchase, else the row's creation.
    this.addSql(`update "subscriptions" s set "term_started_at" = coalesce(
        (select max(o.requested_at) from orders o where o.subscription_id = s.id and o.outcome = 'COMPLETED' and o.kind in ('RENEWAL', 'AUTO_RENEWAL')),
        (select min(o.requested_at) from orders o where o.subscription_id = s.id and o.outcome = 'COMPLETED' and o.kind = 'NEW_PURCHASE'),
        s.created_at);`);
    this.addSql(`update "subscriptions" set "seat_lots" = jsonb_build_array(jsonb_build_object('seats', "seats", 'addedAt', to_char("term_started_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));`);
    this.addSql(`alter table "subscriptions" alter column "term_started_at" set not null;`);
    this.addSql(`alter table "subscriptions" add constraint "subscriptions_status_check" check("status" in ('ACTIVE', 'CANCELLED', 'ENDING', 'EXPIRED'));`);

    this.addSql(`alter table "orders" add constraint "orders_kind_check" check("kind" in ('NEW_PURCHASE', 'SEAT_CHANGE', 'RENEWAL', 'AUTO_RENEWAL', 'CANCELLATION'));`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "subscription_events" cascade;`);
    this.addSql(`alter table "orders" drop constraint if exists "orders_kind_check";`);
    this.addSql(`alter table "subscriptions" drop constraint if exists "subscriptions_status_check";`);
    this.addSql(`alter table "orders" add constraint "orders_kind_check" check("kind" in ('NEW_PURCHASE', 'SEAT_CHANGE', 'RENEWAL', 'AUTO_RENEWAL'));`);
    this.addSql(`alter table "subscriptions" drop column "term_duration", drop column "billing_cycle", drop column "auto_renew", drop column "term_started_at", drop column "seat_lots";`);
    this.addSql(`alter table "subscriptions" add constraint "subscriptions_status_check" check("status" in ('ACTIVE', 'CANCELLED'));`);
  }

}
