import { checkAttestationOptions, DEFAULT_LINK_MINUTES } from '../../src/attestations/attestation.rules';
import { parseUpstreamAttestation, UpstreamRefusal } from '../../src/attestations/attestation.upstream';
import { mayReadAcceptanceUrl } from '../../src/attestations/attestation.resolver';
import { Role } from '../../src/auth/roles';
import type { Viewer } from '../../src/auth/viewer';

/** The pure rules of an attestation request and of reading upstream answers. */

const base = { language: 'en-US' };
const fieldOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as { extensions?: { field?: string } }).extensions?.field;
  }
  return undefined;
};

describe('checkAttestationOptions', () => {
  it('the link lifetime defaults to 3 days and must lie within 5..10080 minutes', () => {
    expect(checkAttestationOptions(base).linkLifetimeMinutes).toBe(DEFAULT_LINK_MINUTES);
    expect(checkAttestationOptions({ ...base, linkLifetimeMinutes: 5 }).linkLifetimeMinutes).toBe(5);
    expect(checkAttestationOptions({ ...base, linkLifetimeMinutes: 10080 }).linkLifetimeMinutes).toBe(10080);
    for (const m of [4, 10081, 0, -1, 2.5]) expect(fieldOf(() => checkAttestationOptions({ ...base, linkLifetimeMinutes: m }))).toBe('linkLifetimeMinutes');
  });

  it('language is a BCP 47 tag in canonical form; country an ISO alpha-2 code, upper-cased; company name trimmed, never blank', () => {
    expect(checkAttestationOptions({ language: 'de-de', country: 'de', companyName: ' Contoso ' })).toEqual({ linkLifetimeMinutes: 4320, language: 'de-DE', country: 'DE', companyName: 'Contoso' });
    expect(checkAttestationOptions(base)).toMatchObject({ country: null, companyName: null });
    expect(fieldOf(() => checkAttestationOptions({ language: 'not a tag' }))).toBe('language');
    expect(fieldOf(() => checkAttestationOptions({ ...base, country: 'USA' }))).toBe('country');
    expect(fieldOf(() => checkAttestationOptions({ ...base, country: 'XX' }))).toBe('country');
    expect(fieldOf(() => checkAttestationOptions({ ...base, companyName: '  ' }))).toBe('companyName');
  });
});

describe('parseUpstreamAttestation', () => {
  it('reads the PROVISIONAL shape (status case-insensitively), else nothing', () => {
    expect(parseUpstreamAttestation({ id: 'a1', status: 'linkgenerated', acceptanceLink: 'https://x', expirationTime: '2026-12-03T00:00:00Z' })).toEqual({
      id: 'a1',
      status: 'LinkGenerated',
      acceptanceLink: 'https://x',
      expirationTime: new Date('2026-12-03T00:00:00Z'),
      acceptedAt: null,
    });
    expect(parseUpstreamAttestation({ id: 'a1', status: 'CustomerAccepted', acceptedAt: '2026-12-02T10:00:00Z' })?.acceptedAt).toEqual(new Date('2026-12-02T10:00:00Z'));
    expect(parseUpstreamAttestation({ id: 'a1', status: 'Unknown' })).toBeNull();
    expect(parseUpstreamAttestation({ status: 'LinkGenerated' })).toBeNull();
    expect(parseUpstreamAttestation(null)).toBeNull();
  });

  it('a refusal shows its upstream code first in lastError', () => {
    expect(new UpstreamRefusal(400, '600070', 'not accepted').lastError).toBe('600070: not accepted');
    expect(new UpstreamRefusal(404, null, 'gone').lastError).toBe('HTTP 404: gone');
  });
});

describe('mayReadAcceptanceUrl', () => {
  const partner = { id: 'p1' } as never;
  const viewer = (roles: Role[], partnerId?: string): Viewer => ({ userId: 'u', displayName: 'U', roles, partnerId });
  it("only the billing partner's ADMIN and AGENT", () => {
    expect(mayReadAcceptanceUrl(viewer([Role.ADMIN], 'p1'), { partner })).toBe(true);
    expect(mayReadAcceptanceUrl(viewer([Role.AGENT], 'p1'), { partner })).toBe(true);
    expect(mayReadAcceptanceUrl(viewer([Role.VIEWER], 'p1'), { partner })).toBe(false);
    expect(mayReadAcceptanceUrl(viewer([Role.ADMIN], 'p2'), { partner })).toBe(false);
    expect(mayReadAcceptanceUrl(viewer([Role.PLATFORM_ADMIN]), { partner })).toBe(false);
    expect(mayReadAcceptanceUrl(viewer([Role.ANALYST]), { partner })).toBe(false);
    expect(mayReadAcceptanceUrl(null, { partner })).toBe(false);
  });
});
