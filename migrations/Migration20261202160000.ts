import { Migration } from '@mikro-orm/migrations';

/**
 * The current-template rule of DESIGN.md section 3, once, for every caller (SQL
 * statements call it in place, TypeScript through src/agreements/agreement.queries.ts):
 * the translations of the current version of `agreement_type` for `customer_country` on
 * `on_day`, i.e. the effective templates of the highest rank of that country, or of
 * GLOBAL when the country has none. Which translation to name is the caller's language
 * preference. A single SELECT, STABLE and not STRICT, so the planner inlines it where it
 * is called in FROM (as if its text were written there).
 */
export class Migration20261202160000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create function current_agreement_templates(agreement_type text, customer_country text, on_day date)
  returns setof agreement_templates
  language sql stable parallel safe
as $$
  select t.* from agreement_templates t
   where t.type = agreement_type and t.effective_from <= on_day
     and (t.country, t.version_rank) = (
       select x.country, x.version_rank from agreement_templates x
        where x.type = agreement_type and x.effective_from <= on_day and x.country in (upper(customer_country), 'GLOBAL')
        order by x.country = 'GLOBAL', x.version_rank desc
        limit 1)
$$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function current_agreement_templates(text, text, date);`);
  }

}
