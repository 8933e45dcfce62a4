import { randomUUID } from 'node:crypto';
import { normalizeCountry } from '../customers/country';
import { BadUserInputError } from '../errors';
import type { AgreementType } from './agreement.enums';
import type { PublishAgreementInput } from './agreement.inputs';

export interface TemplateData {
  templateId: string;
  type: AgreementType;
  version: string;
  versionRank: number;
  country: string;
  language: string;
  displayUri: string;
  effectiveFrom: string;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const MAX_RANK = 2_147_483_647;

/** A BCP 47 tag in canonical form (`en-us` → `en-US`). */
export function normalizeLanguage(value: string | null | undefined, field: string): string {
  const tag = (value ?? '').trim();
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    if (canonical) return canonical;
  } catch {
    // RangeError: not a well-formed tag
  }
  throw new BadUserInputError(`${field} must be a BCP 47 language tag, e.g. en-US`, field);
}

/** The checks of a publication, in input order, each failing on its own field. */
export function normalizePublishInput(input: PublishAgreementInput): TemplateData {
  let templateId = input.templateId?.trim() ?? '';
  if (input.templateId !== undefined && input.templateId !== null && !templateId) {
    throw new BadUserInputError('templateId may not be blank (omit it to have one generated)', 'templateId');
  }
  if (!templateId) templateId = randomUUID();
  if (templateId.length > 255 || !ID_PATTERN.test(templateId)) {
    throw new BadUserInputError('templateId may contain letters, digits, dots, colons, dashes and underscores', 'templateId');
  }
  const version = input.version.trim();
  if (!version) throw new BadUserInputError('version is required', 'version');
  if (version.length > 255) throw new BadUserInputError('version is longer than 255 characters', 'version');
  if (!Number.isInteger(input.versionRank) || input.versionRank < 1 || input.versionRank > MAX_RANK) {
    throw new BadUserInputError('versionRank must be an integer of 1 or more', 'versionRank');
  }
  const country = normalizeCountry(input.country, 'country', { allowGlobal: true });
  const language = normalizeLanguage(input.language, 'language');
  const displayUri = input.displayUri.trim();
  let url: URL | undefined;
  try {
    url = new URL(displayUri);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname) {
    throw new BadUserInputError('displayUri must be an http or https URL', 'displayUri');
  }
  return { templateId, type: input.type, version, versionRank: input.versionRank, country, language, displayUri, effectiveFrom: input.effectiveFrom };
}
