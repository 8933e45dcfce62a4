import { defineLoader, groupBy, indexBy } from '../server/loaders';
import { partnerById } from '../partners/partner.loaders';
import type { Partner } from '../partners/partner.entity';
import { Customer, type CustomerRelationship } from './customer.entity';

interface RelationshipRow {
  id: string;
  customer_id: string;
  partner_id: string;
  created_at: string;
  reseller_ids: string[];
}

/**
 * Every relationship of each customer, as read-only plain objects of the entity's shape
 * (`customer.id`, `partner.id`, `resellers.getItems()`): hydrating managed entities cost
 * most of a customers page's CPU. One statement per batch, plus one (partnerById) for
 * the billing partners and resellers.
 */
export const relationshipsOfCustomer = defineLoader<string, CustomerRelationship[]>(async (ctx, ids) => {
  const rows = await ctx.em.getConnection().execute<RelationshipRow[]>(
    `select r.id, r.customer_id, r.partner_id, r.created_at,
            coalesce((select array_agg(rr.reseller_id) from customer_relationship_resellers rr where rr.relationship_id = r.id), '{}') as reseller_ids
       from customer_relationships r
      where r.customer_id in (?)
      order by r.created_at, r.id`,
    [[...ids]],
  );
  // Billing partners too: the `partner` field then answers from partnerById's cache.
  const partnerIds = [...new Set(rows.flatMap((r) => [r.partner_id, ...r.reseller_ids]))];
  const partners = new Map<string, Partner>();
  if (partnerIds.length) {
    const loaded = await partnerById.of(ctx).loadMany(partnerIds);
    for (const p of loaded) if (p && !(p instanceof Error)) partners.set(p.id, p);
  }
  const relationships = rows.map((r) => {
    const resellers = r.reseller_ids.map((id) => partners.get(id)).filter((p): p is Partner => !!p);
    return {
      id: r.id,
      customer: { id: r.customer_id } as Customer,
      partner: { id: r.partner_id } as Partner,
      createdAt: new Date(r.created_at),
      resellers: { getItems: () => resellers },
    } as unknown as CustomerRelationship;
  });
  return groupBy(ids, relationships, (r) => r.customer.id);
});

/** Customers by id (relations of alerts, orders, submissions); viewer-independent. */
export const customerById = defineLoader<string, Customer | null>(
  async (ctx, ids) => {
    const customers = await ctx.em.find(Customer, { id: { $in: [...ids] } });
    return indexBy(ids, customers, (c) => c.id);
  },
  {},
  true,
);
