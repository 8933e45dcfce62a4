import { defineLoader, type LoaderScope } from '../kernel/loaders';
import { scopeKey, scopePartnersSql, type ComplianceScope } from '../acceptance/compliance';
import type { Context } from '../kernel/context';
import { auditEventsSql, maskedValues, type AuditRow } from './audit.sql';
import type { AuditTrailEntry } from './audit.types';
import { queryRows } from '../db/query';

export interface AuditKey {
  scope: ComplianceScope;
  customerId: string;
}

export function toEntry(ctx: Pick<Context, 'viewer'>, row: AuditRow): AuditTrailEntry {
  return {
    at: new Date(row.at),
    event: row.event,
    field: row.field,
    ...maskedValues(ctx.viewer, row),
    note: row.note,
    customerId: row.customer_id,
    partnerId: row.partner_id,
    acceptanceId: row.acceptance_id,
    actorId: row.actor_id,
  };
}

/** The trail of many customers in one statement (per distinct partner scope), oldest first. */
async function trailsOf(ctx: LoaderScope, scope: ComplianceScope, customerIds: string[]): Promise<Map<string, AuditTrailEntry[]>> {
  const partners = scopePartnersSql(scope);
  const rows = await queryRows<AuditRow>(
    ctx.em,
    `with pairs as materialized (
       select cc.id as customer_id, sp.partner_id from customers cc cross join lateral (${partners.sql}) sp where cc.id = any(?::uuid[])
     )
     select e.at, e.event, e.customer_id, e.partner_id, e.acceptance_id, e.actor_id, e.field, e.old_value, e.new_value, e.note
       from (${auditEventsSql()}) e
      order by e.customer_id, e.at, e.rank, e.key`,
    [...partners.params, customerIds],
  );
  const byCustomer = new Map<string, AuditTrailEntry[]>();
  for (const row of rows) {
    const list = byCustomer.get(row.customer_id) ?? [];
    list.push(toEntry(ctx, row));
    byCustomer.set(row.customer_id, list);
  }
  return byCustomer;
}

/** `Customer.auditTrail`: keys of one scope cost one statement together. */
export const auditTrailOf = defineLoader<AuditKey, AuditTrailEntry[]>(
  async (ctx, keys) => {
    const groups = new Map<string, { scope: ComplianceScope; ids: Set<string> }>();
    for (const k of keys) {
      const g = groups.get(scopeKey(k.scope)) ?? { scope: k.scope, ids: new Set<string>() };
      g.ids.add(k.customerId);
      groups.set(scopeKey(k.scope), g);
    }
    const results = new Map<string, Map<string, AuditTrailEntry[]>>();
    await Promise.all([...groups].map(async ([key, g]) => results.set(key, await trailsOf(ctx, g.scope, [...g.ids]))));
    return keys.map((k) => results.get(scopeKey(k.scope))!.get(k.customerId) ?? []);
  },
  { cacheKeyFn: (k) => `${scopeKey(k.scope)}|${k.customerId}` },
);
