import { defineLoader } from '../server/loaders';
import { AgreementTemplate } from './agreement.entity';
import { GLOBAL, type AgreementType } from './agreement.enums';
import { currentTemplate, todayUtc } from './current';

export interface CurrentKey {
  type: AgreementType;
  /** ISO 3166-1 alpha-2 or GLOBAL, any case. */
  country: string;
}

/**
 * The current template per (type, country), with the GLOBAL fallback, judged today
 * (UTC). One query for every key asked in the same tick; no language preference,
 * so among translations of the current version the smallest templateId answers.
 */
export const currentTemplateFor = defineLoader<CurrentKey, AgreementTemplate | null>(
  async (ctx, keys) => {
    const today = todayUtc();
    const types = [...new Set(keys.map((k) => k.type))];
    const countries = [...new Set([GLOBAL, ...keys.map((k) => k.country.toUpperCase())])];
    const templates = await ctx.em.find(AgreementTemplate, {
      type: { $in: types },
      country: { $in: countries },
      effectiveFrom: { $lte: today },
    });
    return keys.map((k) => currentTemplate(templates, { type: k.type, country: k.country, today }));
  },
  { cacheKeyFn: (k) => `${k.type}|${k.country.toUpperCase()}` },
);

/** Templates by id, for relations that point at one (acceptances, submissions). */
export const templateById = defineLoader<string, AgreementTemplate | null>(async (ctx, ids) => {
  const templates = await ctx.em.find(AgreementTemplate, { templateId: { $in: [...ids] } }, { disableIdentityMap: true });
  const index = new Map(templates.map((t) => [t.templateId, t]));
  return ids.map((id) => index.get(id) ?? null);
});
