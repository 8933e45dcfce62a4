import type { EntityManager } from '@mikro-orm/postgresql';
import { decodeCursor, pageSize, SEARCH_COUNT_CAP, TOTAL_COUNT_CAP, type PageStatement, type SqlCondition } from '../common/connection';
import { PartnerType } from '../auth/roles';
import { queryRows } from '../db/query';
import { installAndRebuildDerived, rowsToInsertSql, type DerivedTable } from '../kernel/derived';
import { blockedOrderCounts } from '../alerts/blocked-counts';
import { leastCodeSql, statusOfCodeSql, TODAY } from './compliance';
import { customerSearch, sortNameSql } from '../customers/customer.rules';

/**
 * The compliance directory (issue 23): `customer_compliance`, a customer's status in every
 * scope it can be asked in, kept right by triggers in the writer's transaction, and its
 * striped counts per (scope, status). The status is the one rule of `complianceStatusSql` (its
 * pieces `leastCodeSql` and `statusOfCodeSql`), inlined at start-up into `customer_compliance_refresh`
 * (and the rebuild's statement); the triggers (migrations
 * 20261204100000 and 20261206100000) call `customer_compliance_refresh` once per statement that can change
 * customers' statuses or scopes, with those customers, and invalidate the epoch when templates or policy rules change.
 *
 * Scopes, so that each read's customer set is one scope's rows:
 * - 'all': every customer (callers without a partner, no partnerId);
 * - 'p:<partner>': the customers the partner serves, as billing partner or as reseller on
 *   a relationship (visibleCustomerCondition's set), judged against that partner alone;
 * - 'r:<reseller>': the same set for a reseller partner, judged resellerOf (complianceScope
 *   of a reseller user without partnerId): made for resellers named on a relationship and
 *   for any partner of reseller type that is a billing partner (never, by the service's rules).
 */

/**
 * The directory's rows (customer_id, scope, status, sort_name) of the customers `cc` that
 * `where` keeps, written inline (no function call per row, so no planning per row). Each
 * partner a customer has a 'p:' scope for is judged once by the rule (`leastCodeSql`), in
 * `judged`; 'all' and each 'r:' scope take the least of their billing partners' codes, as
 * `complianceStatusSql` does over `scopePartnersSql`'s partners (the property test in
 * test/acceptance/compliance-directory.test.ts holds the two equal). Judging per scope
 * asked the rule about 4 times per customer at 1M, and read the customer again each time.
 * `rels`: the customer's relationships (one per billing partner: a unique index), each with
 * the resellers it names.
 */
function directoryRowsSql(where: string): string {
  return `select cc.id as customer_id, s.scope, ${statusOfCodeSql('s.code')} as status, ${sortNameSql('cc')} as sort_name
    from customers cc cross join lateral (
      with rels as materialized (
             select r.partner_id, p.type as partner_type,
                    array(select rr.reseller_id from customer_relationship_resellers rr where rr.relationship_id = r.id) as resellers
               from customer_relationships r join partners p on p.id = r.partner_id
              where r.customer_id = cc.id),
           judged as materialized (
             select x.partner_id, x.billing, x.resellers, ${leastCodeSql('select x.partner_id')} as code
               from (select b.partner_id, true as billing, b.resellers from rels b
                     union all
                     select n.reseller_id, false, '{}'::uuid[] from (select distinct unnest(b.resellers) as reseller_id from rels b) n
                      where not exists (select 1 from rels b where b.partner_id = n.reseller_id)) x)
      select 'all' as scope, (select min(j.code) from judged j where j.billing) as code
      union all
      select 'p:' || j.partner_id, j.code from judged j
      union all
      select 'r:' || n.reseller_id, (select min(j.code) from judged j where n.reseller_id = any(j.resellers))
        from (select unnest(b.resellers) as reseller_id from rels b
              union select b.partner_id from rels b where b.partner_type = '${PartnerType.INDIRECT_RESELLER}') n) s
   where ${where}`;
}

