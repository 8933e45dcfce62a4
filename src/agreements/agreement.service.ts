import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { assertPlatformAdmin } from '../auth/tenancy';
import type { Viewer } from '../auth/viewer';
import { normalizeCountry } from '../customers/country';
import { BadUserInputError } from '../errors';
import { AgreementTemplate } from './agreement.entity';
import type { AgreementType } from './agreement.enums';
import type { PublishAgreementInput } from './agreement.inputs';
import { normalizeLanguage, normalizePublishInput } from './agreement.rules';
import { todayUtc } from './current';
import { currentTemplate } from './agreement.queries';
import { queryRows } from '../db/query';

export interface AgreementFilter {
  type?: AgreementType | null;
  country?: string | null;
  language?: string | null;
}

/** Agreement templates: readable by every role, published by platform admins only. */
export class AgreementService {
  constructor(private readonly em: EntityManager, private readonly viewer: Viewer) {}

  /** Templates matching every given filter (country and language exactly), newest rank first per type. */
  async list(filter: AgreementFilter): Promise<AgreementTemplate[]> {
    const qb = this.em.createQueryBuilder(AgreementTemplate, 't');
    if (filter.type) qb.andWhere({ type: filter.type });
    if (filter.country) qb.andWhere({ country: normalizeCountry(filter.country, 'country', { allowGlobal: true }) });
    if (filter.language) qb.andWhere('lower(t.language) = lower(?)', [normalizeLanguage(filter.language, 'language')]);
    return qb.orderBy({ type: 'asc', versionRank: 'desc', country: 'asc', language: 'asc', templateId: 'asc' }).getResultList();
  }

  /** The current template for a country (GLOBAL fallback), preferring `language` among translations. */
  async current(type: AgreementType, country: string, language?: string | null): Promise<AgreementTemplate | null> {
    const code = normalizeCountry(country, 'country', { allowGlobal: true });
    const wanted = language ? normalizeLanguage(language, 'language') : null;
    return currentTemplate(this.em, { type, country: code, language: wanted, day: todayUtc() });
  }

  /**
   * Publishes a template. Two templates of the same type, country, language and rank
   * would make "current" ambiguous, so that is refused (BAD_USER_INPUT on
   * versionRank); an advisory lock per (type, country, language) keeps the check
   * true under concurrent publications.
   */
  async publish(input: PublishAgreementInput): Promise<AgreementTemplate> {
    assertPlatformAdmin(this.viewer);
    const data = normalizePublishInput(input);
    try {
      return await this.em.transactional(async (tx) => {
        await queryRows(tx, 'select pg_advisory_xact_lock(hashtext(?))', [`agreement:${data.type}:${data.country}:${data.language.toLowerCase()}`]);
        if (await tx.findOne(AgreementTemplate, { templateId: data.templateId })) throw duplicateId(data.templateId);
        const sameRank = await tx
          .createQueryBuilder(AgreementTemplate, 't')
          .where({ type: data.type, country: data.country, versionRank: data.versionRank })
          .andWhere('lower(t.language) = lower(?)', [data.language])
          .getCount();
        if (sameRank > 0) {
          throw new BadUserInputError(
            `A ${data.type} template of rank ${data.versionRank} already exists for ${data.country} in ${data.language}`,
            'versionRank',
          );
        }
        return tx.create(AgreementTemplate, data);
      });
    } catch (err) {
      // A concurrent publication with the same id got there first.
      if (err instanceof UniqueConstraintViolationException) throw duplicateId(data.templateId);
      throw err;
    }
  }
}

const duplicateId = (templateId: string) => new BadUserInputError(`A template with id ${templateId} already exists`, 'templateId');
