import { Migration } from '@mikro-orm/migrations';

export class Migration20261124220130 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "partner_center_connections" ("partner_id" uuid not null, "client_id" text not null, "client_secret_enc" text not null, "refresh_token_enc" text not null, "connected_at" timestamptz not null, "last_token_at" timestamptz null, "last_error" text null, constraint "partner_center_connections_pkey" primary key ("partner_id"));`);

    this.addSql(`create table "acceptance_imports" ("id" uuid not null, "partner_id" uuid not null, "idempotency_key" text null, "file_hash" text null, "imported_by_id" text not null, "result" jsonb null, "created_at" timestamptz not null, constraint "acceptance_imports_pkey" primary key ("id"));`);
    this.addSql(`alter table "acceptance_imports" add constraint "acceptance_imports_partner_id_idempotency_key_unique" unique ("partner_id", "idempotency_key");`);

    this.addSql(`create table "acceptance_syncs" ("acceptance_id" uuid not null, "partner_id" uuid not null, "status" text check ("status" in ('NOT_CONNECTED', 'PENDING', 'SYNCED', 'FAILED', 'NOT_APPLICABLE')) not null, "attempts" int not null default 0, "request_id" uuid null, "correlation_id" text null, "job_id" uuid null, "last_attempt_at" timestamptz null, "next_attempt_at" timestamptz null, "synced_at" timestamptz null, "last_error" text null, "created_at" timestamptz not null, constraint "acceptance_syncs_pkey" primary key ("acceptance_id"));`);
    this.addSql(`create index "acceptance_syncs_partner_id_status_created_at_acce_08d75_index" on "acceptance_syncs" ("partner_id", "status", "created_at", "acceptance_id");`);

    this.addSql(`alter table "partner_center_connections" add constraint "partner_center_connections_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "acceptance_imports" add constraint "acceptance_imports_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "acceptance_imports" add constraint "acceptance_imports_imported_by_id_foreign" foreign key ("imported_by_id") references "users" ("id") on update cascade;`);

    this.addSql(`alter table "acceptance_syncs" add constraint "acceptance_syncs_acceptance_id_foreign" foreign key ("acceptance_id") references "acceptances" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "acceptance_syncs" add constraint "acceptance_syncs_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade on delete cascade;`);

    // Acceptances recorded before the middleware existed wait for their partner to connect.
    this.addSql(`insert into "acceptance_syncs" ("acceptance_id", "partner_id", "status", "request_id", "created_at")
      select a."id", a."partner_id", case when c."cloud" = 'PUBLIC' then 'NOT_CONNECTED' else 'NOT_APPLICABLE' end, gen_random_uuid(), a."recorded_at"
        from "acceptances" a join "customers" c on c."id" = a."customer_id";`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "partner_center_connections" cascade;`);

    this.addSql(`drop table if exists "acceptance_imports" cascade;`);

    this.addSql(`drop table if exists "acceptance_syncs" cascade;`);
  }

}
