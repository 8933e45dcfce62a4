import { normalizeLanguage } from '../agreements/agreement.rules';
import { normalizeCountry } from '../customers/country';
import { optionalText } from '../acceptance/acceptance.rules';
import { BadUserInputError } from '../errors';

/** The link lifetime Partner Center accepts (`expirationTimeInMinutes`, PARTNER-CENTER.md section 4). */
export const MIN_LINK_MINUTES = 5;
export const MAX_LINK_MINUTES = 10_080;
export const DEFAULT_LINK_MINUTES = 4_320;

export interface AttestationOptions {
  linkLifetimeMinutes: number;
  language: string;
  /** Null: the customer's. */
  country: string | null;
  /** Null: the customer's. */
  companyName: string | null;
}

/** The checks of a request that need no lookup, in input order, each failing on its own field. */
export function checkAttestationOptions(input: {
  linkLifetimeMinutes?: number | null;
  language: string;
  country?: string | null;
  companyName?: string | null;
}): AttestationOptions {
  const minutes = input.linkLifetimeMinutes ?? DEFAULT_LINK_MINUTES;
  if (!Number.isInteger(minutes) || minutes < MIN_LINK_MINUTES || minutes > MAX_LINK_MINUTES) {
    throw new BadUserInputError(`linkLifetimeMinutes must be between ${MIN_LINK_MINUTES} and ${MAX_LINK_MINUTES} (7 days)`, 'linkLifetimeMinutes');
  }
  const language = normalizeLanguage(input.language, 'language');
  const country = input.country === null || input.country === undefined ? null : normalizeCountry(input.country, 'country');
  const companyName = optionalText(input.companyName, 'companyName');
  if (input.companyName !== null && input.companyName !== undefined && !companyName) {
    throw new BadUserInputError('companyName may not be blank (omit it to use the customer\'s)', 'companyName');
  }
  return { linkLifetimeMinutes: minutes, language, country, companyName };
}
