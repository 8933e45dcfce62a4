import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';
import type { Partner } from './partner.entity';
import type { PartnerType } from '../auth/roles';

/** The partners feature's hand-written SQL: partner rows and their one mapper. */

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

/** Partners by id, as plain objects. */
export async function partnersById(em: EntityManager, ids: readonly string[]): Promise<Partner[]> {
  return (await queryRows<PartnerRow>(em, PARTNERS_BY_ID, [ids])).map(plainPartner);
}
