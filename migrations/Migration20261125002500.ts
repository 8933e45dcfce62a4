import { Migration } from '@mikro-orm/migrations';

/** The customer list's order: a page of customers reads an index range instead of sorting them all. */
export class Migration20261125002500 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "customers_company_name_id_index" on "customers" ("company_name", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "customers_company_name_id_index";`);
  }
}
