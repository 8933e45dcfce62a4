import { defineLoader, indexBy } from '../server/loaders';
import { User } from '../partners/partner.entity';
import { Customer } from '../customers/customer.entity';
import { Order } from '../transactions/transaction.entity';

// Lookups by id only, never reading ctx.viewer: subscribers of one delivered alert batch share them.

/** Users by id, for `acknowledgedBy`. */
export const userById = defineLoader<string, User | null>(async (ctx, ids) => {
  const users = await ctx.em.find(User, { id: { $in: [...ids] } });
  return indexBy(ids, users, (u) => u.id);
}, {}, true);

/** The blocked orders behind alerts. */
export const orderById = defineLoader<string, Order | null>(async (ctx, ids) => {
  const orders = await ctx.em.find(Order, { id: { $in: [...ids] } });
  return indexBy(ids, orders, (o) => o.id);
}, {}, true);

/** The customers of alerts. */
export const customerById = defineLoader<string, Customer | null>(async (ctx, ids) => {
  const customers = await ctx.em.find(Customer, { id: { $in: [...ids] } });
  return indexBy(ids, customers, (c) => c.id);
}, {}, true);
