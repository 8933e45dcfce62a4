import { Migration } from '@mikro-orm/migrations';

/**
 * Derived tables kept right by the writes (issue 23, src/kernel/derived.ts).
 * - `derived_epochs`: per derived table, the hash of the functions it was rebuilt under and
 *   the days it is valid; a derived table's migration inserts its row (invalid: the gateway
 *   rebuilds it at start-up).
 * - `derived_invalidate()`: the trigger function global writes (templates, policy rules)
 *   call with the derived table's name: the epoch becomes invalid in the writer's transaction.
 */
export class Migration20261204100000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "derived_epochs" ("name" text not null, "body_hash" text null, "valid_from" date not null default '-infinity', "valid_until" date not null default '-infinity', "rebuilt_at" timestamptz null, constraint "derived_epochs_pkey" primary key ("name"));`);
    this.addSql(`create function derived_invalidate() returns trigger language plpgsql as $$
begin
  update derived_epochs set valid_until = '-infinity' where name = any(TG_ARGV);
  return null;
end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists derived_invalidate() cascade;`);
    this.addSql(`drop table if exists "derived_epochs" cascade;`);
  }

}
