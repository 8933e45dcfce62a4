import type { Context } from '../kernel/context';
import { defineLoader, groupBy, indexBy } from '../kernel/loaders';
import { partnersById } from './partner.queries';
import { Partner, ResellerLink, User } from './partner.entity';

/** Partners by id, for every relation that points at one (viewer-independent: alert subscribers share it). */
export const partnerById = defineLoader<string, Partner | null>(
  async (ctx, ids) => {
    return indexBy(ids, await partnersById(ctx.em, ids), (p) => p.id);
  },
  {},
  true,
);

/** Hands partners read by another statement to `partnerById`, so their fields need no statement of their own. */
export function primePartners(ctx: Pick<Context, 'loaders'>, partners: Iterable<Partner>): void {
  const loader = partnerById.of(ctx);
  for (const p of partners) loader.prime(p.id, p);
}

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
