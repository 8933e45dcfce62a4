import { classifyConfirmation, matchesUpstreamRecord, MAX_BACKOFF_MS, parseRetryAfter, retryDelayMs, upstreamMessage } from '../../src/partner-center/sync.rules';
import { metadataItemOf } from '../../src/partner-center/partner-center.service';
import { loggedPath } from '../../src/partner-center/exchange.queries';
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

describe('600061: does an upstream record hold this confirmation?', () => {
  const sent = { templateId: 'T-1', contact: { firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', phoneNumber: null as string | null } };
  const record = (over: Record<string, unknown> = {}, contact: Record<string, unknown> = {}) => ({
    templateId: 'T-1',
    primaryContact: { firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', ...contact },
    ...over,
  });
  test.each([
    ['the same template and contact', [record()], true],
    ['case and surrounding blanks aside', [record({}, { email: ' GRACE@example.com', lastName: 'hopper ' })], true],
    ['among older records (history kept)', [record({ templateId: 'T-0' }), record()], true],
    ['another template', [record({ templateId: 'T-2' })], false],
    ['another e-mail', [record({}, { email: 'g.hopper@example.com' })], false],
    ['a phone upstream, none sent', [record({}, { phoneNumber: '+14255550123' })], false],
    ['no records', [], false],
  ])('%s', (_name, items, expected) => {
    expect(matchesUpstreamRecord({ totalCount: items.length, items }, sent)).toBe(expected);
  });
  test('a body without items matches nothing', () => {
    expect(matchesUpstreamRecord(null, sent)).toBe(false);
    expect(matchesUpstreamRecord({ items: 'x' }, sent)).toBe(false);
  });
});

describe('agreement metadata items, in either documented spelling', () => {
  test.each([
    ['agreementType and versionRank', { templateId: 't', agreementType: 'MicrosoftCustomerAgreement', agreementLink: 'https://l', versionRank: 2 }, { templateId: 't', agreementType: 'MicrosoftCustomerAgreement', agreementLink: 'https://l', versionRank: 2 }],
    ['type and VersionRank', { templateId: ' t ', type: 'MicrosoftCloudAgreement', agreementLink: 'https://l', VersionRank: 0 }, { templateId: 't', agreementType: 'MicrosoftCloudAgreement', agreementLink: 'https://l', versionRank: 0 }],
    ['no type', { templateId: 't', agreementLink: 'https://l', versionRank: 1 }, undefined],
    ['no rank', { templateId: 't', type: 'MicrosoftCloudAgreement', agreementLink: 'https://l' }, undefined],
    ['no template id', { templateId: ' ', type: 'MicrosoftCloudAgreement', agreementLink: 'https://l', versionRank: 1 }, undefined],
  ])('%s', (_name, item, expected) => {
    expect(metadataItemOf(item)).toEqual(expected);
  });
});

describe('the exchange log keeps paths without secrets', () => {
  test.each([
    ['/v1/customers/abc/agreements?agreementType=*', '/v1/customers/abc/agreements?agreementType=*'],
    ['https://api.example/v1/agreementtemplates/t/document?language=en-US&country=US', '/v1/agreementtemplates/t/document?language=en-US&country=US'],
    ['/v1/attestations/enhanced/x?token=SECRET&code=abc', '/v1/attestations/enhanced/x'],
    ['/v1/agreements?agreementType=grace@example.com', '/v1/agreements'],
  ])('%s', (input, logged) => {
    expect(loggedPath(input)).toBe(logged);
  });
});
