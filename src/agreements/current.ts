import { GLOBAL } from './agreement.enums';

/**
 * Which template is current: DESIGN.md section 3, as pure functions so the
 * agreements API, the acceptance feature (outdated checks) and the transaction
 * gate all answer the same.
 */

/** The facts about a template the selection depends on. */
export interface TemplateFacts {
  templateId: string;
  type: string;
  versionRank: number;
  country: string;
  language: string;
  /** YYYY-MM-DD. */
  effectiveFrom: string;
}

export interface CurrentQuery {
  type: string;
  /** ISO 3166-1 alpha-2 (any case) or GLOBAL. */
  country: string;
  /** Preferred BCP 47 language; only breaks ties between templates of the same rank. */
  language?: string | null;
  /** YYYY-MM-DD: templates with `effectiveFrom <= today` are effective. */
  today: string;
}

/** Today's calendar date in UTC, the day agreements are judged on. */
export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/**
 * The most likely language of a country (DE → de, US → en), from the Unicode
 * likely-subtags data built into Intl; used to pick among translations of the
 * current version when nothing better is known.
 */
export function languageOfCountry(country: string): string | null {
  if (!/^[A-Za-z]{2}$/.test(country)) return null;
  try {
    return new Intl.Locale(`und-${country.toUpperCase()}`).maximize().language;
  } catch {
    return null;
  }
}

export function isEffective(t: Pick<TemplateFacts, 'effectiveFrom'>, today: string): boolean {
  // YYYY-MM-DD strings order like the dates they name.
  return t.effectiveFrom <= today;
}

/**
 * How well a template's language fits the wanted one: 2 the same tag, 1 the same
 * primary language (de-AT for de-DE), 0 otherwise.
 */
export function languageFit(templateLanguage: string, wanted: string | null | undefined): number {
  if (!wanted) return 0;
  const a = templateLanguage.toLowerCase();
  const b = wanted.toLowerCase();
  if (a === b) return 2;
  return a.split('-')[0] === b.split('-')[0] ? 1 : 0;
}

/**
 * The current template of a type for a country: among the effective templates of
 * that country (or, when the country has none, of GLOBAL), the highest
 * `versionRank`. Templates of one rank are translations of one version, so the
 * language only chooses among them: the best `languageFit`, then the smallest
 * `templateId` so the answer is stable. Null when nothing is effective.
 */
export function currentTemplate<T extends TemplateFacts>(templates: readonly T[], q: CurrentQuery): T | null {
  const country = q.country.toUpperCase();
  const effective = templates.filter((t) => t.type === q.type && isEffective(t, q.today));
  let candidates = effective.filter((t) => t.country.toUpperCase() === country);
  if (candidates.length === 0 && country !== GLOBAL) candidates = effective.filter((t) => t.country.toUpperCase() === GLOBAL);
  let best: T | null = null;
  for (const t of candidates) {
    if (!best || compare(t, best, q.language) < 0) best = t;
  }
  return best;
}

/** Negative when `a` is preferred over `b`. */
function compare(a: TemplateFacts, b: TemplateFacts, language: string | null | undefined): number {
  if (a.versionRank !== b.versionRank) return b.versionRank - a.versionRank;
  const fit = languageFit(b.language, language) - languageFit(a.language, language);
  if (fit !== 0) return fit;
  return a.templateId < b.templateId ? -1 : a.templateId > b.templateId ? 1 : 0;
}

/**
 * Whether a template is current where it applies (its own type and country): it is
 * effective and of the current rank. Every translation of the current version counts.
 */
export function isCurrentTemplate(t: TemplateFacts, current: TemplateFacts | null, today: string): boolean {
  return (
    current !== null &&
    isEffective(t, today) &&
    current.type === t.type &&
    current.country.toUpperCase() === t.country.toUpperCase() &&
    current.versionRank === t.versionRank
  );
}
