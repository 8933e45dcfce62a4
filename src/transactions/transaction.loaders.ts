import { defineLoader, indexBy } from '../kernel/loaders';
import { Subscription } from './transaction.entity';

/** Subscriptions by id (the subscription of an order). */
export const subscriptionById = defineLoader<string, Subscription | null>(async (ctx, ids) => {
  const rows = await ctx.em.find(Subscription, { id: { $in: [...ids] } });
  return indexBy(ids, rows, (s) => s.id);
});
