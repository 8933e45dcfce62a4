import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';
import { ForbiddenError, NotFoundError } from '../errors';
import { PartnerType } from './roles';
import { isPlatformAdmin, seesAllPartners, type Viewer } from './viewer';

/**
 * Tenancy, in one place. A partner user sees a customer when its partner serves
 * it: as the billing partner of a relationship, or as a reseller named on one.
 * Everything else is answered as missing, so foreign ids leak nothing.
 */

/** A SQL condition on a customer id column (e.g. `c.id`) that keeps only customers the viewer may see. */
export function visibleCustomerCondition(viewer: Viewer, column: string): { sql: string; params: unknown[] } {
  if (seesAllPartners(viewer)) return { sql: 'true', params: [] };
  return {
    sql: `${column} in (
      select r.customer_id from customer_relationships r where r.partner_id = ?
      union
      select r.customer_id from customer_relationships r
        join customer_relationship_resellers rr on rr.relationship_id = r.id
       where rr.reseller_id = ?)`,
    params: [viewer.partnerId, viewer.partnerId],
  };
}

/**
 * The same rule as visibleCustomerCondition, written as correlated EXISTS: for a
 * known handful of customers (a chunk of a bulk import) the planner probes the
 * (customer_id, partner_id) index per customer instead of listing every customer
 * the partner serves.
 */
export function visibleCustomerExists(viewer: Viewer, column: string): { sql: string; params: unknown[] } {
  if (seesAllPartners(viewer)) return { sql: 'true', params: [] };
  return { sql: visibleToPartnerSql(column, '?'), params: [viewer.partnerId, viewer.partnerId] };
}

/** `visibleCustomerExists` for the partner that the SQL expression `partner` names (twice), e.g. a column of each row. */
export const visibleToPartnerSql = (column: string, partner: string) => `(exists (select 1 from customer_relationships r where r.customer_id = ${column} and r.partner_id = ${partner})
      or exists (select 1 from customer_relationships r
                   join customer_relationship_resellers rr on rr.relationship_id = r.id
                  where r.customer_id = ${column} and rr.reseller_id = ${partner}))`;

/**
 * `visibleToPartnerSql` probed per row, never hashed: for a stream in index order (the export)
 * whose first row must not wait for every customer of the partner to be listed. `offset 0`
 * keeps each EXISTS a subplan run per row (PostgreSQL neither turns it into a semi-join nor
 * hashes it); the first is answered by the (customer_id, partner_id) index, the second only
 * when the first fails. Aliases `vr`, `vrr`: the caller's own aliases stay visible.
 */
export const seenByPartnerSql = (column: string, partner: string) =>
  `(exists (select 1 from customer_relationships vr where vr.customer_id = ${column} and vr.partner_id = ${partner} offset 0)
      or exists (select 1 from customer_relationships vr join customer_relationship_resellers vrr on vrr.relationship_id = vr.id
                  where vr.customer_id = ${column} and vrr.reseller_id = ${partner} offset 0))`;

export async function canSeeCustomer(em: EntityManager, viewer: Viewer, customerId: string): Promise<boolean> {
  if (!isUuid(customerId)) return false;
  const cond = visibleCustomerCondition(viewer, 'c.id');
  const rows = await queryRows(em, `select 1 from customers c where c.id = ? and ${cond.sql}`, [customerId, ...cond.params]);
  return rows.length > 0;
}

/** Partners a partner user may see: itself and the partners it is linked with. */
export function visiblePartnerCondition(viewer: Viewer, column: string): { sql: string; params: unknown[] } {
  if (seesAllPartners(viewer)) return { sql: 'true', params: [] };
  return {
    sql: `(${column} = ? or ${column} in (
      select l.provider_id from reseller_links l where l.reseller_id = ?
      union select l.reseller_id from reseller_links l where l.provider_id = ?))`,
    params: [viewer.partnerId, viewer.partnerId, viewer.partnerId],
  };
}

/**
 * Resolves the billing partner a request acts for: the argument, else the viewer's
 * own partner. A partner user may name only itself (or, as a reseller, a provider it
 * is linked to, when `allowLinkedProvider`).
 */
