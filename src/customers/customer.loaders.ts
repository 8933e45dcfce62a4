import { queryRows } from '../db/query';
import { defineLoader, groupBy, indexBy } from '../kernel/loaders';
import { primePartners } from '../partners/partner.loaders';
import { plainPartner, PARTNER_COLUMNS, type PartnerRow } from '../partners/partner.queries';
import type { Partner } from '../partners/partner.entity';
import { Customer, type CustomerRelationship } from './customer.entity';

/** One relationship with one of its partners: the billing partner (`reseller` false) or a reseller. */
interface RelationshipPartnerRow extends PartnerRow {
  relationship_id: string;
  customer_id: string;
  billing_partner_id: string;
  relationship_created_at: string;
  reseller: boolean;
}

/**
 * Every relationship of each customer with its billing partner and resellers, in one
 * statement, as read-only plain objects of the entity's shape (`customer.id`,
 * `partner.id`, `resellers.getItems()`); the partners go to `partnerById`, so the
 * `partner` field needs no statement. Managed entities cost most of a page's CPU.
 */
export const relationshipsOfCustomer = defineLoader<string, CustomerRelationship[]>(async (ctx, ids) => {
  const rows = await queryRows<RelationshipPartnerRow>(
    ctx.em,
    `select r.id as relationship_id, r.customer_id, r.partner_id as billing_partner_id, r.created_at as relationship_created_at,
            x.reseller, ${PARTNER_COLUMNS('p')}
       from customer_relationships r
       cross join lateral (
         select r.partner_id as partner_id, false as reseller
         union all
         select rr.reseller_id, true from customer_relationship_resellers rr where rr.relationship_id = r.id
       ) x
       join partners p on p.id = x.partner_id
      where r.customer_id = any(?::uuid[])
      order by r.created_at, r.id, x.reseller, p.name, p.id`,
    [ids],
  );
  const relationships: CustomerRelationship[] = [];
  const partners: Partner[] = [];
  let current: { relationship: CustomerRelationship; resellers: Partner[] } | undefined;
  for (const row of rows) {
    const partner = plainPartner(row);
    partners.push(partner);
    if (current?.relationship.id !== row.relationship_id) {
      const resellers: Partner[] = [];
      const relationship = {
        id: row.relationship_id,
        customer: { id: row.customer_id } as Customer,
        partner: { id: row.billing_partner_id } as Partner,
        createdAt: new Date(row.relationship_created_at),
        resellers: { getItems: () => resellers },
      } as unknown as CustomerRelationship;
      relationships.push(relationship);
      current = { relationship, resellers };
    }
    if (row.reseller) current.resellers.push(partner);
  }
  primePartners(ctx, partners);
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
