import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { complianceScope, complianceStatusCondition, scopeKey } from '../acceptance/compliance';
import { complianceDirectory, directoryPageStatement } from '../acceptance/compliance.directory';
import { queryDerivedOrLive } from '../kernel/derived';
import type { ComplianceStatus } from '../acceptance/acceptance.enums';
import { canSeeCustomer, isLinked, isUuid, linkedBySql, partnerNamedBy, visibleCustomerCondition } from '../auth/tenancy';
import { isPlatformAdmin, type Viewer } from '../auth/viewer';
import { pageConnection, pageStatement, SEARCH_COUNT_CAP, type ConnectionResult, type KeysetColumn, type SqlCondition } from '../common/connection';
import { BadUserInputError, ForbiddenError, NotFoundError } from '../errors';
import { Partner } from '../partners/partner.entity';
import { PartnerType } from '../auth/roles';
import { normalizeCountry } from './country';
import { Customer, CustomerRelationship } from './customer.entity';
import type { AddCustomerRelationshipInput, CreateCustomerInput } from './customer.inputs';
import type { RelationshipRecord } from './customer.queries';
import { customerSearch, normalizeCustomerData, sortNameSql } from './customer.rules';
import { queryRows } from '../db/query';
import { plainCustomer, type CustomerRow } from './customer.queries';
import { appendAuditChain } from '../audit/audit.chain';

export interface CustomerListFilter {
  partnerId?: string | null;
  complianceStatus?: ComplianceStatus | null;
  country?: string | null;
  search?: string | null;
}

/** The partners a relationship is made of, once the caller may name them. */
interface Parties {
  billing: Partner;
  reseller: Partner | null;
}

/**
 * Customers and their relationships (DESIGN.md section 2). Who may see a customer is
 * src/auth/tenancy.ts's answer; who may create what is decided here:
 * - a platform admin creates customers and relationships for any billing partner;
 * - a direct-bill partner's or provider's ADMIN/AGENT acts for its own partner and
 *   names only resellers linked to it;
 * - a reseller's ADMIN/AGENT names a provider it is linked to as billing partner and
 *   itself as the reseller.
 */
export class CustomerService {
  constructor(private readonly em: EntityManager, private readonly viewer: Viewer) {}

  /** A customer the viewer may see, or null: another tenant's customer is indistinguishable from none. */
  async find(id: string): Promise<Customer | null> {
    if (!isUuid(id)) return null;
    const cond = visibleCustomerCondition(this.viewer, 'c.id');
    return this.em.createQueryBuilder(Customer, 'c').where({ id }).andWhere(cond.sql, cond.params).getSingleResult();
  }

  /**
   * Visible customers matching the filter, by company name: one statement. While the
   * compliance directory is valid (src/acceptance/compliance.directory.ts) the page is an
   * index range of one directory scope (the viewer's customer set is exactly the scope its
   * statuses are judged in: see complianceSummary) and totalCount is exact from the counts;
   * with a country or search filter, or a linked partner's pair, totalCount is exact up to
   * TOTAL_COUNT_CAP and TOTAL_COUNT_CAP + 1 beyond. Otherwise the live statement answers, as before.
   */
  async list(filter: CustomerListFilter | null | undefined, page: { first?: number | null; after?: string | null }): Promise<ConnectionResult<Customer>> {
    const where: SqlCondition[] = [visibleCustomerCondition(this.viewer, 'c.id')];
    /** The directory's conditions beside its scope and status. */
    const derived: SqlCondition[] = [];
    // Another tenant's partner filters as an unknown one does (nothing), not to the customers both serve.
    const partnerId = await partnerNamedBy(this.viewer, filter?.partnerId ?? null, linkedBySql(this.em));
    if (partnerId !== null) {
      // An id that cannot name a partner matches nothing.
      if (!isUuid(partnerId)) {
        where.push({ sql: 'false', params: [] });
        derived.push({ sql: 'false', params: [] });
      } else if (this.viewer.partnerId && partnerId !== this.viewer.partnerId) {
        // A linked partner (a provider naming its reseller, or the reverse): only the customers
        // the two serve together, not what the other does with third partners.
        const pair = (column: string) => ({
          sql: `${column} in (select r.customer_id from customer_relationships r
               join customer_relationship_resellers rr on rr.relationship_id = r.id
              where (r.partner_id = ? and rr.reseller_id = ?) or (r.partner_id = ? and rr.reseller_id = ?))`,
          params: [this.viewer.partnerId, partnerId, partnerId, this.viewer.partnerId],
        });
        where.push(pair('c.id'));
        derived.push(pair('d.customer_id'));
      } else {
        where.push({
          sql: `c.id in (select r.customer_id from customer_relationships r where r.partner_id = ?
             union select r.customer_id from customer_relationships r
               join customer_relationship_resellers rr on rr.relationship_id = r.id where rr.reseller_id = ?)`,
          params: [partnerId, partnerId],
        });
      }
    }
    if (filter?.country) {
      const country = { sql: 'c.country = ?', params: [normalizeCountry(filter.country, 'filter.country')] };
      where.push(country);
      derived.push(country);
    }
    const search = filter?.search?.trim() || null;
    if (search) {
      // The directory statement places the search itself (index ranges: directoryPageStatement).
      where.push(customerSearch(search).matches('c'));
    }
    const status = filter?.complianceStatus && (partnerId === null || isUuid(partnerId)) ? filter.complianceStatus : null;
    if (status) where.push(complianceStatusCondition(this.viewer, status, partnerId, 'c.id'));

    const directory = directoryPageStatement({ scope: scopeKey(complianceScope(this.viewer, partnerId)), status, where: derived, search }, page);
    // A search counts as the directory's statement does (SEARCH_COUNT_CAP), whichever answers.
    const count = search ? { count: 'bounded' as const, cap: SEARCH_COUNT_CAP } : {};
    const live = pageStatement({ table: 'customers', alias: 'c', where, keys: CUSTOMER_KEYS, select: `${sortNameSql('c')} as "__sort"`, ...count }, page);
    const rows = await queryDerivedOrLive<Record<string, unknown>>(this.em, complianceDirectory, directory, live, 'q."__n"');
    return pageConnection(rows, directory.limit, { keys: CUSTOMER_KEYS, row: listedCustomer }, page);
  }

