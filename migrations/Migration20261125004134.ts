import { Migration } from '@mikro-orm/migrations';

export class Migration20261125004134 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index "subscriptions_reseller_id_renews_on_index" on "subscriptions" ("reseller_id", "renews_on");`);
    this.addSql(`create index "subscriptions_partner_id_renews_on_index" on "subscriptions" ("partner_id", "renews_on");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "subscriptions_reseller_id_renews_on_index";`);
    this.addSql(`drop index "subscriptions_partner_id_renews_on_index";`);
  }

}
