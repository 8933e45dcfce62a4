import { defineLoader, indexBy } from '../server/loaders';
import { User } from '../partners/partner.entity';

/** Users by id, for `acknowledgedBy`. */
export const userById = defineLoader<string, User | null>(async (ctx, ids) => {
  const users = await ctx.em.find(User, { id: { $in: [...ids] } });
  return indexBy(ids, users, (u) => u.id);
});
