import { defineLoader, indexBy } from '../kernel/loaders';
import { Order } from '../transactions/transaction.entity';

// Lookups by id only, never reading ctx.viewer: subscribers of one delivered alert batch share them.

/** The blocked orders behind alerts. */
export const orderById = defineLoader<string, Order | null>(async (ctx, ids) => {
  const orders = await ctx.em.find(Order, { id: { $in: [...ids] } });
  return indexBy(ids, orders, (o) => o.id);
}, {}, true);
