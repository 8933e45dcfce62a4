/**
 * Pure helpers around the current template (DESIGN.md section 3). The rule itself, which
 * template is current, is SQL (`current_agreement_templates`, see agreement.queries.ts),
 * so that statements and TypeScript ask the same one.
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