  /** Creates the customer and its relationship with the billing partner in one transaction. */
  async create(input: CreateCustomerInput): Promise<Customer> {
    const data = normalizeCustomerData(input);
    const { billing, reseller } = await this.partiesForCreate(input.partnerId ?? null, input.resellerId ?? null);
    const duplicateTenant = () => new BadUserInputError(`A customer with tenant id ${data.tenantId} already exists`, 'tenantId');
    try {
      return await this.em.transactional(async (tx) => {
        if ((await tx.count(Customer, { tenantId: data.tenantId })) > 0) throw duplicateTenant();
        const customer = tx.create(Customer, data);
        const relationship = tx.create(CustomerRelationship, { customer, partner: tx.getReference(Partner, billing.id) });
        if (reseller) relationship.resellers.add(tx.getReference(Partner, reseller.id));
        return customer;
      });
    } catch (err) {
      // A concurrent creation with the same tenant id committed first.
      if (err instanceof UniqueConstraintViolationException) throw duplicateTenant();
      throw err;
    }
  }

  /**
   * Adds a billing partner to a customer, or a reseller to an existing relationship.
   * Idempotent: an existing relationship or reseller is left as it is. A reseller may
   * open a relationship with a provider it is linked to for a customer it serves,
   * naming itself; resellers on an existing relationship are the provider's to add.
   */
  async addRelationship(input: AddCustomerRelationshipInput): Promise<void> {
    if (!(await canSeeCustomer(this.em, this.viewer, input.customerId))) throw new NotFoundError('Customer', input.customerId, 'customerId');
    const { billing, reseller } = await this.parties(input.partnerId, input.resellerId ?? null);
    const actsAsReseller = this.viewer.partnerType === PartnerType.INDIRECT_RESELLER;
    await this.em.transactional(async (tx) => {
      // ON CONFLICT keeps concurrent identical requests from failing: both end with one row.
      const inserted = await queryRows<{ id: string }>(
        tx,
        `insert into customer_relationships (id, customer_id, partner_id, created_at) values (gen_random_uuid(), ?, ?, now())
         on conflict (customer_id, partner_id) do nothing returning id`,
        [input.customerId, billing.id],
      );
      // A customer's direct acceptance shows in the new partner's trail too: chained there.
      if (inserted.length) await appendAuditChain(tx as EntityManager, [{ customerId: input.customerId, partnerId: billing.id }]);
      const [{ id }] = inserted.length
        ? inserted
        : await queryRows<{ id: string }>(tx, 'select id from customer_relationships where customer_id = ? and partner_id = ?', [input.customerId, billing.id]);
      if (!reseller) return;
      if (actsAsReseller && !inserted.length) {
        const named = await queryRows(tx, 'select 1 from customer_relationship_resellers where relationship_id = ? and reseller_id = ?', [id, reseller.id]);
        if (!named.length) throw new ForbiddenError("Resellers are added to an existing relationship by its billing partner");
      }
      await queryRows(
        tx,
        'insert into customer_relationship_resellers (relationship_id, reseller_id) values (?, ?) on conflict do nothing',
        [id, reseller.id],
      );
    });
  }

