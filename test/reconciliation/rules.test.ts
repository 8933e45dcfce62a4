import { DriftKind } from '../../src/reconciliation/reconciliation.enums';
import { dayOf, differingFields, driftOf, latestOf, type LocalState } from '../../src/reconciliation/reconciliation.rules';
import type { UpstreamAgreement } from '../../src/reconciliation/reconciliation.upstream';

/** The drift rules as a pure function (DESIGN.md section 11), table by table. */

const MCA = '117a77b0-9360-443b-8795-c6dedc750cf9';
const OTHER = 'f0f0f0f0-0000-4000-8000-000000000001';
const ada = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phoneNumber: null };
const record = (over: Partial<UpstreamAgreement> = {}): UpstreamAgreement => ({ templateId: MCA, type: 'MicrosoftCustomerAgreement', dateAgreed: '2025-09-01T10:00:00Z', primaryContact: ada, ...over });
const active = (over: Partial<NonNullable<LocalState['active']>> = {}): LocalState => ({
  active: { id: 'a1', templateId: MCA, dateAgreed: '2025-09-01', contact: ada, onRecordUpstream: true, ...over },
  withdrawn: false,
  directKnown: false,
});
const nothing: LocalState = { active: null, withdrawn: false, directKnown: false };
const known = () => true;
const kinds = (local: LocalState, agreements: UpstreamAgreement[], directSigned: boolean | null = false, knownTemplate = known) =>
  driftOf(local, { agreements, directSigned }, knownTemplate).map((f) => f.kind);

describe('driftOf', () => {
  it.each([
    ['in step: the same template and contact upstream', active(), [record()], []],
    ['MISSING_UPSTREAM: synced locally, no record upstream', active(), [], [DriftKind.MISSING_UPSTREAM]],
    ['not drift: not delivered yet (PENDING, FAILED, NOT_CONNECTED)', active({ onRecordUpstream: false }), [], []],
    ['MISSING_UPSTREAM: only another template upstream, same contact', active(), [record({ templateId: OTHER })], [DriftKind.MISSING_UPSTREAM]],
    ['CONTACT_DIFFERS: the latest record of the template has another email', active(), [record({ primaryContact: { ...ada, email: 'x@example.com' } })], [DriftKind.CONTACT_DIFFERS]],
    ['in step: an older record differs, the latest matches (history kept)', active(), [record({ dateAgreed: '2024-01-01T00:00:00Z', primaryContact: { ...ada, lastName: 'Byron' } }), record()], []],
    ['CONTACT_DIFFERS: the latest record of another template differs (never replacing the local one)', active(), [record({ templateId: OTHER, primaryContact: { ...ada, firstName: 'Augusta' } })], [DriftKind.CONTACT_DIFFERS]],
    ['in step: email case and phone spacing do not count', active({ contact: { ...ada, phoneNumber: '+1 425 555 0100' } }), [record({ primaryContact: { ...ada, email: 'ADA@example.com', phoneNumber: '+14255550100' } })], []],
    ['UNKNOWN_LOCALLY: a record upstream, no local confirmation', nothing, [record()], [DriftKind.UNKNOWN_LOCALLY]],
    ['nothing: no record anywhere', nothing, [], []],
  ])('%s', (_name, local, agreements, expected) => {
    expect(kinds(local, agreements)).toEqual(expected);
  });

  it('UNKNOWN_LOCALLY imports the latest record, unless the latest local confirmation was withdrawn or the template is unknown locally', () => {
    const latest = record({ dateAgreed: '2025-10-01T00:00:00Z', primaryContact: { ...ada, email: 'new@example.com' } });
    const [imported] = driftOf(nothing, { agreements: [record(), latest], directSigned: false }, known);
    expect(imported.importRecord).toBe(latest);
    expect(imported.detail).toContain('imported as a confirmation whose source is PARTNER_CENTER');
    const [withdrawn] = driftOf({ ...nothing, withdrawn: true }, { agreements: [record()], directSigned: false }, known);
    expect(withdrawn.kind).toBe(DriftKind.UNKNOWN_LOCALLY);
    expect(withdrawn.importRecord).toBeUndefined();
    expect(withdrawn.detail).toContain('not imported: the latest local confirmation was withdrawn');
    const [unknownTemplate] = driftOf(nothing, { agreements: [record()], directSigned: false }, () => false);
    expect(unknownTemplate.importRecord).toBeUndefined();
    expect(unknownTemplate.detail).toContain('template is unknown locally');
  });

  it('DIRECT_ACCEPTANCE_FOUND when signed directly and not known yet; never again once known; never when not signed', () => {
    expect(kinds(nothing, [], true)).toEqual([DriftKind.DIRECT_ACCEPTANCE_FOUND]);
    expect(driftOf(nothing, { agreements: [], directSigned: true }, known)[0].recordDirect).toBe(true);
    expect(kinds({ ...nothing, directKnown: true }, [], null)).toEqual([]);
    expect(kinds(nothing, [], false)).toEqual([]);
    expect(kinds(active(), [], true)).toEqual([DriftKind.MISSING_UPSTREAM, DriftKind.DIRECT_ACCEPTANCE_FOUND]);
  });

  it('never puts a contact value in a detail', () => {
    const secretish = { firstName: 'Zelda', lastName: 'Quux', email: 'zelda.quux@example.org', phoneNumber: '+14255550199' };
    const findings = [
      ...driftOf(active(), { agreements: [record({ primaryContact: secretish })], directSigned: true }, known),
      ...driftOf(nothing, { agreements: [record({ primaryContact: secretish })], directSigned: false }, known),
      ...driftOf(active({ contact: secretish }), { agreements: [], directSigned: false }, known),
    ];
    expect(findings.length).toBeGreaterThanOrEqual(3);
    for (const f of findings) expect(f.detail).not.toMatch(/Zelda|Quux|zelda|example\.org|5550199|Ada|Lovelace|ada@/);
  });
});

describe('helpers', () => {
  it('differingFields names the fields, not the values', () => {
    expect(differingFields(ada, { ...ada, email: 'x@example.com', phoneNumber: '+14255550100' })).toEqual(['email', 'phoneNumber']);
  });

  it('latestOf: the highest dateAgreed, the later of equal ones', () => {
    const a = record({ dateAgreed: '2025-01-01T00:00:00Z' });
    const b = record({ dateAgreed: '2025-02-01T00:00:00Z' });
    const c = record({ dateAgreed: '2025-02-01T00:00:00Z', templateId: OTHER });
    expect(latestOf([b, a])).toBe(b);
    expect(latestOf([a, b, c])).toBe(c);
    expect(latestOf([])).toBeNull();
  });

  it('dayOf: the UTC day of an ISO date-time or date; null when unreadable', () => {
    expect(dayOf('2025-09-01T23:30:00-02:00')).toBe('2025-09-02');
    expect(dayOf('2025-09-01')).toBe('2025-09-01');
    expect(dayOf('yesterday')).toBeNull();
  });
});
