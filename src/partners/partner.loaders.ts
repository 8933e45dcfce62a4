import { defineLoader, groupBy, indexBy } from '../server/loaders';
import { Partner, ResellerLink, User } from './partner.entity';

/** Partners by id, for every relation that points at one (viewer-independent: alert subscribers share it). */
export const partnerById = defineLoader<string, Partner | null>(
  async (ctx, ids) => {
    const partners = await ctx.em.find(Partner, { id: { $in: [...ids] } });
    return indexBy(ids, partners, (p) => p.id);
  },
  {},
  true,
);

/** Users by id (confirmedBy, correctedBy, placedBy, acknowledgedBy); viewer-independent. */
export const userById = defineLoader<string, User | null>(
  async (ctx, ids) => {
    const users = await ctx.em.find(User, { id: { $in: [...ids] } });
    return indexBy(ids, users, (u) => u.id);
  },
  {},
  true,
);

/** The providers each reseller is linked to. */
export const providersOfReseller = defineLoader<string, Partner[]>(async (ctx, ids) => {
  const links = await ctx.em.find(ResellerLink, { reseller: { $in: [...ids] } }, { populate: ['provider'], orderBy: { createdAt: 'asc' } });
  return groupBy(ids, links, (l) => l.reseller.id).map((ls) => ls.map((l) => l.provider));
});

/** The resellers linked to each provider. */
export const resellersOfProvider = defineLoader<string, Partner[]>(async (ctx, ids) => {
  const links = await ctx.em.find(ResellerLink, { provider: { $in: [...ids] } }, { populate: ['reseller'], orderBy: { createdAt: 'asc' } });
  return groupBy(ids, links, (l) => l.provider.id).map((ls) => ls.map((l) => l.reseller));
});