/** The functions installed at start-up (src/kernel/derived.ts), generated from the rule. */
export function complianceDirectoryFunctions(): string[] {
  return [
    // `customer_compliance_refresh(customers)`: the directory rows of `customers` recomputed in one
    // statement and the counts moved by the difference; the triggers (Migration20261206100000)
    // call it once per statement with the customers it wrote. Volatile (each statement sees what
    // committed before it): the customers' locks are taken first, in one order for every writer,
    // so two writers of one customer refresh one after the other, the second seeing the
    // first's write; the table lock waits for a rebuild under way. A generic plan: planning
    // anew per call cost more than a small refresh's run (as renewal_facts_refresh).
    // It counts the rows it inserts and the statuses it changes (the rows it deletes are counted by
    // the table's delete trigger, as a customer's cascade is), in (scope, status) order in every writer.
    `create or replace function customer_compliance_refresh(p_customers uuid[]) returns void language plpgsql set plan_cache_mode = force_generic_plan as $$
begin
  if current_setting('consent.derived_rebuild', true) = 'customer_compliance' then return; end if;
  if p_customers is null or cardinality(p_customers) = 0 then return; end if;
  perform pg_advisory_xact_lock(${COMPLIANCE_LOCK}, k.h) from (select distinct hashtext(x::text) as h from unnest(p_customers) x order by 1) k;
  lock table customer_compliance in row exclusive mode;
  with wanted as (${directoryRowsSql('cc.id = any(p_customers)')}),
       old as (select d.customer_id, d.scope, d.status from customer_compliance d where d.customer_id = any(p_customers)),
       gone as (delete from customer_compliance d
                 where d.customer_id = any(p_customers)
                   and not exists (select 1 from wanted w where w.customer_id = d.customer_id and w.scope = d.scope)),
       put as (insert into customer_compliance (customer_id, scope, status, sort_name)
               select w.customer_id, w.scope, w.status, w.sort_name from wanted w
               on conflict (customer_id, scope) do update set status = excluded.status, sort_name = excluded.sort_name
                where (customer_compliance.status, customer_compliance.sort_name) is distinct from (excluded.status, excluded.sort_name))
  insert into customer_compliance_counts as n (scope, status, stripe, n)
  select x.scope, x.status, pg_backend_pid() % 16, sum(x.d)
    from (select o.scope, o.status, -1 as d from old o join wanted w on w.customer_id = o.customer_id and w.scope = o.scope
          union all select w.scope, w.status, 1 from wanted w) x
   group by x.scope, x.status having sum(x.d) <> 0
   order by x.scope, x.status
  on conflict (scope, status, stripe) do update set n = n.n + excluded.n;
end $$`,
  ];
}

/** The rebuild's work_mem (set locally in its transaction). */
const REBUILD_WORK_MEM = '256MB';

/** First key of the per-customer advisory locks of the refresh (the kernel's derived locks use 730211). */
const COMPLIANCE_LOCK = 730_212;

