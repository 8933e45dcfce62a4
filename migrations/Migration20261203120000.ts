import { Migration } from '@mikro-orm/migrations';

/**
 * Reconciliation with Partner Center (DESIGN.md section 11, src/reconciliation): the drift it
 * finds, one open row per customer, partner and kind (resolved_at set when a later run no
 * longer finds it), and each partner's last run, whose row is also the run's lease.
 */
export class Migration20261203120000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "acceptance_drift" ("id" uuid not null, "customer_id" uuid not null, "partner_id" uuid not null, "kind" text check ("kind" in ('MISSING_UPSTREAM', 'UNKNOWN_LOCALLY', 'CONTACT_DIFFERS', 'DIRECT_ACCEPTANCE_FOUND')) not null, "detail" text not null, "first_detail" text not null, "acceptance_id" uuid null, "first_detected_at" timestamptz not null, "detected_at" timestamptz not null, "resolved_at" timestamptz null, constraint "acceptance_drift_pkey" primary key ("id"));`);
    this.addSql(`create index "acceptance_drift_customer_id_index" on "acceptance_drift" ("customer_id");`);
    this.addSql(`create index "acceptance_drift_partner_id_first_detected_at_id_index" on "acceptance_drift" ("partner_id", "first_detected_at", "id");`);
    this.addSql(`create unique index "acceptance_drift_one_open" on "acceptance_drift" ("customer_id", "partner_id", "kind") where "resolved_at" is null;`);

    this.addSql(`create table "partner_center_reconciliations" ("partner_id" uuid not null, "started_at" timestamptz not null, "finished_at" timestamptz null, "lease_until" timestamptz not null, "checked" int not null default 0, "failed" int not null default 0, "drift_found" int not null default 0, constraint "partner_center_reconciliations_pkey" primary key ("partner_id"));`);

    this.addSql(`alter table "acceptance_drift" add constraint "acceptance_drift_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "acceptance_drift" add constraint "acceptance_drift_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "partner_center_reconciliations" add constraint "partner_center_reconciliations_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "acceptance_drift" cascade;`);

    this.addSql(`drop table if exists "partner_center_reconciliations" cascade;`);
  }

}
