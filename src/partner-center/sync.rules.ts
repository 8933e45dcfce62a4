/** The delivery rules of the issue, as pure functions (table-tested in test/partner-center/rules.test.ts). */
import { untrustedText, type Echoed } from './untrusted';

/** Partner Center's "PartnerConfirmedAgreementAlreadyExists": the confirmation is already there. */
export const ALREADY_EXISTS_CODE = 600061;
/** No retry waits longer than this, unless Partner Center's Retry-After asks for more. */
export const MAX_BACKOFF_MS = 15 * 60_000;
/** A Retry-After beyond this is taken as this (a misbehaving upstream must not park a sync for ever). */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

export type DeliveryOutcome =
  | { kind: 'synced'; alreadyExisted: boolean }
  | { kind: 'already_exists'; message: string }
  | { kind: 'unauthorized'; message: string }
  | { kind: 'retry'; message: string; retryAfterMs?: number }
  | { kind: 'failed'; message: string };

/** An upstream code is kept only when it looks like one (digits, or a word like `invalid_grant`), never as free text. */
export function upstreamCode(code: unknown): string | undefined {
  if (typeof code === 'number' && Number.isFinite(code)) return String(code);
  if (typeof code === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(code)) return code;
  return undefined;
}

/**
 * The gateway's words with the upstream status and code, and upstream's own words kept
 * short: `description` (Partner Center), `message`, else the text. Those words are
 * untrusted: secrets of the call are redacted and contact data masked (`echoed`) before
 * they are cut short, so no part of a secret survives the cut.
 */
export function upstreamMessage(status: number, body: unknown, text: string, echoed: Echoed = {}): string {
  const b = (body ?? {}) as { description?: unknown; message?: unknown; error_description?: unknown; code?: unknown };
  const said = [b.description, b.message, b.error_description].find((v) => typeof v === 'string' && v.trim()) as string | undefined;
  const detail = untrustedText(said ?? text ?? '', echoed).replace(/\s+/g, ' ').trim().slice(0, 500);
  const code = upstreamCode(b.code);
  return `Partner Center answered ${status}${code ? ` (code ${code})` : ''}${detail ? `: ${detail}` : ''}`;
}

/** Seconds or an HTTP date, as milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_RETRY_AFTER_MS);
}

/** The contact and template a confirmation sent, to compare with an upstream record. */
export interface SentConfirmation {
  templateId: string;
  contact: { firstName: string; lastName: string; email: string; phoneNumber: string | null };
}

const same = (a: unknown, b: string | null | undefined) => String(a ?? '').trim().toLowerCase() === String(b ?? '').trim().toLowerCase();

/**
 * Whether the customer's upstream records (`GET /v1/customers/{id}/agreements` body) hold
 * this confirmation: its template and the same contact (first and last name, e-mail,
 * phone; compared without case and surrounding blanks, a missing phone as empty).
 */
export function matchesUpstreamRecord(body: unknown, sent: SentConfirmation): boolean {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) return false;
  return items.some((item) => {
    const c = (item?.primaryContact ?? {}) as Record<string, unknown>;
    return (
      same(item?.templateId, sent.templateId) &&
      same(c.firstName, sent.contact.firstName) &&
      same(c.lastName, sent.contact.lastName) &&
      same(c.email, sent.contact.email) &&
      same(c.phoneNumber, sent.contact.phoneNumber)
    );
  });
}

/** What one answer to the confirmation POST means (600061 is `already_exists`: checked against the upstream record by the delivery). */
export function classifyConfirmation(status: number, body: unknown, text: string, retryAfter?: string | null, now?: number, echoed?: Echoed): DeliveryOutcome {
  if (status === 201 || status === 200) return { kind: 'synced', alreadyExisted: false };
  const code = Number((body as { code?: unknown } | null)?.code);
  const message = upstreamMessage(status, body, text, echoed);
  if ((status === 400 || status === 409) && code === ALREADY_EXISTS_CODE) return { kind: 'already_exists', message };
  if (status === 401) return { kind: 'unauthorized', message };
  if (status === 429) return { kind: 'retry', message, retryAfterMs: parseRetryAfter(retryAfter, now) };
  if (status >= 500) return { kind: 'retry', message, retryAfterMs: parseRetryAfter(retryAfter, now) };
  if (status === 408) return { kind: 'retry', message };
  // Every other 4xx is a business answer: it fails at once with its code.
  return { kind: 'failed', message };
}

/**
 * The wait before attempt `attempt + 1`: the base doubling per attempt, with
 * "equal jitter" (between half and all of it) so a burst of failures spreads out,
 * capped at 15 minutes; a longer Retry-After wins.
 */
export function retryDelayMs(attempt: number, baseMs: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const exp = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(exp / 2 + (random() * exp) / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}
