import type { Context } from '../kernel/context';
import { queryRows } from '../db/query';
import { defineLoader, indexBy } from '../kernel/loaders';
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

/** The `agreement_templates` columns a template row needs, for statements that join templates in. */
const TEMPLATE_FIELDS = ['template_id', 'type', 'version', 'version_rank', 'country', 'language', 'display_uri', 'effective_from', 'created_at'] as const;

/** The `agreement_templates` columns a template row needs; with `prefix`, named `<prefix><column>` beside another table's. */
export const TEMPLATE_COLUMNS = (alias: string, prefix = '') => TEMPLATE_FIELDS.map((f) => `${alias}.${f}${prefix ? ` as ${prefix}${f}` : ''}`).join(', ');

/** The template row inside a wider row read with `TEMPLATE_COLUMNS(alias, prefix)`. */
export function prefixedTemplateRow(row: Record<string, unknown>, prefix: string): TemplateRow {
  return Object.fromEntries(TEMPLATE_FIELDS.map((f) => [f, row[prefix + f]])) as unknown as TemplateRow;
}

export interface TemplateRow {
  template_id: string;
  type: AgreementType;
  version: string;
  version_rank: number;
  country: string;
  language: string;
  display_uri: string;
  effective_from: string | Date;
  created_at: string | Date;
}

/** A read-only plain object of the entity's shape: templates are shown on every acceptance. */
export function plainTemplate(r: TemplateRow): AgreementTemplate {
  return {
    templateId: r.template_id,
    type: r.type,
    version: r.version,
    versionRank: r.version_rank,
    country: r.country,
    language: r.language,
    displayUri: r.display_uri,
    effectiveFrom: typeof r.effective_from === 'string' ? r.effective_from : r.effective_from.toISOString().slice(0, 10),
    createdAt: new Date(r.created_at),
  } as AgreementTemplate;
}

const TEMPLATES_BY_ID = `select ${TEMPLATE_COLUMNS('t')} from agreement_templates t where t.template_id = any(?::text[])`;

/** Templates by id, for relations that point at one (acceptances, submissions). */
export const templateById = defineLoader<string, AgreementTemplate | null>(async (ctx, ids) => {
  const rows = await queryRows<TemplateRow>(ctx.em, TEMPLATES_BY_ID, [ids]);
  return indexBy(ids, rows.map(plainTemplate), (t) => t.templateId);
});

/** Hands templates read by another statement to `templateById`. */
export function primeTemplates(ctx: Pick<Context, 'loaders'>, templates: Iterable<AgreementTemplate>): void {
  const loader = templateById.of(ctx);
  for (const t of templates) loader.prime(t.templateId, t);
}
