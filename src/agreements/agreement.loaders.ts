import type { Context } from '../kernel/context';
import { defineLoader, indexBy } from '../kernel/loaders';
import type { AgreementTemplate } from './agreement.entity';
import type { AgreementType } from './agreement.enums';
import { currentKey, currentTemplates, preferredTranslation, templatesById } from './agreement.queries';
import { todayUtc } from './current';

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
    const current = await currentTemplates(ctx.em, keys, todayUtc());
    return keys.map((k) => preferredTranslation(current.get(currentKey(k.type, k.country)) ?? []));
  },
  { cacheKeyFn: (k) => currentKey(k.type, k.country) },
);

/** Templates by id, for relations that point at one (acceptances, submissions). */
export const templateById = defineLoader<string, AgreementTemplate | null>(async (ctx, ids) => {
  return indexBy(ids, await templatesById(ctx.em, ids), (t) => t.templateId);
});

/** Hands templates read by another statement to `templateById`. */
export function primeTemplates(ctx: Pick<Context, 'loaders'>, templates: Iterable<AgreementTemplate>): void {
  const loader = templateById.of(ctx);
  for (const t of templates) loader.prime(t.templateId, t);
}
