import { Migration } from '@mikro-orm/migrations';

/**
 * Partner Center as documented (issue 19): the upstream exchange log, the request budget
 * per partner tenant shared by every instance (rate-limiter-flexible's PostgreSQL table),
 * PAUSED deliveries and connections that need re-authorization, and when each
 * connection's delegated grant was last used (the refresh sweep), and the alert its admins
 * get when it needs re-authorization.
 */
export class Migration20261203100000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "partner_center_exchanges" ("id" bigserial primary key, "partner_id" uuid not null, "customer_id" uuid null, "acceptance_id" uuid null, "attestation_id" uuid null, "at" timestamptz not null, "operation" text not null, "method" text not null, "path" text not null, "request_id" uuid null, "correlation_id" uuid null, "http_status" int null, "code" text null, "outcome" text not null);`);
    this.addSql(`create index "partner_center_exchanges_attestation_id_index" on "partner_center_exchanges" ("attestation_id");`);
    this.addSql(`create index "partner_center_exchanges_acceptance_id_index" on "partner_center_exchanges" ("acceptance_id");`);
    this.addSql(`create index "partner_center_exchanges_partner_id_at_index" on "partner_center_exchanges" ("partner_id", "at");`);

    this.addSql(`create table "partner_center_throttle" ("key" varchar(255) not null, "points" int not null default 0, "expire" bigint null, constraint "partner_center_throttle_pkey" primary key ("key"));`);

    this.addSql(`alter table "partner_center_exchanges" add constraint "partner_center_exchanges_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "acceptance_syncs" drop constraint if exists "acceptance_syncs_status_check";`);

    this.addSql(`alter table "partner_center_connections" add column "delegated_token_at" timestamptz null, add column "reauthorization_required_at" timestamptz null;`);

    this.addSql(`alter table "acceptance_syncs" add constraint "acceptance_syncs_status_check" check("status" in ('NOT_CONNECTED', 'PENDING', 'SYNCED', 'FAILED', 'NOT_APPLICABLE', 'PAUSED'));`);

    this.addSql(`create table "partner_center_connection_alerts" ("id" bigserial primary key, "partner_id" uuid not null, "reseller_id" uuid null, "customer_id" uuid null, "status" text not null, "code" text null, "message" text not null, "created_at" timestamptz not null);`);
    this.addSql(`create index "partner_center_connection_alerts_partner_id_id_index" on "partner_center_connection_alerts" ("partner_id", "id");`);

    this.addSql(`alter table "partner_center_connection_alerts" add constraint "partner_center_connection_alerts_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "partner_center_connection_alerts" add constraint "partner_center_connection_alerts_reseller_id_foreign" foreign key ("reseller_id") references "partners" ("id") on update cascade on delete set null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "partner_center_connection_alerts" cascade;`);

    this.addSql(`drop table if exists "partner_center_exchanges" cascade;`);

    this.addSql(`drop table if exists "partner_center_throttle" cascade;`);

    this.addSql(`alter table "acceptance_syncs" drop constraint if exists "acceptance_syncs_status_check";`);

    this.addSql(`alter table "acceptance_syncs" add constraint "acceptance_syncs_status_check" check("status" in ('NOT_CONNECTED', 'PENDING', 'SYNCED', 'FAILED', 'NOT_APPLICABLE'));`);

    this.addSql(`alter table "partner_center_connections" drop column "delegated_token_at", drop column "reauthorization_required_at";`);
  }

}
