import { queryRows } from '../db/query';
import { defineLoader, groupBy, indexBy } from '../kernel/loaders';
import { primePartners } from '../partners/partner.loaders';
import { plainPartner, PARTNER_COLUMNS, type PartnerRow } from '../partners/partner.queries';
import type { Partner } from '../partners/partner.entity';
import { Customer } from './customer.entity';
import type { RelationshipRecord } from './customer.queries';

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
 * statement, as plain records; the partners go to `partnerById`, so the `partner` field
 * needs no statement. Managed entities cost most of a page's CPU.
 */
export const relationshipsOfCustomer = defineLoader<string, RelationshipRecord[]>(async (ctx, ids) => {
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
  const relationships: RelationshipRecord[] = [];
  const partners: Partner[] = [];
  let current: RelationshipRecord | undefined;
  for (const row of rows) {
    const partner = plainPartner(row);
    partners.push(partner);
    if (current?.id !== row.relationship_id) {
      current = {
        id: row.relationship_id,
        customer: { id: row.customer_id },
        partner: { id: row.billing_partner_id },
        resellers: [],
        createdAt: new Date(row.relationship_created_at),
      };
      relationships.push(current);
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