export const complianceDirectory: DerivedTable = {
  name: 'customer_compliance',
  functions: complianceDirectoryFunctions,
  async rebuild(tx) {
    // Writers' refreshes wait (they lock the table first); readers keep reading the old rows.
    await queryRows(tx, 'lock table customer_compliance in exclusive mode');
    // The staging table's hash joins and the sort below in memory (a few hundred MB at 1M customers).
    await queryRows(tx, `set local work_mem = '${REBUILD_WORK_MEM}'`);
    // The rows computed first into a temp table (no WAL, no index), then only the difference
    // written: after an invalidation most statuses are unchanged, so the table's three
    // indexes, its foreign key and the WAL see only the rows that changed (and the table
    // does not double in dead rows); into an empty table (the seeder) every row is new.
    await queryRows(tx, `create temp table customer_compliance_rebuild on commit drop as ${directoryRowsSql('true')}`);
    await queryRows(tx, 'analyze customer_compliance_rebuild');
    await queryRows(
      tx,
      `delete from customer_compliance d
        where not exists (select 1 from customer_compliance_rebuild x where x.customer_id = d.customer_id and x.scope = d.scope)`,
    );
    await queryRows(
      tx,
      `update customer_compliance d set status = x.status, sort_name = x.sort_name
         from customer_compliance_rebuild x
        where x.customer_id = d.customer_id and x.scope = d.scope and (d.status, d.sort_name) is distinct from (x.status, x.sort_name)`,
    );
    // In the order of the (scope, ...) indexes: their pages are filled one after the other, not at random.
    // After the delete and the update, the new rows are those the table lacks: an EXCEPT, hashed
    // (an anti-join was planned as a merge of both sides sorted by text keys, or a probe per row);
    // into an empty table, every row.
    const columns = 'customer_id, scope, status, sort_name';
    const fresh = await rowsToInsertSql(tx, `select ${columns} from customer_compliance_rebuild`, 'customer_compliance', columns);
    await queryRows(
      tx,
      `insert into customer_compliance (customer_id, scope, status, sort_name)
       select x.* from (${fresh}) x order by x.scope, x.sort_name, x.customer_id`,
    );
    await queryRows(tx, 'delete from customer_compliance_counts');
    await queryRows(
      tx,
      `insert into customer_compliance_counts (scope, status, stripe, n)
       select scope, status, 0, count(*) from customer_compliance_rebuild group by scope, status`,
    );
    await queryRows(tx, 'drop table customer_compliance_rebuild');
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
export async function rebuildComplianceDirectory(em: EntityManager, opts?: { force?: boolean }): Promise<void> {
  await installAndRebuildDerived(em, [complianceDirectory, blockedOrderCounts], opts);
}

/**
 * A page of customers (`c.*`, in the list's order: sort name, then id) of one directory
 * scope, optionally of one status, and its totalCount, as one statement of paginateRows'
 * shape (`__sort` the row's sort name for its cursor, `__n`, `__total`): an index range on
 * (scope, status?, sort_name, customer_id). `where` adds conditions on the customer `c` or
 * the directory row `d`; totalCount is exact from the counts when there are none (and no
 * search), else exact up to TOTAL_COUNT_CAP and TOTAL_COUNT_CAP + 1 beyond (with a search,
 * SEARCH_COUNT_CAP). `search` is the Customers search's text (customerSearch): see `searchStatement`.
 */
export function directoryPageStatement(
  page: { scope: string; status: string | null; where: SqlCondition[]; search?: string | null },
  args: { first?: number | null; after?: string | null },
): PageStatement {
  const limit = pageSize(args.first);
  const cursor = args.after ? decodeCursor(args.after, 2) : null;
  const conds: SqlCondition[] = [{ sql: 'd.scope = ?', params: [page.scope] }];
  if (page.status) conds.push({ sql: 'd.status = ?', params: [page.status] });
  conds.push(...page.where);
  if (page.search) return { ...searchStatement(page.scope, conds, page.where.length > 0, customerSearch(page.search), cursor, limit), limit };
  return { ...scanStatement(page, conds, cursor, limit), limit };
}

const and = (conds: SqlCondition[]) => ({ sql: conds.map((c) => `(${c.sql})`).join(' and '), params: conds.flatMap((c) => c.params) });
const CURSOR = ' and (d.sort_name, d.customer_id) > (?, ?)';

/** The directory-order scan: the scope's index range in the list's order, `conds` filtering it. */
function scanStatement(
  page: { scope: string; status: string | null; where: SqlCondition[] },
  conds: SqlCondition[],
  cursor: unknown[] | null,
  limit: number,
): SqlCondition {
  const { sql: where, params } = and(conds);
  const count = page.where.length
    ? {
        sql: `select count(*) as count from (select 1 from customer_compliance d join customers c on c.id = d.customer_id where ${where} limit ${TOTAL_COUNT_CAP + 1}) capped`,
        params,
      }
    : {
        sql: `select coalesce(sum(k.n), 0)::bigint as count from customer_compliance_counts k where k.scope = ?${page.status ? ' and k.status = ?' : ''}`,
        params: page.status ? [page.scope, page.status] : [page.scope],
      };
  const rows = {
    sql: `select c.*, d.sort_name as "__sort", row_number() over (order by d.sort_name, d.customer_id) as "__n"
           from customer_compliance d join customers c on c.id = d.customer_id
          where ${where}${cursor ? CURSOR : ''}
          order by d.sort_name, d.customer_id limit ?`,
    params: [...params, ...(cursor ?? []), limit + 1],
  };
  return {
    sql: `select page.*, total.count as "__total"
       from (${count.sql}) total
       left join lateral (${rows.sql}) page on true
      order by page."__n"`,
    params: [...count.params, ...rows.params],
  };
}

/**
 * The search's page (customerSearch) in the list's order, and its count (exact up to
 * SEARCH_COUNT_CAP, the cap + 1 beyond), from two sets: the customers whose sort name starts
 * with the text, an index range of the scope in page order (the page reads its first rows
 * and stops; the count reads at most the cap + 1 entries), and the customers whose domain
 * is the text or begins with it and a dot, gathered first, all of them (`domained`: a domain
 * is one customer's, so a few rows of the customers' domain index, each side of the OR a
 * range of its own), each probing its directory row by key. Fenced (a materialized CTE): with
 * the values unknown (a generic plan) the planner would otherwise walk the whole scope and
 * test each customer's domain.
 * A customer in both sets counts once: the count's domain side leaves out the names the range
 * counted, the page's sets are merged by `union`. The customers row is joined to the range
 * only when a condition of `where` reads it (`readsCustomer`).
 */
function searchStatement(
  scope: string,
  conds: SqlCondition[],
  readsCustomer: boolean,
  search: ReturnType<typeof customerSearch>,
  cursor: unknown[] | null,
  limit: number,
): SqlCondition {
  const where = and(conds);
  const name = search.name('d.sort_name');
  const domains = search.domains('c');
  const named = (select: string, tail: string, tailParams: unknown[]) => ({
    sql: `select ${select} from customer_compliance d${readsCustomer ? ' join customers c on c.id = d.customer_id' : ''}
           where ${where.sql} and ${name.sql}${tail}`,
    params: [...where.params, ...name.params, ...tailParams],
  });
  const domained = (select: string, tail: string, tailParams: unknown[]) => ({
    sql: `select ${select} from domained m
           cross join lateral (select d.* from customer_compliance d where d.customer_id = m.id and d.scope = ? limit 1) d
           ${readsCustomer ? 'join customers c on c.id = m.id' : ''}
           where ${where.sql}${tail}`,
    params: [scope, ...where.params, ...tailParams],
  });
  const capped = ` limit ${SEARCH_COUNT_CAP + 1}`;
  const countNamed = named('1', capped, []);
  // Disjoint from the names (no customer counted twice, no set of ids to hash).
  const countDomained = domained('1', ` and not ${name.sql}`, name.params);
  const page = (f: typeof named) => f('d.sort_name, d.customer_id', `${cursor ? CURSOR : ''} order by d.sort_name, d.customer_id limit ?`, [...(cursor ?? []), limit + 1]);
  const pageNamed = page(named);
  const pageDomained = page(domained);
  const gather = domains.map((d) => `select c.id from customers c where ${d.sql}`).join(' union ');
  return {
    sql: `with domained as materialized (${gather})
       select page.*, total.count as "__total"
       from (select least(count(*), ${SEARCH_COUNT_CAP + 1}) as count from ((${countNamed.sql}) union all (${countDomained.sql})) matches) total
       left join lateral (
         select c.*, m.sort_name as "__sort", row_number() over (order by m.sort_name, m.customer_id) as "__n"
           from ((${pageNamed.sql}) union (${pageDomained.sql}) order by 1, 2 limit ?) m
           join customers c on c.id = m.customer_id) page on true
      order by page."__n"`,
    params: [...domains.flatMap((d) => d.params), ...countNamed.params, ...countDomained.params, ...pageNamed.params, ...pageDomained.params, limit + 1],
  };
}
