import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';
import type { AgreementTemplate } from './agreement.entity';
import type { AgreementType } from './agreement.enums';
import { languageFit } from './current';

/**
 * The agreements feature's hand-written SQL: template rows, their mapper, and the
 * current-template rule, which lives in SQL (`current_agreement_templates`, created by
 * migration Migration20261202160000) so that statements of other features call it in
 * place and TypeScript asks it here.
 */

/** The `agreement_templates` columns a template row needs, for statements that join templates in. */
const TEMPLATE_FIELDS = ['template_id', 'type', 'version', 'version_rank', 'country', 'language', 'display_uri', 'effective_from', 'created_at'] as const;

/** The `agreement_templates` columns a template row needs; with `prefix`, named `<prefix><column>` beside another table's. */
export const TEMPLATE_COLUMNS = (alias: string, prefix = '') => TEMPLATE_FIELDS.map((f) => `${alias}.${f}${prefix ? ` as ${prefix}${f}` : ''}`).join(', ');

/** The template row inside a wider row read with `TEMPLATE_COLUMNS(alias, prefix)`. */
export function prefixedTemplateRow(row: Record<string, unknown>, prefix: string): TemplateRow {
  // Field by field, with the prefixed names made once: every acceptance of a page goes through here.
  let k = prefixedNames.get(prefix);
  if (!k) prefixedNames.set(prefix, (k = Object.fromEntries(TEMPLATE_FIELDS.map((f) => [f, prefix + f])) as Record<(typeof TEMPLATE_FIELDS)[number], string>));
  return {
    template_id: row[k.template_id],
    type: row[k.type],
    version: row[k.version],
    version_rank: row[k.version_rank],
    country: row[k.country],
    language: row[k.language],
    display_uri: row[k.display_uri],
    effective_from: row[k.effective_from],
    created_at: row[k.created_at],
  } satisfies Record<(typeof TEMPLATE_FIELDS)[number], unknown> as TemplateRow;
}

const prefixedNames = new Map<string, Record<(typeof TEMPLATE_FIELDS)[number], string>>();

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

/** Templates by id. */
export async function templatesById(em: EntityManager, ids: readonly string[]): Promise<AgreementTemplate[]> {
  return (await queryRows<TemplateRow>(em, TEMPLATES_BY_ID, [ids])).map(plainTemplate);
}

/**
 * A SQL expression (a subquery, to use in FROM) of the current version's translations of
 * `type` for the country `country` on `day`, each an SQL expression.
 */
export const currentTemplatesSql = (type: string, country: string, day: string) => `current_agreement_templates(${type}, ${country}, ${day})`;

/** The template to name among translations of one version: the best `languageFit`, then the smallest templateId, so the answer is stable. */
export function preferredTranslation<T extends Pick<AgreementTemplate, 'templateId' | 'language'>>(translations: readonly T[], language?: string | null): T | null {
  let best: T | null = null;
  for (const t of translations) {
    if (!best) best = t;
    else {
      const fit = languageFit(t.language, language) - languageFit(best.language, language);
      if (fit > 0 || (fit === 0 && t.templateId < best.templateId)) best = t;
    }
  }
  return best;
}

// `offset 0` keeps the rule a subquery asked once per key (else the planner joins it and asks it per key and template).
const CURRENT_TEMPLATES = `select k.type as key_type, k.country as key_country, ${TEMPLATE_COLUMNS('t')}
  from unnest(?::text[], ?::text[]) as k(type, country)
  cross join lateral (select * from ${currentTemplatesSql('k.type', 'k.country', '?::date')} offset 0) t`;

/**
 * The current version's translations for each (type, country) on `day` (YYYY-MM-DD), in
 * one statement; keys by `${type}|${COUNTRY}`.
 */
export async function currentTemplates(
  em: EntityManager,
  keys: readonly { type: string; country: string }[],
  day: string,
): Promise<Map<string, AgreementTemplate[]>> {
  const out = new Map<string, AgreementTemplate[]>(keys.map((k) => [currentKey(k.type, k.country), []]));
  if (keys.length === 0) return out;
  const rows = await queryRows<TemplateRow & { key_type: string; key_country: string }>(em, CURRENT_TEMPLATES, [
    keys.map((k) => k.type),
    keys.map((k) => k.country.toUpperCase()),
    day,
  ]);
  for (const r of rows) out.get(currentKey(r.key_type, r.key_country))?.push(plainTemplate(r));
  return out;
}

export const currentKey = (type: string, country: string) => `${type}|${country.toUpperCase()}`;

/** The current template of `type` for `country` on `day`, in `language` where a translation fits. */
export async function currentTemplate(em: EntityManager, q: { type: string; country: string; language?: string | null; day: string }): Promise<AgreementTemplate | null> {
  const translations = (await currentTemplates(em, [q], q.day)).get(currentKey(q.type, q.country)) ?? [];
  return preferredTranslation(translations, q.language);
}
