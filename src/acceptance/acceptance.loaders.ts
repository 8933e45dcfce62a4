import { queryRows, type Statement } from '../db/query';
import { defineLoader, groupBy, indexBy } from '../kernel/loaders';
import { Customer } from '../customers/customer.entity';
import { User } from '../partners/partner.entity';
import { seesAllPartners } from '../auth/viewer';
import { Subscription } from '../transactions/transaction.entity';
import { Acceptance, AcceptanceCorrection } from './acceptance.entity';
import { complianceStatusSql, scopeKey, scopePartnersSql, type ComplianceScope } from './compliance';
import { complianceDirectory } from './compliance.directory';
import { derivedValidSql } from '../kernel/derived';
import type { AcceptanceStatus, ComplianceStatus } from './acceptance.enums';
import { CONTACT_FIELDS } from './acceptance.rules';
import { acceptancesByIds, plainAcceptance, type AcceptanceRow } from './acceptance.queries';
import { primeTemplates } from '../agreements/agreement.loaders';
import { plainTemplate, prefixedTemplateRow, TEMPLATE_COLUMNS } from '../agreements/agreement.queries';
import type { AgreementTemplate } from '../agreements/agreement.entity';

/**
 * Loaders of the acceptance feature. Keys that depend on a compliance scope carry it,
 * so a page of customers asked with one scope costs one statement per loader.
 */
export interface ScopedKey {
  scope: ComplianceScope;
  customerId: string;
}
const scopedCacheKey = (k: ScopedKey) => `${scopeKey(k.scope)}|${k.customerId}`;

/** Batches keys by scope: one statement per distinct scope. */
async function byScope<V>(keys: readonly ScopedKey[], run: (scope: ComplianceScope, customerIds: string[]) => Promise<Map<string, V>>, empty: V): Promise<V[]> {
  const groups = new Map<string, { scope: ComplianceScope; ids: string[] }>();
  for (const k of keys) {
    const g = groups.get(scopeKey(k.scope)) ?? { scope: k.scope, ids: [] };
    g.ids.push(k.customerId);
    groups.set(scopeKey(k.scope), g);
  }
  const results = new Map<string, Map<string, V>>();
  await Promise.all([...groups].map(async ([key, g]) => results.set(key, await run(g.scope, [...new Set(g.ids)]))));
  return keys.map((k) => results.get(scopeKey(k.scope))!.get(k.customerId) ?? empty);
}

/** An acceptance row next to a compliance status (which takes the name `status`); `id` null when there is none. */
type FactsRow = Omit<AcceptanceRow, 'id' | 'status'> & { id: string | null; status: ComplianceStatus; acceptance_status: AcceptanceStatus };

const TEMPLATE_PREFIX = 'template_';

/** What a customers page shows of acceptance, relative to one scope. */
export interface AcceptanceFacts {
  status: ComplianceStatus;
  acceptance: Acceptance | null;
}

/**
 * The compliance status (the same SQL as the customers filter) and the acceptance
 * relative to the scope: the active one, else the latest (e.g. the withdrawn one);
 * when the scope holds several partners there is no single acceptance: null.
 * Both in one statement per scope, since a page usually asks for both.
 */
export const acceptanceFactsOf = defineLoader<ScopedKey, AcceptanceFacts>(
  (ctx, keys) =>
    byScope(
      keys,
      async (scope, ids) => {
        const rows = await queryRows<FactsRow>(ctx.em, factsStatement(scope), [
          scopeKey(scope),
          ...derivedValidSql(complianceDirectory).params,
          ...complianceStatusSql(scope, 'o.id').params,
          ...scopePartnersSql(scope).params,
          ids,
        ]);
        // The acceptance's template comes along, so its `agreement` field needs no statement.
        const templates: AgreementTemplate[] = [];
        const facts = new Map<string, AcceptanceFacts>();
        for (const r of rows) {
          if (r.id !== null) templates.push(plainTemplate(prefixedTemplateRow(r, TEMPLATE_PREFIX)));
          facts.set(r.customer_id, { status: r.status, acceptance: r.id === null ? null : plainAcceptance({ ...r, id: r.id, status: r.acceptance_status }) });
        }
        primeTemplates(ctx, templates);
        return facts;
      },
      { status: 'MISSING' as ComplianceStatus, acceptance: null } as AcceptanceFacts,
    ),
  { cacheKeyFn: scopedCacheKey },
);

