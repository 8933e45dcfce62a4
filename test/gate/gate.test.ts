import { Channel } from '../../src/acceptance/acceptance.enums';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { ruleInForce } from '../../src/policy/policy.rules';
import { decide, type GateFacts } from '../../src/transactions/gate';
import { TransactionKind } from '../../src/transactions/transaction.enums';
import { DEFAULT_TIMELINE } from '../policy/timeline';

/**
 * DESIGN.md section 5, row by row, without a database, in the founding FAQ's era (the
 * Cloud Agreement, after both enforcement dates): the rule in force is the default
 * timeline's for the order's channel and time, as the facts' gatherer picks it.
 */

const CLOUD = AgreementType.MICROSOFT_CLOUD_AGREEMENT;
const CURRENT = { templateId: 'mca-v2', type: CLOUD, version: 'v2', versionRank: 2 };
const AFTER_ENFORCEMENT = new Date('2019-06-01T12:00:00Z');

const facts = (over: Partial<GateFacts> = {}): GateFacts => {
  const f: GateFacts = {
    kind: TransactionKind.NEW_PURCHASE,
    channel: Channel.API,
    requestedAt: AFTER_ENFORCEMENT,
    nationalCloud: false,
    acceptance: { status: 'ACTIVE', type: CLOUD, templateRank: 2, dateAgreed: '2018-10-01' },
    directAcceptance: null,
    rule: null,
    currentAgreement: CURRENT,
    existingCustomer: false,
    reseller: null,
    ...over,
  };
  return 'rule' in over ? f : { ...f, rule: ruleInForce(DEFAULT_TIMELINE, f.channel, f.requestedAt) };
};

const none = { status: 'NONE' } as const;
const withdrawn = { status: 'WITHDRAWN' } as const;
const outdated = { status: 'ACTIVE', type: CLOUD, templateRank: 1, dateAgreed: '2018-10-01' } as const;
const { NEW_PURCHASE, SEAT_CHANGE, RENEWAL, AUTO_RENEWAL } = TransactionKind;
const notLinked = { linkedToProvider: false, servesCustomer: true };
const notServing = { linkedToProvider: true, servesCustomer: false };
const authorized = { linkedToProvider: true, servesCustomer: true };

interface Row {
  rule: string;
  facts: Partial<GateFacts>;
  outcome: 'COMPLETED' | 'BLOCKED';
  blockReasons: string[];
  warnings: string[];
}

