import { defineLoader, indexBy } from '../kernel/loaders';
import { Subscription } from './transaction.entity';
import type { SubscriptionRecord } from './transaction.queries';

/** Subscriptions by id (the subscription of an order); primed with plain records where a statement already read them. */
export const subscriptionById = defineLoader<string, SubscriptionRecord | null>(async (ctx, ids) => {
  const rows = await ctx.em.find(Subscription, { id: { $in: [...ids] } });
  return indexBy(ids, rows, (s) => s.id);
});
