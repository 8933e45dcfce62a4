import { Migration } from '@mikro-orm/migrations';

export class Migration20261125032144 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index "acceptance_corrections_corrected_at_index" on "acceptance_corrections" ("corrected_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "acceptance_corrections_corrected_at_index";`);
  }

}