const rows: Row[] = [
  // Baseline.
  { rule: 'a current confirmation lets a new customer purchase', facts: {}, outcome: 'COMPLETED', blockReasons: [], warnings: [] },
  { rule: 'a current confirmation lets an existing customer renew', facts: { kind: RENEWAL, existingCustomer: true }, outcome: 'COMPLETED', blockReasons: [], warnings: [] },

  // Row 1: no active confirmation by the billing partner.
  ...[NEW_PURCHASE, SEAT_CHANGE, RENEWAL].map((kind) => ({
    rule: `no active confirmation blocks ${kind} with ACCEPTANCE_NOT_CONFIRMED`,
    facts: { kind, acceptance: none, existingCustomer: kind !== NEW_PURCHASE },
    outcome: 'BLOCKED' as const, blockReasons: ['ACCEPTANCE_NOT_CONFIRMED'], warnings: [],
  })),

  // Row 2: withdrawn.
  ...[NEW_PURCHASE, SEAT_CHANGE, RENEWAL].map((kind) => ({
    rule: `a withdrawn acceptance blocks ${kind} with ACCEPTANCE_WITHDRAWN (and not also NOT_CONFIRMED)`,
    facts: { kind, acceptance: withdrawn, existingCustomer: true },
    outcome: 'BLOCKED' as const, blockReasons: ['ACCEPTANCE_WITHDRAWN'], warnings: [],
  })),

  // Row 3: new customer, outdated template.
  ...[NEW_PURCHASE, SEAT_CHANGE, RENEWAL].map((kind) => ({
    rule: `a new customer with an outdated confirmed template is blocked on ${kind} with AGREEMENT_VERSION_OUTDATED`,
    facts: { kind, acceptance: outdated, existingCustomer: false },
    outcome: 'BLOCKED' as const, blockReasons: ['AGREEMENT_VERSION_OUTDATED'], warnings: [],
  })),

  // Row 4: RENEWAL after the agreement was updated.
  { rule: 'a RENEWAL after the agreement was updated is blocked with AGREEMENT_VERSION_OUTDATED', facts: { kind: RENEWAL, acceptance: outdated, existingCustomer: true }, outcome: 'BLOCKED', blockReasons: ['AGREEMENT_VERSION_OUTDATED'], warnings: [] },
  { rule: 'a RENEWAL of a new customer with an outdated template lists AGREEMENT_VERSION_OUTDATED once', facts: { kind: RENEWAL, acceptance: outdated, existingCustomer: false }, outcome: 'BLOCKED', blockReasons: ['AGREEMENT_VERSION_OUTDATED'], warnings: [] },
  { rule: 'a RENEWAL whose confirmed template is newer than the current one completes', facts: { kind: RENEWAL, acceptance: { status: 'ACTIVE', type: CLOUD, templateRank: 3, dateAgreed: '2018-10-01' }, existingCustomer: true }, outcome: 'COMPLETED', blockReasons: [], warnings: [] },

  // Row 5: existing customer, NEW_PURCHASE or SEAT_CHANGE, outdated.
  ...[NEW_PURCHASE, SEAT_CHANGE].map((kind) => ({
    rule: `an existing customer's ${kind} under an outdated template completes with AGREEMENT_UPDATE_AVAILABLE`,
    facts: { kind, acceptance: outdated, existingCustomer: true },
    outcome: 'COMPLETED' as const, blockReasons: [], warnings: ['AGREEMENT_UPDATE_AVAILABLE'],
  })),

  // Row 6: AUTO_RENEWAL never blocked by acceptance; would-be reasons become warnings.
  { rule: 'AUTO_RENEWAL without confirmation completes with warning ACCEPTANCE_NOT_CONFIRMED', facts: { kind: AUTO_RENEWAL, acceptance: none, existingCustomer: true }, outcome: 'COMPLETED', blockReasons: [], warnings: ['ACCEPTANCE_NOT_CONFIRMED'] },
  { rule: 'AUTO_RENEWAL after withdrawal completes with warning ACCEPTANCE_WITHDRAWN', facts: { kind: AUTO_RENEWAL, acceptance: withdrawn, existingCustomer: true }, outcome: 'COMPLETED', blockReasons: [], warnings: ['ACCEPTANCE_WITHDRAWN'] },
  { rule: 'AUTO_RENEWAL after the agreement was updated completes with warning AGREEMENT_VERSION_OUTDATED', facts: { kind: AUTO_RENEWAL, acceptance: outdated, existingCustomer: true }, outcome: 'COMPLETED', blockReasons: [], warnings: ['AGREEMENT_VERSION_OUTDATED'] },
  { rule: 'AUTO_RENEWAL under a current confirmation completes without warnings', facts: { kind: AUTO_RENEWAL, existingCustomer: true }, outcome: 'COMPLETED', blockReasons: [], warnings: [] },
  { rule: 'AUTO_RENEWAL is still blocked when the reseller is not authorized (not an acceptance rule)', facts: { kind: AUTO_RENEWAL, acceptance: none, existingCustomer: true, reseller: notLinked }, outcome: 'BLOCKED', blockReasons: ['RESELLER_NOT_AUTHORIZED'], warnings: ['ACCEPTANCE_NOT_CONFIRMED'] },

  // Row 7: reseller not linked, or not serving the customer.
  { rule: 'a reseller not linked to the provider is blocked with RESELLER_NOT_AUTHORIZED', facts: { reseller: notLinked }, outcome: 'BLOCKED', blockReasons: ['RESELLER_NOT_AUTHORIZED'], warnings: [] },
  { rule: 'a reseller not serving the customer is blocked with RESELLER_NOT_AUTHORIZED', facts: { reseller: notServing }, outcome: 'BLOCKED', blockReasons: ['RESELLER_NOT_AUTHORIZED'], warnings: [] },
  { rule: "a linked reseller serving the customer passes on the provider's confirmation", facts: { reseller: authorized }, outcome: 'COMPLETED', blockReasons: [], warnings: [] },

  // Row 8: national cloud.
  ...[NEW_PURCHASE, SEAT_CHANGE, RENEWAL, AUTO_RENEWAL].map((kind) => ({
    rule: `a national-cloud customer is not gated on ${kind}: warning ACCEPTANCE_NOT_APPLICABLE`,
    facts: { kind, nationalCloud: true, acceptance: none, existingCustomer: kind !== NEW_PURCHASE },
    outcome: 'COMPLETED' as const, blockReasons: [], warnings: ['ACCEPTANCE_NOT_APPLICABLE'],
  })),
  { rule: 'a national-cloud customer is still blocked for an unauthorized reseller', facts: { nationalCloud: true, acceptance: none, reseller: notServing }, outcome: 'BLOCKED', blockReasons: ['RESELLER_NOT_AUTHORIZED'], warnings: ['ACCEPTANCE_NOT_APPLICABLE'] },

  // Row 9: before the channel's enforcement date.
  { rule: 'before the DASHBOARD enforcement date (2018-11-07) a missing confirmation is a warning with BEFORE_ENFORCEMENT', facts: { channel: Channel.DASHBOARD, requestedAt: new Date('2018-11-06T23:59:59Z'), acceptance: none }, outcome: 'COMPLETED', blockReasons: [], warnings: ['ACCEPTANCE_NOT_CONFIRMED', 'BEFORE_ENFORCEMENT'] },
  { rule: 'from the DASHBOARD enforcement date on, a missing confirmation blocks', facts: { channel: Channel.DASHBOARD, requestedAt: new Date('2018-11-07T00:00:00Z'), acceptance: none }, outcome: 'BLOCKED', blockReasons: ['ACCEPTANCE_NOT_CONFIRMED'], warnings: [] },
  { rule: 'before the API enforcement date (2019-03-22) a missing confirmation is a warning with BEFORE_ENFORCEMENT', facts: { channel: Channel.API, requestedAt: new Date('2019-03-21T12:00:00Z'), acceptance: none }, outcome: 'COMPLETED', blockReasons: [], warnings: ['ACCEPTANCE_NOT_CONFIRMED', 'BEFORE_ENFORCEMENT'] },
  { rule: 'between the two enforcement dates the DASHBOARD blocks while the API only warns', facts: { channel: Channel.DASHBOARD, requestedAt: new Date('2019-01-15T12:00:00Z'), acceptance: none }, outcome: 'BLOCKED', blockReasons: ['ACCEPTANCE_NOT_CONFIRMED'], warnings: [] },
  { rule: 'from the API enforcement date on, a missing confirmation blocks', facts: { channel: Channel.API, requestedAt: new Date('2019-03-22T00:00:00Z'), acceptance: none }, outcome: 'BLOCKED', blockReasons: ['ACCEPTANCE_NOT_CONFIRMED'], warnings: [] },
  { rule: 'before enforcement a withdrawn acceptance is a warning with BEFORE_ENFORCEMENT', facts: { requestedAt: new Date('2018-01-01T00:00:00Z'), acceptance: withdrawn }, outcome: 'COMPLETED', blockReasons: [], warnings: ['ACCEPTANCE_WITHDRAWN', 'BEFORE_ENFORCEMENT'] },
  { rule: 'before enforcement an outdated renewal is a warning with BEFORE_ENFORCEMENT', facts: { kind: RENEWAL, requestedAt: new Date('2018-01-01T00:00:00Z'), acceptance: outdated, existingCustomer: true }, outcome: 'COMPLETED', blockReasons: [], warnings: ['AGREEMENT_VERSION_OUTDATED', 'BEFORE_ENFORCEMENT'] },
  { rule: 'before enforcement a compliant order still carries BEFORE_ENFORCEMENT', facts: { requestedAt: new Date('2018-01-01T00:00:00Z') }, outcome: 'COMPLETED', blockReasons: [], warnings: ['BEFORE_ENFORCEMENT'] },
  { rule: 'before enforcement an unauthorized reseller is still blocked', facts: { requestedAt: new Date('2018-01-01T00:00:00Z'), acceptance: none, reseller: notLinked }, outcome: 'BLOCKED', blockReasons: ['RESELLER_NOT_AUTHORIZED'], warnings: ['ACCEPTANCE_NOT_CONFIRMED', 'BEFORE_ENFORCEMENT'] },
  { rule: 'before enforcement an AUTO_RENEWAL lists each would-be reason once', facts: { kind: AUTO_RENEWAL, requestedAt: new Date('2018-01-01T00:00:00Z'), acceptance: none, existingCustomer: true }, outcome: 'COMPLETED', blockReasons: [], warnings: ['ACCEPTANCE_NOT_CONFIRMED', 'BEFORE_ENFORCEMENT'] },
  { rule: 'before enforcement a national-cloud order carries both ACCEPTANCE_NOT_APPLICABLE and BEFORE_ENFORCEMENT', facts: { nationalCloud: true, requestedAt: new Date('2018-01-01T00:00:00Z'), acceptance: none }, outcome: 'COMPLETED', blockReasons: [], warnings: ['ACCEPTANCE_NOT_APPLICABLE', 'BEFORE_ENFORCEMENT'] },

  // Combinations: every applicable reason, in the order of the table.
  { rule: 'several rows: no confirmation and an unauthorized reseller list both, in table order', facts: { acceptance: none, reseller: notLinked }, outcome: 'BLOCKED', blockReasons: ['ACCEPTANCE_NOT_CONFIRMED', 'RESELLER_NOT_AUTHORIZED'], warnings: [] },
  { rule: 'several rows: withdrawn and an unauthorized reseller list both, in table order', facts: { kind: SEAT_CHANGE, acceptance: withdrawn, existingCustomer: true, reseller: notServing }, outcome: 'BLOCKED', blockReasons: ['ACCEPTANCE_WITHDRAWN', 'RESELLER_NOT_AUTHORIZED'], warnings: [] },
  { rule: 'several rows: outdated renewal and an unauthorized reseller list both, in table order', facts: { kind: RENEWAL, acceptance: outdated, existingCustomer: true, reseller: notLinked }, outcome: 'BLOCKED', blockReasons: ['AGREEMENT_VERSION_OUTDATED', 'RESELLER_NOT_AUTHORIZED'], warnings: [] },
  { rule: 'several rows: update available and an unauthorized reseller: blocked, warning kept', facts: { kind: SEAT_CHANGE, acceptance: outdated, existingCustomer: true, reseller: notLinked }, outcome: 'BLOCKED', blockReasons: ['RESELLER_NOT_AUTHORIZED'], warnings: ['AGREEMENT_UPDATE_AVAILABLE'] },

  // Without a published template nothing can be outdated.
  { rule: 'with no template published, a confirmation is never outdated', facts: { kind: RENEWAL, acceptance: outdated, currentAgreement: null, existingCustomer: true }, outcome: 'COMPLETED', blockReasons: [], warnings: [] },
];

