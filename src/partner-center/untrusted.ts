import { maskEmail, maskName, maskPhone } from '../auth/mask';

/**
 * Upstream text is untrusted: an error from Partner Center or the token endpoint may
 * quote what it was sent. Before such text is kept (a sync's lastError, the audit note,
 * the export, a log line) secrets are redacted and contact data masked, in each form an
 * echo may take.
 */

/** Values a call carried that its answer may echo. */
export interface Echoed {
  /** Replaced by `[redacted]`. */
  secrets?: readonly (string | null | undefined)[];
  /** The contact the call sent: masked as analysts see contact data. */
  contact?: { firstName?: string | null; lastName?: string | null; email?: string | null; phoneNumber?: string | null };
}

/** A value as it may come back: as sent, URL-encoded (component or form), JSON-escaped (as is, ASCII-only, with escaped slashes). */
export function encodingsOf(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const variants = [
    value,
    encodeURIComponent(value),
    new URLSearchParams({ v: value }).toString().slice(2),
    json,
    json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    json.replace(/\//g, '\\/'),
  ];
  // Longest first, so a longer form is replaced whole rather than in part.
  return [...new Set(variants)].sort((a, b) => b.length - a.length);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every form of `value` in `text` replaced by `by` (any letter case: percent-escapes vary). */
function replaceEchoes(text: string, value: string, by: string, wholeWords = false): string {
  const forms = encodingsOf(value).map(escapeRegExp).join('|');
  const pattern = wholeWords ? `(?<![\\p{L}\\p{N}])(?:${forms})(?![\\p{L}\\p{N}])` : `(?:${forms})`;
  return text.replace(new RegExp(pattern, 'giu'), () => by);
}

/** Secrets (four characters or more) in every form, as `[redacted]`. */
export function redactSecrets(text: string, secrets: Echoed['secrets'] = []): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => (b?.length ?? 0) - (a?.length ?? 0))) if (s && s.length >= 4) out = replaceEchoes(out, s, '[redacted]');
  return out;
}

const EMAIL = /[\p{L}\p{N}._%+'-]+(?:@|%40)[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/giu;
/** International numbers as people write them: a plus (or its escape), then at least 7 digits with separators. */
const PHONE = /(?:\+|%2B)\d[\d ().-]{5,}\d/gi;

/** The call's contact values in every form, then any e-mail address or international number left, masked. */
export function maskContact(text: string, contact: Echoed['contact'] = {}): string {
  let out = text;
  if (contact.email) out = replaceEchoes(out, contact.email, maskEmail(contact.email));
  if (contact.phoneNumber) {
    out = replaceEchoes(out, contact.phoneNumber, maskPhone(contact.phoneNumber));
    const digits = contact.phoneNumber.replace(/\D/g, '');
    if (digits.length >= 7) out = replaceEchoes(out, digits, maskPhone(digits), true);
  }
  for (const name of [contact.firstName, contact.lastName]) {
    const trimmed = name?.trim();
    if (trimmed && trimmed.length >= 2) out = replaceEchoes(out, trimmed, maskName(trimmed), true);
  }
  return out.replace(EMAIL, (m) => maskEmail(m.replace(/%40/i, '@'))).replace(PHONE, (m) => maskPhone(m));
}

/** Untrusted text made fit to keep: secrets redacted, contact data masked. */
export function untrustedText(text: string, echoed: Echoed = {}): string {
  return maskContact(redactSecrets(text, echoed.secrets), echoed.contact);
}
