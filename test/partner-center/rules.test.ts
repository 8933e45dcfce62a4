import { classifyConfirmation, MAX_BACKOFF_MS, parseRetryAfter, retryDelayMs, upstreamMessage } from '../../src/partner-center/sync.rules';
import { CredentialCipher, redact } from '../../src/partner-center/credentials';

describe('what an answer to the confirmation POST means', () => {
  test.each([
    ['201 created: synced', 201, {}, { kind: 'synced', alreadyExisted: false }],
    ['400 with code 600061: already exists, to be checked against the upstream record', 400, { code: 600061, description: 'PartnerConfirmedAgreementAlreadyExists' }, { kind: 'already_exists' }],
    ['409 with code 600061: the same', 409, { code: 600061, description: 'PartnerConfirmedAgreementAlreadyExists' }, { kind: 'already_exists' }],
    ['401: refresh the token once', 401, { description: 'Unauthorized' }, { kind: 'unauthorized' }],
    ['429: retry', 429, {}, { kind: 'retry' }],
    ['500: retry', 500, {}, { kind: 'retry' }],
    ['503: retry', 503, {}, { kind: 'retry' }],
    ['408: retry', 408, {}, { kind: 'retry' }],
    ['other 400: failed at once', 400, { code: 2001, description: 'Invalid template' }, { kind: 'failed', message: 'Partner Center answered 400 (code 2001): Invalid template' }],
    ['403: failed at once', 403, { description: 'Forbidden' }, { kind: 'failed' }],
    ['404: failed at once', 404, null, { kind: 'failed' }],
  ])('%s', (_name, status, body, expected) => {
    expect(classifyConfirmation(status as number, body, JSON.stringify(body))).toMatchObject(expected as object);
  });

  test('Retry-After in seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('garbage', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(classifyConfirmation(429, {}, '', '3', now)).toEqual({ kind: 'retry', message: 'Partner Center answered 429', retryAfterMs: 3000 });
  });

  test('the upstream message is kept short and whitespace-folded', () => {
    expect(upstreamMessage(400, null, 'x'.repeat(2000)).length).toBeLessThan(600);
    expect(upstreamMessage(502, null, 'bad\n  gateway')).toBe('Partner Center answered 502: bad gateway');
  });
});

describe('the retry delay', () => {
  test('doubles per attempt with jitter between half and all of it', () => {
    expect(retryDelayMs(1, 1000, undefined, () => 0)).toBe(500);
    expect(retryDelayMs(1, 1000, undefined, () => 1)).toBe(1000);
    expect(retryDelayMs(3, 1000, undefined, () => 1)).toBe(4000);
    expect(retryDelayMs(3, 1000, undefined, () => 0)).toBe(2000);
  });

  test('is capped at 15 minutes', () => {
    expect(retryDelayMs(30, 1000, undefined, () => 1)).toBe(MAX_BACKOFF_MS);
    expect(MAX_BACKOFF_MS).toBe(900_000);
  });

  test('a longer Retry-After wins; a shorter one does not', () => {
    expect(retryDelayMs(1, 1000, 60_000, () => 1)).toBe(60_000);
    expect(retryDelayMs(5, 1000, 10, () => 1)).toBe(16_000);
    expect(retryDelayMs(30, 1000, 3_600_000, () => 1)).toBe(3_600_000);
  });
});

describe('credentials at rest', () => {
  const cipher = new CredentialCipher('a-key-of-at-least-thirty-two-characters!!');

  test('round trip, a fresh IV each time, bound to partner and field', () => {
    const a = cipher.encrypt('s3cret', 'p1', 'clientSecret');
    const b = cipher.encrypt('s3cret', 'p1', 'clientSecret');
    expect(a).not.toBe(b);
    expect(a).not.toContain('s3cret');
    expect(cipher.decrypt(a, 'p1', 'clientSecret')).toBe('s3cret');
    expect(() => cipher.decrypt(a, 'p2', 'clientSecret')).toThrow(/cannot be decrypted/);
    expect(() => cipher.decrypt(a, 'p1', 'refreshToken')).toThrow(/cannot be decrypted/);
    expect(() => new CredentialCipher('another-key-of-at-least-thirty-two-chars').decrypt(a, 'p1', 'clientSecret')).toThrow(/cannot be decrypted/);
  });

  test('redact removes every given secret', () => {
    expect(redact('got abc123 and abc123 and xyz789', ['abc123', 'xyz789', null])).toBe('got [redacted] and [redacted] and [redacted]');
  });
});
