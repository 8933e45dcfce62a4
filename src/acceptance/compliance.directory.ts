import type { EntityManager } from '@mikro-orm/postgresql';
import { PartnerType } from '../auth/roles';
import { queryRows } from '../db/query';
import { installAndRebuildDerived, type DerivedTable } from '../kernel/derived';
import { blockedOrderCounts } from '../alerts/blocked-counts';
import { complianceStatusSql, type ComplianceScope } from './compliance';

/**
 * The compliance directory (issue 23): `customer_compliance`, a customer's status in every
 * scope it can be asked in, kept right by triggers in the writer's transaction, and its
 * striped counts per (scope, status). The status is `complianceStatusSql` (the one rule),
 * installed at start-up as `customer_compliance_status`; the triggers (migration
 * 20261204100000) call `customer_compliance_refresh` on every write that can change a
 * customer's status or scopes, and invalidate the epoch when templates or policy rules change.
 *
 * Scopes, so that each read's customer set is one scope's rows:
 * - 'all': every customer (callers without a partner, no partnerId);
 * - 'p:<partner>': the customers the partner serves, as billing partner or as reseller on
 *   a relationship (visibleCustomerCondition's set), judged against that partner alone;
 * - 'r:<reseller>': the same set for a reseller partner, judged resellerOf (complianceScope
 *   of a reseller user without partnerId): made for resellers named on a relationship and
 *   for any partner of reseller type that is a billing partner (never, by the service's rules).
 */

/** Today's status of the customer `p_customer` in a scope of `p_kind` ('all', 'p', 'r') naming `p_partner`. */
const KINDS: Record<'all' | 'p' | 'r', (partner: string) => ComplianceScope> = {
  all: () => ({ kind: 'all' }),
  p: (partner) => ({ kind: 'partner', partnerId: partner }),
  r: (partner) => ({ kind: 'resellerOf', resellerId: partner }),
};

/** Stands for the scope's partner while the rule's SQL is generated; replaced by the parameter. */
const PARTNER = 'ffffffff-ffff-4fff-bfff-ffffffffffff';

/** The rule's SQL with its `?` placeholders replaced by the function's parameter `p_partner`. */
function inlined(scope: ComplianceScope): string {
  const { sql, params } = complianceStatusSql(scope, 'p_customer');
  let i = 0;
  const text = sql.replace(/\?/g, () => {
    if (params[i++] !== PARTNER) throw new Error('complianceStatusSql took a parameter the directory cannot inline');
    return 'p_partner';
  });
  if (i !== params.length) throw new Error('complianceStatusSql placeholders and parameters disagree');
  return text;
}

/** The functions installed at start-up (src/kernel/derived.ts), generated from the rule. */
export function complianceDirectoryFunctions(): string[] {
  const status = (Object.keys(KINDS) as (keyof typeof KINDS)[]).map((k) => `when '${k}' then ${inlined(KINDS[k](PARTNER))}`).join('\n      ');
  return [
    `create or replace function customer_compliance_scopes(p_customer uuid) returns table (scope text, kind text, partner uuid)
  language sql stable parallel safe as $$
    select 'all', 'all', null::uuid
    union select 'p:' || r.partner_id, 'p', r.partner_id from customer_relationships r where r.customer_id = p_customer
    union select 'p:' || rr.reseller_id, 'p', rr.reseller_id
            from customer_relationships r join customer_relationship_resellers rr on rr.relationship_id = r.id where r.customer_id = p_customer
    union select 'r:' || rr.reseller_id, 'r', rr.reseller_id
            from customer_relationships r join customer_relationship_resellers rr on rr.relationship_id = r.id where r.customer_id = p_customer
    union select 'r:' || r.partner_id, 'r', r.partner_id
            from customer_relationships r join partners p on p.id = r.partner_id
           where r.customer_id = p_customer and p.type = '${PartnerType.INDIRECT_RESELLER}'
  $$`,
    `create or replace function customer_compliance_status(p_customer uuid, p_kind text, p_partner uuid) returns text
  language sql stable parallel safe as $$
    select case p_kind
      ${status}
    end
  $$`,
    // Volatile (each statement sees what committed before it): the customer's lock is taken
    // first, so two writers of one customer refresh one after the other, the second seeing
    // the first's write; the table lock waits for a rebuild under way.
    `create or replace function customer_compliance_refresh(p_customer uuid) returns void language plpgsql as $$
begin
  if current_setting('consent.derived_rebuild', true) = 'customer_compliance' then return; end if;
  perform pg_advisory_xact_lock(${COMPLIANCE_LOCK}, hashtext(p_customer::text));
  lock table customer_compliance in row exclusive mode;
  delete from customer_compliance d where d.customer_id = p_customer
     and not exists (select 1 from customers c cross join lateral customer_compliance_scopes(c.id) s where c.id = p_customer and s.scope = d.scope);
  insert into customer_compliance (customer_id, scope, status, company_name)
  select c.id, s.scope, customer_compliance_status(c.id, s.kind, s.partner), c.company_name
    from customers c cross join lateral customer_compliance_scopes(c.id) s where c.id = p_customer
  on conflict (customer_id, scope) do update set status = excluded.status, company_name = excluded.company_name
   where (customer_compliance.status, customer_compliance.company_name) is distinct from (excluded.status, excluded.company_name);
end $$`,
  ];
}

/** First key of the per-customer advisory locks of the refresh (the kernel's derived locks use 730211). */
const COMPLIANCE_LOCK = 730_212;

const TODAY = `(now() at time zone 'utc')::date`;

export const complianceDirectory: DerivedTable = {
  name: 'customer_compliance',
  functions: complianceDirectoryFunctions,
  async rebuild(tx) {
    // Writers' refreshes wait (they lock the table first); readers keep reading the old rows.
    await queryRows(tx, 'lock table customer_compliance in exclusive mode');
    await queryRows(tx, 'delete from customer_compliance');
    await queryRows(
      tx,
      `insert into customer_compliance (customer_id, scope, status, company_name)
       select c.id, s.scope, customer_compliance_status(c.id, s.kind, s.partner), c.company_name
         from customers c cross join lateral customer_compliance_scopes(c.id) s`,
    );
    await queryRows(tx, 'delete from customer_compliance_counts');
    await queryRows(
      tx,
      `insert into customer_compliance_counts (scope, status, stripe, n)
       select scope, status, 0, count(*) from customer_compliance group by scope, status`,
    );
  },
  // The next day a template or policy rule takes effect, or a future direct acceptance starts.
  validUntilSql: `select min(d) from (
      select min(effective_from) as d from agreement_templates where effective_from > ${TODAY}
      union all select min(effective_from) from acceptance_policy_rules where effective_from > ${TODAY}
      union all select min(direct_accepted_on) from customers where direct_acceptance_type is not null and direct_accepted_on > ${TODAY}) x`,
};

/**
 * Installs the functions and refills the directory, its counts and the blocked-order counts
 * now (the bench seeder, after COPY with the triggers disabled: `alter table ... disable trigger user`).
 */
export async function rebuildComplianceDirectory(em: EntityManager): Promise<void> {
  await installAndRebuildDerived(em, [complianceDirectory, blockedOrderCounts]);
}
