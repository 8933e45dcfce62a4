import { Migration } from '@mikro-orm/migrations';

export class Migration20261124213414 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "agreement_templates" ("template_id" text not null, "type" text check ("type" in ('MICROSOFT_CLOUD_AGREEMENT', 'MICROSOFT_CUSTOMER_AGREEMENT')) not null, "version" varchar(255) not null, "version_rank" int not null, "country" varchar(255) not null, "language" varchar(255) not null, "display_uri" text not null, "effective_from" date not null, "created_at" timestamptz not null, constraint "agreement_templates_pkey" primary key ("template_id"));`);
    this.addSql(`create index "agreement_templates_type_country_version_rank_index" on "agreement_templates" ("type", "country", "version_rank");`);

    this.addSql(`create table "customers" ("id" uuid not null, "tenant_id" varchar(255) not null, "company_name" varchar(255) not null, "domain" varchar(255) not null, "country" varchar(2) not null, "cloud" text check ("cloud" in ('PUBLIC', 'US_GOVERNMENT', 'GERMANY', 'CHINA')) not null default 'PUBLIC', "contact_first_name" varchar(255) not null, "contact_last_name" varchar(255) not null, "contact_email" varchar(255) not null, "contact_phone_number" varchar(255) null, "created_at" timestamptz not null, constraint "customers_pkey" primary key ("id"));`);
    this.addSql(`alter table "customers" add constraint "customers_tenant_id_unique" unique ("tenant_id");`);
    this.addSql(`create index "customers_country_index" on "customers" ("country");`);

    this.addSql(`create table "partners" ("id" uuid not null, "name" varchar(255) not null, "tenant_id" varchar(255) not null, "type" text check ("type" in ('DIRECT_BILL', 'INDIRECT_PROVIDER', 'INDIRECT_RESELLER')) not null, "created_at" timestamptz not null, constraint "partners_pkey" primary key ("id"));`);
    this.addSql(`alter table "partners" add constraint "partners_tenant_id_unique" unique ("tenant_id");`);

    this.addSql(`create table "customer_relationships" ("id" uuid not null, "customer_id" uuid not null, "partner_id" uuid not null, "created_at" timestamptz not null, constraint "customer_relationships_pkey" primary key ("id"));`);
    this.addSql(`create index "customer_relationships_partner_id_index" on "customer_relationships" ("partner_id");`);
    this.addSql(`alter table "customer_relationships" add constraint "customer_relationships_customer_id_partner_id_unique" unique ("customer_id", "partner_id");`);

    this.addSql(`create table "customer_relationship_resellers" ("relationship_id" uuid not null, "reseller_id" uuid not null, constraint "customer_relationship_resellers_pkey" primary key ("relationship_id", "reseller_id"));`);

    this.addSql(`create table "reseller_links" ("id" uuid not null, "reseller_id" uuid not null, "provider_id" uuid not null, "created_at" timestamptz not null, constraint "reseller_links_pkey" primary key ("id"));`);
    this.addSql(`create index "reseller_links_provider_id_index" on "reseller_links" ("provider_id");`);
    this.addSql(`alter table "reseller_links" add constraint "reseller_links_reseller_id_provider_id_unique" unique ("reseller_id", "provider_id");`);

    this.addSql(`create table "gateway_settings" ("key" text not null, "value" text not null, "updated_at" timestamptz not null, constraint "gateway_settings_pkey" primary key ("key"));`);

    this.addSql(`create table "subscriptions" ("id" uuid not null, "customer_id" uuid not null, "partner_id" uuid not null, "reseller_id" uuid null, "offer_id" varchar(255) not null, "seats" int not null, "status" text check ("status" in ('ACTIVE', 'CANCELLED')) not null default 'ACTIVE', "renews_on" date not null, "created_at" timestamptz not null, "cancelled_at" timestamptz null, constraint "subscriptions_pkey" primary key ("id"));`);
    this.addSql(`create index "subscriptions_renews_on_index" on "subscriptions" ("renews_on");`);
    this.addSql(`create index "subscriptions_customer_id_partner_id_index" on "subscriptions" ("customer_id", "partner_id");`);

    this.addSql(`create table "users" ("id" text not null, "display_name" varchar(255) not null, "partner_id" uuid null, "roles" text[] not null, "first_seen_at" timestamptz not null, "last_seen_at" timestamptz not null, constraint "users_pkey" primary key ("id"));`);

    this.addSql(`create table "orders" ("id" uuid not null, "customer_id" uuid not null, "partner_id" uuid not null, "reseller_id" uuid null, "kind" text check ("kind" in ('NEW_PURCHASE', 'SEAT_CHANGE', 'RENEWAL', 'AUTO_RENEWAL')) not null, "channel" text check ("channel" in ('DASHBOARD', 'API')) not null, "outcome" text check ("outcome" in ('COMPLETED', 'BLOCKED')) not null, "block_reasons" text[] not null, "warnings" text[] not null, "requested_at" timestamptz not null, "created_at" timestamptz not null, "offer_id" varchar(255) null, "quantity" int not null, "subscription_id" uuid null, "placed_by_id" text not null, "idempotency_key" varchar(255) not null, "idempotency_scope" varchar(255) not null, "request_hash" varchar(255) not null, constraint "orders_pkey" primary key ("id"));`);
    this.addSql(`create index "orders_reseller_id_index" on "orders" ("reseller_id");`);
    this.addSql(`create index "orders_partner_id_created_at_index" on "orders" ("partner_id", "created_at");`);
    this.addSql(`create index "orders_customer_id_partner_id_outcome_index" on "orders" ("customer_id", "partner_id", "outcome");`);
    this.addSql(`alter table "orders" add constraint "orders_idempotency_scope_idempotency_key_unique" unique ("idempotency_scope", "idempotency_key");`);

    this.addSql(`create table "blocked_order_alerts" ("id" bigserial primary key, "order_id" uuid not null, "customer_id" uuid not null, "partner_id" uuid not null, "reseller_id" uuid null, "reasons" text[] not null, "created_at" timestamptz not null, "acknowledged_at" timestamptz null, "acknowledged_by_id" text null);`);
    this.addSql(`alter table "blocked_order_alerts" add constraint "blocked_order_alerts_order_id_unique" unique ("order_id");`);
    this.addSql(`create index "blocked_order_alerts_customer_id_index" on "blocked_order_alerts" ("customer_id");`);
    this.addSql(`create index "blocked_order_alerts_reseller_id_id_index" on "blocked_order_alerts" ("reseller_id", "id");`);
    this.addSql(`create index "blocked_order_alerts_partner_id_id_index" on "blocked_order_alerts" ("partner_id", "id");`);

    this.addSql(`create table "acceptances" ("id" uuid not null, "customer_id" uuid not null, "partner_id" uuid not null, "template_id" text not null, "date_agreed" date not null, "contact_first_name" varchar(255) not null, "contact_last_name" varchar(255) not null, "contact_email" varchar(255) not null, "contact_phone_number" varchar(255) null, "on_behalf_of" text null, "channel" text check ("channel" in ('DASHBOARD', 'API')) not null default 'API', "status" text check ("status" in ('ACTIVE', 'SUPERSEDED', 'WITHDRAWN')) not null default 'ACTIVE', "confirmed_by_id" text not null, "recorded_at" timestamptz not null, "superseded_at" timestamptz null, "withdrawn_at" timestamptz null, "withdrawn_by_id" text null, "withdrawal_reason" text null, constraint "acceptances_pkey" primary key ("id"));`);
    this.addSql(`create index "acceptances_partner_id_index" on "acceptances" ("partner_id");`);
    this.addSql(`create index "acceptances_customer_id_partner_id_recorded_at_index" on "acceptances" ("customer_id", "partner_id", "recorded_at");`);
    this.addSql(`create unique index "acceptances_one_active_per_customer_partner" on "acceptances" ("customer_id", "partner_id") where "status" = 'ACTIVE';`);

    this.addSql(`create table "acceptance_submissions" ("id" uuid not null, "customer_id" uuid not null, "provider_id" uuid not null, "reseller_id" uuid not null, "template_id" text not null, "date_agreed" date not null, "contact_first_name" varchar(255) not null, "contact_last_name" varchar(255) not null, "contact_email" varchar(255) not null, "contact_phone_number" varchar(255) null, "status" text check ("status" in ('PENDING', 'APPROVED', 'REJECTED')) not null default 'PENDING', "submitted_by_id" text not null, "submitted_at" timestamptz not null, "reviewed_by_id" text null, "reviewed_at" timestamptz null, "review_note" text null, "acceptance_id" uuid null, constraint "acceptance_submissions_pkey" primary key ("id"));`);
    this.addSql(`create index "acceptance_submissions_reseller_id_index" on "acceptance_submissions" ("reseller_id");`);
    this.addSql(`create index "acceptance_submissions_provider_id_status_index" on "acceptance_submissions" ("provider_id", "status");`);

    this.addSql(`create table "acceptance_corrections" ("id" uuid not null, "acceptance_id" uuid not null, "corrected_by_id" text not null, "corrected_at" timestamptz not null, "field" varchar(255) not null, "old_value" text null, "new_value" text null, constraint "acceptance_corrections_pkey" primary key ("id"));`);
    this.addSql(`create index "acceptance_corrections_acceptance_id_index" on "acceptance_corrections" ("acceptance_id");`);

    this.addSql(`alter table "customer_relationships" add constraint "customer_relationships_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "customer_relationships" add constraint "customer_relationships_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade;`);

    this.addSql(`alter table "customer_relationship_resellers" add constraint "customer_relationship_resellers_relationship_id_foreign" foreign key ("relationship_id") references "customer_relationships" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "customer_relationship_resellers" add constraint "customer_relationship_resellers_reseller_id_foreign" foreign key ("reseller_id") references "partners" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "reseller_links" add constraint "reseller_links_reseller_id_foreign" foreign key ("reseller_id") references "partners" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "reseller_links" add constraint "reseller_links_provider_id_foreign" foreign key ("provider_id") references "partners" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "subscriptions" add constraint "subscriptions_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "subscriptions" add constraint "subscriptions_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade;`);
    this.addSql(`alter table "subscriptions" add constraint "subscriptions_reseller_id_foreign" foreign key ("reseller_id") references "partners" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "users" add constraint "users_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "orders" add constraint "orders_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "orders" add constraint "orders_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade;`);
    this.addSql(`alter table "orders" add constraint "orders_reseller_id_foreign" foreign key ("reseller_id") references "partners" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "orders" add constraint "orders_subscription_id_foreign" foreign key ("subscription_id") references "subscriptions" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "orders" add constraint "orders_placed_by_id_foreign" foreign key ("placed_by_id") references "users" ("id") on update cascade;`);

    this.addSql(`alter table "blocked_order_alerts" add constraint "blocked_order_alerts_order_id_foreign" foreign key ("order_id") references "orders" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "blocked_order_alerts" add constraint "blocked_order_alerts_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "blocked_order_alerts" add constraint "blocked_order_alerts_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade;`);
    this.addSql(`alter table "blocked_order_alerts" add constraint "blocked_order_alerts_reseller_id_foreign" foreign key ("reseller_id") references "partners" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "blocked_order_alerts" add constraint "blocked_order_alerts_acknowledged_by_id_foreign" foreign key ("acknowledged_by_id") references "users" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "acceptances" add constraint "acceptances_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "acceptances" add constraint "acceptances_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade;`);
    this.addSql(`alter table "acceptances" add constraint "acceptances_template_id_foreign" foreign key ("template_id") references "agreement_templates" ("template_id") on update cascade;`);
    this.addSql(`alter table "acceptances" add constraint "acceptances_confirmed_by_id_foreign" foreign key ("confirmed_by_id") references "users" ("id") on update cascade;`);
    this.addSql(`alter table "acceptances" add constraint "acceptances_withdrawn_by_id_foreign" foreign key ("withdrawn_by_id") references "users" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "acceptance_submissions" add constraint "acceptance_submissions_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "acceptance_submissions" add constraint "acceptance_submissions_provider_id_foreign" foreign key ("provider_id") references "partners" ("id") on update cascade;`);
    this.addSql(`alter table "acceptance_submissions" add constraint "acceptance_submissions_reseller_id_foreign" foreign key ("reseller_id") references "partners" ("id") on update cascade;`);
    this.addSql(`alter table "acceptance_submissions" add constraint "acceptance_submissions_template_id_foreign" foreign key ("template_id") references "agreement_templates" ("template_id") on update cascade;`);
    this.addSql(`alter table "acceptance_submissions" add constraint "acceptance_submissions_submitted_by_id_foreign" foreign key ("submitted_by_id") references "users" ("id") on update cascade;`);
    this.addSql(`alter table "acceptance_submissions" add constraint "acceptance_submissions_reviewed_by_id_foreign" foreign key ("reviewed_by_id") references "users" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "acceptance_submissions" add constraint "acceptance_submissions_acceptance_id_foreign" foreign key ("acceptance_id") references "acceptances" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "acceptance_corrections" add constraint "acceptance_corrections_acceptance_id_foreign" foreign key ("acceptance_id") references "acceptances" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "acceptance_corrections" add constraint "acceptance_corrections_corrected_by_id_foreign" foreign key ("corrected_by_id") references "users" ("id") on update cascade;`);
  }

}
