import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { BadUserInputError, NotFoundError } from '../errors';
import { assertPlatformAdmin, isUuid, visiblePartnerCondition } from '../auth/tenancy';
import type { Viewer } from '../auth/viewer';
import { paginate, timeOrder, type ConnectionResult } from '../common/connection';
import { Partner } from './partner.entity';
import { PartnerType } from '../auth/roles';
import type { LinkResellerInput, RegisterPartnerInput } from './partner.inputs';
import { hasControlCharacters } from '../common/text';
import { queryRows } from '../db/query';

export class PartnerService {
  constructor(private readonly em: EntityManager, private readonly viewer: Viewer) {}

  async list(args: { first?: number | null; after?: string | null }): Promise<ConnectionResult<Partner>> {
    const qb = this.em.createQueryBuilder(Partner, 'p');
    const cond = visiblePartnerCondition(this.viewer, 'p.id');
    qb.where(cond.sql, cond.params);
    return paginate(qb, timeOrder('p.created_at', (p) => p.createdAt, 'p.id', (p) => p.id), args);
  }

  /** A partner the viewer may see, or null: another tenant's partner is indistinguishable from none. */
  async find(id: string): Promise<Partner | null> {
    if (!isUuid(id)) return null;
    const cond = visiblePartnerCondition(this.viewer, 'p.id');
    return this.em.createQueryBuilder(Partner, 'p').where({ id }).andWhere(cond.sql, cond.params).getSingleResult();
  }

  async register(input: RegisterPartnerInput): Promise<Partner> {
    assertPlatformAdmin(this.viewer);
    const name = input.name.trim();
    if (!name) throw new BadUserInputError('name may not be blank', 'name');
    if (hasControlCharacters(name)) throw new BadUserInputError('name contains control characters', 'name');
    const tenantId = input.tenantId.trim();
    const partner = this.em.create(Partner, { name, tenantId, type: input.type });
    try {
      await this.em.flush();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) {
        throw new BadUserInputError(`A partner with tenant id ${tenantId} already exists`, 'tenantId');
      }
      throw err;
    }
    return partner;
  }

  /** Platform admins link any reseller to any provider; a provider's ADMIN links resellers to itself. */
  async linkReseller(input: LinkResellerInput): Promise<Partner> {
    const providerId = input.providerId;
    if (this.viewer.partnerId && this.viewer.partnerId !== providerId) {
      throw new NotFoundError('Partner', providerId, 'providerId');
    }
    const [reseller, provider] = await Promise.all([
      this.em.findOne(Partner, { id: input.resellerId }),
      this.em.findOne(Partner, { id: providerId }),
    ]);
    if (!provider) throw new NotFoundError('Partner', providerId, 'providerId');
    // A provider naming another tenant's partner that is no reseller learns no more than for an unknown id.
    if (!reseller || (this.viewer.partnerId && reseller.type !== PartnerType.INDIRECT_RESELLER)) throw new NotFoundError('Partner', input.resellerId, 'resellerId');
    if (reseller.type !== PartnerType.INDIRECT_RESELLER) {
      throw new BadUserInputError('resellerId must name an indirect reseller', 'resellerId');
    }
    if (provider.type !== PartnerType.INDIRECT_PROVIDER) {
      throw new BadUserInputError('providerId must name an indirect provider', 'providerId');
    }
    // Linking twice is harmless: the link exists either way.
    await queryRows(
      this.em,
      'insert into reseller_links (id, reseller_id, provider_id, created_at) values (gen_random_uuid(), ?, ?, now()) on conflict (reseller_id, provider_id) do nothing',
      [reseller.id, provider.id],
    );
    return reseller;
  }
}

