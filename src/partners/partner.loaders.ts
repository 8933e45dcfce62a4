import type { Context } from '../kernel/context';
import { queryRows } from '../db/query';
import { defineLoader, groupBy, indexBy } from '../kernel/loaders';
import type { PartnerType } from '../auth/roles';
import { Partner, ResellerLink, User } from './partner.entity';

/** The `partners` columns a partner row needs, for statements that join partners in. */
export const PARTNER_COLUMNS = (alias: string) =>
  `${alias}.id, ${alias}.name, ${alias}.tenant_id, ${alias}.type, ${alias}.created_at`;

export interface PartnerRow {
  id: string;
  name: string;
  tenant_id: string;
  type: PartnerType;
  created_at: string | Date;
}

/**
 * A read-only plain object of the entity's shape. Partners are read on almost every
 * page (relationships, orders, alerts), and a managed entity costs far more to build
 * than the four fields the GraphQL type shows.
 */
export function plainPartner(r: PartnerRow): Partner {
  return { id: r.id, name: r.name, tenantId: r.tenant_id, type: r.type, createdAt: new Date(r.created_at) } as Partner;
}

const PARTNERS_BY_ID = `select ${PARTNER_COLUMNS('p')} from partners p where p.id = any(?::uuid[])`;

/** Partners by id, for every relation that points at one (viewer-independent: alert subscribers share it). */
export const partnerById = defineLoader<string, Partner | null>(
  async (ctx, ids) => {
    const rows = await queryRows<PartnerRow>(ctx.em, PARTNERS_BY_ID, [ids]);
    return indexBy(ids, rows.map(plainPartner), (p) => p.id);
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
