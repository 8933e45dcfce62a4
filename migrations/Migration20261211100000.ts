import { Migration } from '@mikro-orm/migrations';

/** Adds the rows of `rows` (partner_id, open, n) to the counts, in key order (two writers of one partner's counts lock them in the same order). */
const move = (rows: string) => `insert into acceptance_drift_counts as k (partner_id, open, n)
    select d.partner_id, d.open, sum(d.n) from (${rows}) d group by d.partner_id, d.open having sum(d.n) <> 0 order by d.partner_id, d.open
    on conflict (partner_id, open) do update set n = k.n + excluded.n`;

/**
 * The triggers' function: rows leaving (deleted, or as they were before an update) count -1,
 * rows arriving +1. A statement is planned when first run, and a transition table exists only
 * for the events that have it: one statement per event.
 */
const DRIFT_COUNT_FUNCTION = `create or replace function acceptance_drift_counts_move() returns trigger language plpgsql as $fn$
begin
  if tg_op = 'TRUNCATE' then
    delete from acceptance_drift_counts;
  elsif tg_op = 'INSERT' then
    ${move(`select x.partner_id, x.resolved_at is null as open, 1 as n from drift_new x`)};
  elsif tg_op = 'DELETE' then
    ${move(`select o.partner_id, o.resolved_at is null as open, -1 as n from drift_old o`)};
  else
    ${move(`select o.partner_id, o.resolved_at is null as open, -1 as n from drift_old o union all select x.partner_id, x.resolved_at is null, 1 from drift_new x`)};
  end if;
  return null;
end $fn$`;

/**
 * Issue 23: drift rows counted per (billing partner, open), kept by statement triggers in the
 * writer's transaction, so that `acceptanceDrift`'s `totalCount` for a viewer who sees every
 * partner is a sum of a few rows instead of up to 10,001 index entries (1.6 ms at a million
 * customers, 22,923 drift rows; 230 entries at 10,000). Filled from the rows already there,
 * in the same transaction as the triggers, so no write falls between the two.
 */
export class Migration20261211100000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "acceptance_drift_counts" ("partner_id" uuid not null, "open" boolean not null, "n" bigint not null, constraint "acceptance_drift_counts_pkey" primary key ("partner_id", "open"));`);
    this.addSql(DRIFT_COUNT_FUNCTION);
    this.addSql(`create trigger acceptance_drift_counts_insert after insert on acceptance_drift referencing new table as drift_new for each statement execute function acceptance_drift_counts_move();`);
    this.addSql(`create trigger acceptance_drift_counts_update after update on acceptance_drift referencing old table as drift_old new table as drift_new for each statement execute function acceptance_drift_counts_move();`);
    this.addSql(`create trigger acceptance_drift_counts_delete after delete on acceptance_drift referencing old table as drift_old for each statement execute function acceptance_drift_counts_move();`);
    this.addSql(`create trigger acceptance_drift_counts_truncate after truncate on acceptance_drift for each statement execute function acceptance_drift_counts_move();`);
    this.addSql(`insert into acceptance_drift_counts (partner_id, open, n) select partner_id, resolved_at is null, count(*) from acceptance_drift group by 1, 2;`);
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger if exists acceptance_drift_counts_insert on acceptance_drift;');
    this.addSql('drop trigger if exists acceptance_drift_counts_update on acceptance_drift;');
    this.addSql('drop trigger if exists acceptance_drift_counts_delete on acceptance_drift;');
    this.addSql('drop trigger if exists acceptance_drift_counts_truncate on acceptance_drift;');
    this.addSql('drop function if exists acceptance_drift_counts_move();');
    this.addSql('drop table if exists "acceptance_drift_counts";');
  }
}
