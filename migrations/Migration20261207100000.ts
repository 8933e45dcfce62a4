import { Migration } from '@mikro-orm/migrations';

/**
 * Renewal counts kept per span of 64 days, cumulatively (issue 23). `renewal_fact_counts`
 * held one row per scope, day and fact set: at 1,000,000 customers nearly every set renews
 * on every day, so the first statement of every partner's `renewalRisks` summed 11,290 rows
 * for a 60-day window (4.8 ms; 1.1 ms at 10,000, where a day holds a fifth of the sets). A
 * row now holds a span of 64 days (`span_start`, days since 2000-01-01 in steps of 64) and
 * `cumulative[i]`: how many renew on the span's first i days. A window's count of a set is
 * two subscripts of the at most two or three spans it overlaps, whatever the days:
 * 568 rows, 0.65 ms at 1M.
 *
 * The helpers are plain SQL objects the generated refresh and rebuild (the body generated at
 * start-up, src/renewals/renewal.derived.queries.ts) call:
 * - `renewal_span_start(date)`: the first day of the date's span;
 * - `renewal_counts_of(pos, n)`: aggregates day counts (pos 0 to 63 in a span) into the
 *   span's cumulative array (adding per day, summing once at the end);
 * - `renewal_counts_add(a, b)`: two cumulative arrays added (a writer's deltas to a row).
 * The table is rebuilt from renewal_facts by the next start-up (epoch invalidated; reads use
 * the live SQL until then), and the refresh gets its placeholder body back, so a write before
 * that start-up only invalidates the epoch instead of writing the old shape.
 */
export class Migration20261207100000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create or replace function renewal_facts_refresh(p_ids uuid[]) returns void language plpgsql as $$
begin
  update derived_epochs set valid_until = '-infinity' where name = 'renewal_facts';
end $$;`);
    this.addSql(`create function renewal_span_start(d date) returns date language sql immutable parallel safe as
$$ select d - (((d - date '2000-01-01') % 64 + 64) % 64) $$;`);
    this.addSql(`create function renewal_counts_put(s int[], pos int, n int) returns int[] language plpgsql immutable parallel safe as $$
begin
  s[pos + 1] := s[pos + 1] + n;
  return s;
end $$;`);
    this.addSql(`create function renewal_counts_cumulate(s int[]) returns int[] language plpgsql immutable parallel safe as $$
begin
  for i in 2..64 loop
    s[i] := s[i] + s[i - 1];
  end loop;
  return s;
end $$;`);
    this.addSql(`create aggregate renewal_counts_of(int, int) (sfunc = renewal_counts_put, stype = int[], finalfunc = renewal_counts_cumulate,
  finalfunc_modify = read_write, initcond = '{${new Array(64).fill(0).join(',')}}');`);
    this.addSql(`create function renewal_counts_add(a int[], b int[]) returns int[] language plpgsql immutable strict parallel safe as $$
begin
  for i in 1..64 loop
    a[i] := a[i] + b[i];
  end loop;
  return a;
end $$;`);
    this.addSql(`drop table "renewal_fact_counts";`);
    this.addSql(`create table "renewal_fact_counts" ("scope" text not null, "span_start" date not null, "fact_key" text not null, "stripe" smallint not null, "cumulative" int[] not null,
  constraint "renewal_fact_counts_pkey" primary key ("scope", "span_start", "fact_key", "stripe"));`);
    this.addSql(`update derived_epochs set valid_until = '-infinity' where name = 'renewal_facts';`);
  }

  override async down(): Promise<void> {
    this.addSql(`create or replace function renewal_facts_refresh(p_ids uuid[]) returns void language plpgsql as $$
begin
  update derived_epochs set valid_until = '-infinity' where name = 'renewal_facts';
end $$;`);
    this.addSql(`drop table "renewal_fact_counts";`);
    this.addSql(`create table "renewal_fact_counts" ("scope" text not null, "renews_on" date not null, "fact_key" text not null, "stripe" smallint not null, "n" int not null, constraint "renewal_fact_counts_pkey" primary key ("scope", "renews_on", "fact_key", "stripe"));`);
    this.addSql(`drop aggregate renewal_counts_of(int, int);`);
    for (const f of ['renewal_counts_add(int[], int[])', 'renewal_counts_cumulate(int[])', 'renewal_counts_put(int[], int, int)', 'renewal_span_start(date)']) this.addSql(`drop function ${f};`);
    this.addSql(`update derived_epochs set valid_until = '-infinity' where name = 'renewal_facts';`);
  }
}
