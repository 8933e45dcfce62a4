import { Migration } from '@mikro-orm/migrations';

/**
 * The requirement policy of DESIGN.md section 10 as data, loaded with its default
 * timeline (PARTNER-CENTER.md section 1): the enforcement dates of section 5 are its
 * first rules, so replaying the founding FAQ's era gives the answers it always gave.
 * Each rule is complete (it restates the types and minimum date it keeps). And the
 * customer's direct acceptance, on the customer. Existing confirmations stay as they are.
 */
export class Migration20261202170000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "acceptance_policy_rules" ("id" uuid not null, "effective_from" date not null, "channel" text check ("channel" in ('DASHBOARD', 'API')) null, "accepted_types" text[] not null, "minimum_date_agreed" date null, "minimum_applies_to" text[] null, "attestation_required" boolean not null default false, "description" text not null, "created_at" timestamptz not null, constraint "acceptance_policy_rules_pkey" primary key ("id"));`);
    this.addSql(`create index "acceptance_policy_rules_effective_from_created_at_index" on "acceptance_policy_rules" ("effective_from", "created_at");`);
    this.addSql(`insert into acceptance_policy_rules (id, effective_from, channel, accepted_types, minimum_date_agreed, minimum_applies_to, attestation_required, description, created_at) values
      (gen_random_uuid(), '2018-11-07', 'DASHBOARD', '{MICROSOFT_CLOUD_AGREEMENT}', null, null, false, 'Cloud Agreement confirmation required for dashboard transactions (founding FAQ)', '2018-11-07T00:00:00Z'),
      (gen_random_uuid(), '2019-03-22', 'API', '{MICROSOFT_CLOUD_AGREEMENT}', null, null, false, 'Cloud Agreement confirmation required for API transactions (founding FAQ)', '2019-03-22T00:00:00Z'),
      (gen_random_uuid(), '2019-10-01', null, '{MICROSOFT_CLOUD_AGREEMENT,MICROSOFT_CUSTOMER_AGREEMENT}', null, null, false, 'The Customer Agreement in production: either agreement satisfies', '2019-10-01T00:00:00Z'),
      (gen_random_uuid(), '2020-02-01', null, '{MICROSOFT_CUSTOMER_AGREEMENT}', null, null, false, 'The Cloud Agreement is no longer accepted: only the Customer Agreement satisfies', '2020-02-01T00:00:00Z'),
      (gen_random_uuid(), '2025-10-07', null, '{MICROSOFT_CUSTOMER_AGREEMENT}', '2023-04-01', '{NEW_PURCHASE,SEAT_CHANGE}', false, 'Acceptances dated before 2023-04-01 must be redone for new purchases and seat changes', '2025-10-07T00:00:00Z'),
      (gen_random_uuid(), '2026-01-05', null, '{MICROSOFT_CUSTOMER_AGREEMENT}', '2023-04-01', '{NEW_PURCHASE,SEAT_CHANGE}', true, 'As before, and new partner confirmations must come from an enhanced attestation', '2026-01-05T00:00:00Z');`);
    this.addSql(`create function acceptance_policy_in_force(on_channel text, on_day date)
  returns setof acceptance_policy_rules
  language sql stable parallel safe
as $$
  select r.* from acceptance_policy_rules r
   where r.effective_from <= on_day and (r.channel is null or r.channel = on_channel)
   order by r.effective_from desc, r.created_at desc
   limit 1
$$;`);
    this.addSql(`alter table "customers" add column "direct_acceptance_type" text check ("direct_acceptance_type" in ('MICROSOFT_CLOUD_AGREEMENT', 'MICROSOFT_CUSTOMER_AGREEMENT')) null, add column "direct_accepted_on" date null, add column "direct_acceptance_source" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "customers" drop column "direct_acceptance_type", drop column "direct_accepted_on", drop column "direct_acceptance_source";`);
    this.addSql(`drop function acceptance_policy_in_force(text, date);`);
    this.addSql(`drop table if exists "acceptance_policy_rules" cascade;`);
  }

}
