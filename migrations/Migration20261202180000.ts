import { Migration } from '@mikro-orm/migrations';

/**
 * Every gate decision names the rule it used (DESIGN.md section 10): a stored order
 * records the requirement policy rule in force. Orders stored before stay null.
 */
export class Migration20261202180000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "orders" add column "policy_rule_id" uuid null;`);
    this.addSql(`alter table "orders" add constraint "orders_policy_rule_id_foreign" foreign key ("policy_rule_id") references "acceptance_policy_rules" ("id") on update cascade on delete set null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "orders" drop constraint "orders_policy_rule_id_foreign";`);
    this.addSql(`alter table "orders" drop column "policy_rule_id";`);
  }

}
