import { isISO31661Alpha2 } from 'class-validator';
import { BadUserInputError } from '../errors';

/**
 * An ISO 3166-1 alpha-2 code, upper-cased (`de` → `DE`). `allowGlobal` also admits
 * GLOBAL, the country of templates that apply everywhere.
 */
export function normalizeCountry(value: string | null | undefined, field: string, opts: { allowGlobal?: boolean } = {}): string {
  const code = (value ?? '').trim().toUpperCase();
  if (opts.allowGlobal && code === 'GLOBAL') return code;
  if (!isISO31661Alpha2(code)) {
    throw new BadUserInputError(
      `${field} must be an ISO 3166-1 alpha-2 country code${opts.allowGlobal ? ' or GLOBAL' : ''}, e.g. US`,
      field,
    );
  }
  return code;
}