  private async partiesForCreate(partnerId: string | null, resellerId: string | null): Promise<Parties> {
    if (isPlatformAdmin(this.viewer) && !partnerId) {
      throw new BadUserInputError('partnerId is required: name the billing partner of the customer', 'partnerId');
    }
    if (this.viewer.partnerType === PartnerType.INDIRECT_RESELLER && !partnerId) {
      throw new BadUserInputError('partnerId is required: a reseller names the provider it sells through', 'partnerId');
    }
    return this.parties(partnerId ?? this.viewer.partnerId!, resellerId);
  }

  /** Checks the named billing partner and reseller against the caller (see the class comment). */
  private async parties(partnerId: string, resellerId: string | null): Promise<Parties> {
    const own = this.viewer.partnerId;
    if (own && this.viewer.partnerType === PartnerType.INDIRECT_RESELLER) {
      if (partnerId === own) throw new BadUserInputError('A reseller cannot be the billing partner: name the provider it sells through', 'partnerId');
      if (!(await isLinked(this.em, own, partnerId))) throw new NotFoundError('Partner', partnerId, 'partnerId');
      if (resellerId && resellerId !== own) throw new NotFoundError('Partner', resellerId, 'resellerId');
      const [billing, reseller] = await this.partners([partnerId, own]);
      return { billing: billing!, reseller: reseller! };
    }
    // Billing partner users act for themselves only; another partner is answered as missing.
    if (own && partnerId !== own) throw new NotFoundError('Partner', partnerId, 'partnerId');
    const [billing] = await this.partners([partnerId]);
    if (!billing) throw new NotFoundError('Partner', partnerId, 'partnerId');
    if (billing.type === PartnerType.INDIRECT_RESELLER) {
      throw new BadUserInputError('The billing partner must be a direct-bill partner or a provider, not a reseller', 'partnerId');
    }
    return { billing, reseller: resellerId ? await this.eligibleReseller(billing, resellerId) : null };
  }

  /** A reseller linked to the billing partner; a direct-bill partner has none. */
  private async eligibleReseller(billing: Partner, resellerId: string): Promise<Partner> {
    if (billing.type === PartnerType.DIRECT_BILL) {
      throw new BadUserInputError('A direct-bill partner has no resellers', 'resellerId');
    }
    if (await isLinked(this.em, resellerId, billing.id)) return (await this.partners([resellerId]))[0]!;
    // For a platform admin every partner is visible, so an existing one gets the real reason;
    // for a provider, a reseller not linked to it is another tenant's partner, answered as missing.
    const [partner] = isPlatformAdmin(this.viewer) || resellerId === this.viewer.partnerId ? await this.partners([resellerId]) : [null];
    if (!partner) throw new NotFoundError('Partner', resellerId, 'resellerId');
    throw new BadUserInputError('resellerId must name a reseller linked to the billing partner', 'resellerId');
  }

  /** Partners by id, in the order asked (null where none). */
  private async partners(ids: string[]): Promise<(Partner | null)[]> {
    const valid = ids.filter(isUuid);
    const found = valid.length ? await this.em.find(Partner, { id: { $in: valid } }) : [];
    return ids.map((id) => found.find((p) => p.id === id) ?? null);
  }
}

/** A listed customer's sort name, as the database computed it (its `lower()` is the rule, not JavaScript's). */
const SORT_NAME = Symbol('sortName');
type ListedCustomer = Customer & { [SORT_NAME]: string };
const listedCustomer = (row: Record<string, unknown>): ListedCustomer => Object.assign(plainCustomer(row as never), { [SORT_NAME]: String(row.__sort) });

/** The Customers list's order: by sort name (sortNameSql), then id (cursors hold both). */
const CUSTOMER_KEYS: KeysetColumn<ListedCustomer>[] = [
  { column: sortNameSql('c'), value: (c) => c[SORT_NAME] },
  { column: 'c.id', value: (c) => c.id },
];

/**
 * Of a customer's relationships, those the viewer may see: all for platform roles;
 * for a partner user, those whose billing partner it is or that name it as reseller.
 */
export function relationshipsVisibleTo(viewer: Viewer, relationships: RelationshipRecord[]): RelationshipRecord[] {
  const own = viewer.partnerId;
  if (!own) return relationships;
  return relationships.filter((r) => r.partner.id === own || r.resellers.some((p) => p.id === own));
}

/** A reseller sees itself on a relationship, not the other resellers of the provider (they are other tenants). */
export function resellersVisibleTo(viewer: Viewer, relationship: RelationshipRecord): Partner[] {
  const resellers = relationship.resellers;
  if (viewer.partnerId && viewer.partnerType === PartnerType.INDIRECT_RESELLER) return resellers.filter((p) => p.id === viewer.partnerId);
  return [...resellers].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}
