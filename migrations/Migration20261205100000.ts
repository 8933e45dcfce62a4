import { Migration } from '@mikro-orm/migrations';

/**
 * The compliance directory is invalidated only by a statement that wrote a template or a
 * policy rule (issue 23). Its triggers fired once per statement, so an `insert ... where not
 * exists` or `on conflict do nothing` that found its row, or an update matching nothing,
 * invalidated the directory: at a million customers that is a rebuild of minutes for nothing.
 * The triggers now look at their transition tables; a truncate still invalidates.
 */
const TABLES = [
  ['agreement_templates', 'customer_compliance_templates'],
  ['acceptance_policy_rules', 'customer_compliance_policy_rules'],
] as const;

export class Migration20261205100000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create function derived_invalidate_on_rows() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    if not exists (select 1 from old_rows) then return null; end if;
  elsif not exists (select 1 from new_rows) then
    return null;
  end if;
  update derived_epochs set valid_until = '-infinity' where name = any(TG_ARGV);
  return null;
end $$;`);
    for (const [table, trigger] of TABLES) {
      this.addSql(`drop trigger if exists ${trigger} on "${table}";`);
      this.addSql(`create trigger ${trigger}_insert after insert on "${table}" referencing new table as new_rows
  for each statement execute function derived_invalidate_on_rows('customer_compliance');`);
      this.addSql(`create trigger ${trigger}_update after update on "${table}" referencing old table as old_rows new table as new_rows
  for each statement execute function derived_invalidate_on_rows('customer_compliance');`);
      this.addSql(`create trigger ${trigger}_delete after delete on "${table}" referencing old table as old_rows
  for each statement execute function derived_invalidate_on_rows('customer_compliance');`);
      this.addSql(`create trigger ${trigger}_truncate after truncate on "${table}" for each statement execute function derived_invalidate('customer_compliance');`);
    }
  }

  override async down(): Promise<void> {
    for (const [table, trigger] of TABLES) {
      for (const event of ['insert', 'update', 'delete', 'truncate']) this.addSql(`drop trigger if exists ${trigger}_${event} on "${table}";`);
      this.addSql(`create trigger ${trigger} after insert or update or delete or truncate on "${table}" for each statement execute function derived_invalidate('customer_compliance');`);
    }
    this.addSql(`drop function if exists derived_invalidate_on_rows();`);
  }

}