export async function actingPartnerId(
  em: EntityManager,
  viewer: Viewer,
  partnerId: string | null | undefined,
  opts: { allowLinkedProvider?: boolean } = {},
): Promise<string> {
  if (seesAllPartners(viewer)) {
    if (!partnerId) throw new ForbiddenError('partnerId is required for a caller without a partner');
    if (!(await partnerExists(em, partnerId))) throw new NotFoundError('Partner', partnerId);
    return partnerId;
  }
  if (!partnerId || partnerId === viewer.partnerId) return viewer.partnerId!;
  if (opts.allowLinkedProvider && viewer.partnerType === PartnerType.INDIRECT_RESELLER) {
    if (await isLinked(em, viewer.partnerId!, partnerId)) return partnerId;
  }
  throw new NotFoundError('Partner', partnerId);
}

/** Whether a partner user's partner and another are linked, either way (reseller and provider). */
export type LinkedPartners = (viewer: Viewer, otherPartnerId: string) => Promise<boolean>;

/** LinkedPartners by one statement (services; resolvers pass their request's DataLoaders instead). */
export const linkedBySql =
  (em: EntityManager): LinkedPartners =>
  (viewer, other) =>
    viewer.partnerType === PartnerType.INDIRECT_RESELLER ? isLinked(em, viewer.partnerId!, other) : isLinked(em, other, viewer.partnerId!);

/**
 * Whether the viewer may read records of the partner an argument names (the
 * `partnerId` of a customer's fields, of a list filter): platform roles any, a partner
 * user its own and the partners it is linked with (as visiblePartnerCondition). Any
 * other id is answered exactly as an unknown partner is (see `partnerNamedBy`), so
 * naming another tenant learns nothing.
 */
export async function mayReadPartner(viewer: Viewer, partnerId: string | null | undefined, linked: LinkedPartners): Promise<boolean> {
  return mayReadPartnerAtOnce(viewer, partnerId) ?? linked(viewer, partnerId!);
}

/**
 * mayReadPartner's answer when it needs no lookup of linked partners (no argument, a
 * platform role, the viewer's own partner, a malformed id, a direct-bill partner user),
 * else undefined: per-row field resolvers then answer without a promise of their own.
 */
export function mayReadPartnerAtOnce(viewer: Viewer, partnerId: string | null | undefined): boolean | undefined {
  if (!partnerId || seesAllPartners(viewer) || partnerId === viewer.partnerId) return true;
  if (!isUuid(partnerId) || viewer.partnerType === PartnerType.DIRECT_BILL) return false;
  return undefined;
}

/** A well-formed id that names no partner (ids are random v4 UUIDs, never the nil one). */
export const NO_PARTNER = '00000000-0000-0000-0000-000000000000';

/** The partner an argument names, or NO_PARTNER when the viewer may not read it: the answer is then the unknown partner's. */
export async function partnerNamedBy(viewer: Viewer, partnerId: string | null, linked: LinkedPartners): Promise<string | null> {
  return (await mayReadPartner(viewer, partnerId, linked)) ? partnerId : NO_PARTNER;
}

export async function partnerExists(em: EntityManager, partnerId: string): Promise<boolean> {
  if (!isUuid(partnerId)) return false;
  const rows = await queryRows(em, 'select 1 from partners where id = ?', [partnerId]);
  return rows.length > 0;
}

/** Of these ids, the ones that name a partner: one statement for any number of them. */
export async function existingPartnerIds(em: EntityManager, ids: Iterable<string>): Promise<Set<string>> {
  const wellFormed = [...ids].filter(isUuid);
  if (!wellFormed.length) return new Set();
  const rows = await queryRows<{ id: string }>(em, 'select id from partners where id = any(?::uuid[])', [wellFormed]);
  return new Set(rows.map((r) => r.id));
}

export async function isLinked(em: EntityManager, resellerId: string, providerId: string): Promise<boolean> {
  if (!isUuid(resellerId) || !isUuid(providerId)) return false;
  const rows = await queryRows(em, 'select 1 from reseller_links where reseller_id = ? and provider_id = ?', [resellerId, providerId]);
  return rows.length > 0;
}

export function assertPlatformAdmin(viewer: Viewer): void {
  if (!isPlatformAdmin(viewer)) throw new ForbiddenError('Only a platform admin may do this');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids are UUIDs; anything else cannot name a record (and must not reach SQL as a uuid). */
export const isUuid = (id: unknown): id is string => typeof id === 'string' && UUID.test(id);
