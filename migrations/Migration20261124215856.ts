import { Migration } from '@mikro-orm/migrations';

export class Migration20261124215856 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "renewal_risk_alerts" ("id" bigserial primary key, "subscription_id" uuid not null, "customer_id" uuid not null, "partner_id" uuid not null, "reseller_id" uuid null, "renews_on" date not null, "block_reasons" text[] not null, "warnings" text[] not null, "required_template_id" text null, "created_at" timestamptz not null);`);
    this.addSql(`create index "renewal_risk_alerts_customer_id_index" on "renewal_risk_alerts" ("customer_id");`);
    this.addSql(`create index "renewal_risk_alerts_reseller_id_id_index" on "renewal_risk_alerts" ("reseller_id", "id");`);
    this.addSql(`create index "renewal_risk_alerts_partner_id_id_index" on "renewal_risk_alerts" ("partner_id", "id");`);
    this.addSql(`alter table "renewal_risk_alerts" add constraint "renewal_risk_alerts_subscription_id_renews_on_unique" unique ("subscription_id", "renews_on");`);

    this.addSql(`alter table "renewal_risk_alerts" add constraint "renewal_risk_alerts_subscription_id_foreign" foreign key ("subscription_id") references "subscriptions" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "renewal_risk_alerts" add constraint "renewal_risk_alerts_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "renewal_risk_alerts" add constraint "renewal_risk_alerts_partner_id_foreign" foreign key ("partner_id") references "partners" ("id") on update cascade;`);
    this.addSql(`alter table "renewal_risk_alerts" add constraint "renewal_risk_alerts_reseller_id_foreign" foreign key ("reseller_id") references "partners" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "renewal_risk_alerts" add constraint "renewal_risk_alerts_required_template_id_foreign" foreign key ("required_template_id") references "agreement_templates" ("template_id") on update cascade on delete set null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "renewal_risk_alerts" cascade;`);
  }

}
