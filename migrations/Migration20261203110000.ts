import { Migration } from '@mikro-orm/migrations';

/**
 * Enhanced attestations (DESIGN.md section 11, src/attestations): the attestation with its
 * upstream id, link, signatory and the MS-RequestIds of its create and agreement calls (at
 * most one open per customer and partner), and its status changes (the mailbox of
 * `attestationUpdates`, cursor = bigserial id).
 */
export class Migration20261203110000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "attestations" ("id" uuid not null, "customer_id" uuid not null, "partner_id" uuid not null, "reseller_id" uuid null, "submission_id" uuid null, "requested_by_id" text not null, "status" text check ("status" in ('REQUESTED', 'LINK_ISSUED', 'CUSTOMER_ACCEPTED', 'RECORDED', 'EXPIRED', 'CANCELLED', 'FAILED')) not null default 'REQUESTED', "upstream_id" text null, "acceptance_url" text null, "link_expires_at" timestamptz null, "link_lifetime_minutes" int not null, "company_name" text not null, "country" text not null, "language" text not null, "signatory_first_name" varchar(255) not null, "signatory_last_name" varchar(255) not null, "signatory_email" varchar(255) not null, "signatory_phone_number" varchar(255) null, "last_error" text null, "error_code" text null, "accepted_at" timestamptz null, "create_request_id" uuid not null, "agreement_request_id" uuid null, "acceptance_id" uuid null, "job_id" uuid null, "created_at" timestamptz not null, "recorded_at" timestamptz null, "updated_at" timestamptz not null, constraint "attestations_pkey" primary key ("id"));`);
    this.addSql(`create index "attestations_customer_id_index" on "attestations" ("customer_id");`);
    this.addSql(`create index "attestations_partner_id_created_at_index" on "attestations" ("partner_id", "created_at");`);
    this.addSql(`create unique index "attestations_one_open_per_customer_partner" on "attestations" ("customer_id", "partner_id") where "status" in ('REQUESTED', 'LINK_ISSUED', 'CUSTOMER_ACCEPTED');`);

    this.addSql(`create table "attestation_updates" ("id" bigserial primary key, "attestation_id" uuid not null, "customer_id" uuid not null, "partner_id" uuid not null, "reseller_id" uuid null, "status" text check ("status" in ('REQUESTED', 'LINK_ISSUED', 'CUSTOMER_ACCEPTED', 'RECORDED', 'EXPIRED', 'CANCELLED', 'FAILED')) not null, "last_error" text null, "created_at" timestamptz not null);`);
    this.addSql(`create index "attestation_updates_attestation_id_index" on "attestation_updates" ("attestation_id");`);
    this.addSql(`create index "attestation_updates_customer_id_index" on "attestation_updates" ("customer_id");`);
    this.addSql(`create index "attestation_updates_reseller_id_id_index" on "attestation_updates" ("reseller_id", "id");`);
    this.addSql(`create index "attestation_updates_partner_id_id_index" on "attestation_updates" ("partner_id", "id");`);

    this.addSql(`alter table "attestations" add constraint "attestations_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "attestations" add constraint "attestations_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade;`);
    this.addSql(`alter table "attestations" add constraint "attestations_reseller_id_foreign" foreign key ("reseller_id") references "partners" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "attestations" add constraint "attestations_submission_id_foreign" foreign key ("submission_id") references "acceptance_submissions" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "attestations" add constraint "attestations_requested_by_id_foreign" foreign key ("requested_by_id") references "users" ("id") on update cascade;`);
    this.addSql(`alter table "attestations" add constraint "attestations_acceptance_id_foreign" foreign key ("acceptance_id") references "acceptances" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "attestation_updates" add constraint "attestation_updates_attestation_id_foreign" foreign key ("attestation_id") references "attestations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "attestation_updates" add constraint "attestation_updates_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "attestation_updates" add constraint "attestation_updates_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade;`);
    this.addSql(`alter table "attestation_updates" add constraint "attestation_updates_reseller_id_foreign" foreign key ("reseller_id") references "partners" ("id") on update cascade on delete set null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "attestation_updates" drop constraint "attestation_updates_attestation_id_foreign";`);

    this.addSql(`drop table if exists "attestations" cascade;`);

    this.addSql(`drop table if exists "attestation_updates" cascade;`);
  }

}