/**
 * acceptanceFactsOf's statement. Its text depends on the scope's kind only, so it is put
 * together once per kind (a `Statement`), not on every page. The status is the compliance
 * directory's row for (customer, scope) while the directory is valid (src/acceptance/
 * compliance.directory.ts: the same rule, kept by the writes), else the rule computed here:
 * `coalesce` evaluates the rule only for a customer the directory has no row for (outside
 * the scope, or the directory invalid), and the validity check runs once per statement.
 */
const factsStatement = (scope: ComplianceScope): Statement => ({
  key: `acceptanceFactsOf:${scope.kind}`,
  sql: () => {
    const status = complianceStatusSql(scope, 'o.id');
    const partners = scopePartnersSql(scope);
    const valid = derivedValidSql(complianceDirectory);
    return `select o.id as customer_id,
                   coalesce((select d.status from customer_compliance d where d.customer_id = o.id and d.scope = ? and ${valid.sql}), ${status.sql}) as status,
                   pick.*
             from customers o
             left join lateral (
               select pk.* from customers cc
                 -- The scope's only partner, when it holds exactly one (min = max; not array_agg(distinct),
                 -- whose per-customer sort cost about 1 ms each).
                 join lateral (select min(x.partner_id::text)::uuid as id from (${partners.sql}) x
                               having min(x.partner_id::text) = max(x.partner_id::text)) ps on true
                 join lateral (select a.id, a.partner_id, a.template_id, a.date_agreed, a.contact_first_name, a.contact_last_name,
                                      a.contact_email, a.contact_phone_number, a.on_behalf_of, a.channel, a.status as acceptance_status,
                                      a.confirmed_by_id, a.recorded_at, a.superseded_at, a.withdrawn_at, a.withdrawn_by_id, a.withdrawal_reason,
                                      ${TEMPLATE_COLUMNS('t', TEMPLATE_PREFIX)}
                                 from acceptances a
                                 join agreement_templates t on t.template_id = a.template_id
                                where a.customer_id = cc.id and a.partner_id = ps.id
                                order by (a.status = 'ACTIVE') desc, a.recorded_at desc, a.id limit 1) pk on true
                where cc.id = o.id) pick on true
            where o.id = any(?::uuid[])`;
  },
});

/** Every acceptance of the scope's partners for the customer, newest first. */
export const acceptanceHistoryOf = defineLoader<ScopedKey, Acceptance[]>(
  (ctx, keys) =>
    byScope(
      keys,
      async (scope, ids) => {
        const partners = scopePartnersSql(scope);
        const rows = await queryRows<{ id: string }>(
          ctx.em,
          `select a.id from acceptances a join customers cc on cc.id = a.customer_id
            where a.customer_id = any(?::uuid[]) and a.partner_id in (${partners.sql})`,
          [ids, ...partners.params],
        );
        if (rows.length === 0) return new Map();
        const found = await ctx.em.find(
          Acceptance,
          { id: { $in: rows.map((r) => r.id) } },
          { populate: ['template'], orderBy: { recordedAt: 'desc', id: 'asc' } },
        );
        const grouped = groupBy(ids, found, (a) => a.customer.id);
        return new Map(ids.map((id, i) => [id, grouped[i]]));
      },
      [] as Acceptance[],
    ),
  { cacheKeyFn: scopedCacheKey },
);

/** Acceptances by id (the one an approved submission recorded). */
export const acceptanceById = defineLoader<string, Acceptance | null>(async (ctx, ids) => indexBy(ids, await acceptancesByIds(ctx.em, ids), (a) => a.id));

/** Corrections of each acceptance, oldest first. */
export const correctionsOf = defineLoader<string, AcceptanceCorrection[]>(async (ctx, ids) => {
  const rows = await ctx.em.find(AcceptanceCorrection, { acceptance: { $in: [...ids] } });
  // One correction writes its fields at one instant: within it, in the contact's field order.
  const order = (c: AcceptanceCorrection) => CONTACT_FIELDS.indexOf(c.field as (typeof CONTACT_FIELDS)[number]);
  rows.sort((a, b) => a.correctedAt.getTime() - b.correctedAt.getTime() || order(a) - order(b));
  return groupBy(ids, rows, (c) => c.acceptance.id);
});

/** Subscriptions of each customer the viewer may see: its own as billing partner or as reseller. */
export const subscriptionsOfCustomer = defineLoader<string, Subscription[]>(async (ctx, ids) => {
  const v = ctx.viewer!;
  const where = seesAllPartners(v)
    ? { customer: { $in: [...ids] } }
    : { customer: { $in: [...ids] }, $or: [{ partner: v.partnerId }, { reseller: v.partnerId }] };
  const rows = await ctx.em.find(Subscription, where, { orderBy: { createdAt: 'asc', id: 'asc' } });
  return groupBy(ids, rows, (s) => s.customer.id);
});
