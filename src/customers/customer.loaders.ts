import { defineLoader, groupBy } from '../server/loaders';
import { CustomerRelationship } from './customer.entity';

/** Every relationship of each customer, resellers populated: two statements per batch. */
export const relationshipsOfCustomer = defineLoader<string, CustomerRelationship[]>(async (ctx, ids) => {
  const relationships = await ctx.em.find(
    CustomerRelationship,
    { customer: { $in: [...ids] } },
    { populate: ['resellers'], orderBy: { createdAt: 'asc', id: 'asc' } },
  );
  return groupBy(ids, relationships, (r) => r.customer.id);
});