describe('the gate (DESIGN.md section 5)', () => {
  it.each(rows)('$rule', ({ facts: over, outcome, blockReasons, warnings }) => {
    const decision = decide(facts(over));
    expect(decision.outcome).toBe(outcome);
    expect(decision.blockReasons).toEqual(blockReasons);
    expect(decision.warnings).toEqual(warnings);
  });

  it('requiredAgreement is the current template when gated, null on a national cloud', () => {
    expect(decide(facts({ acceptance: none })).requiredAgreement).toEqual(CURRENT);
    expect(decide(facts({ nationalCloud: true })).requiredAgreement).toBeNull();
  });

  it('enforcement dates are policy data: another policy moves the boundary', () => {
    const later = DEFAULT_TIMELINE.map((r) => ({ ...r, effectiveFrom: r.effectiveFrom.replace(/^20(18|19)/, '2030') }));
    const d = decide(facts({ acceptance: none, rule: ruleInForce(later, Channel.API, AFTER_ENFORCEMENT) }));
    expect(d).toMatchObject({ outcome: 'COMPLETED', warnings: ['ACCEPTANCE_NOT_CONFIRMED', 'BEFORE_ENFORCEMENT'] });
  });

  it('the gate is pure: the same facts give the same decision and the facts are left untouched', () => {
    const f = facts({ acceptance: outdated, kind: RENEWAL, existingCustomer: true, reseller: notLinked });
    const copy = JSON.parse(JSON.stringify(f));
    expect(decide(f)).toEqual(decide(f));
    expect(JSON.parse(JSON.stringify(f))).toEqual(copy);
  });
});
