import { Channel } from '../../src/acceptance/acceptance.enums';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { firstRule, ruleInForce, type PolicyRule } from '../../src/policy/policy.rules';
import { decide, gateRequiredType, type AcceptanceState, type DirectAcceptanceFact, type GateFacts } from '../../src/transactions/gate';
import { TransactionKind } from '../../src/transactions/transaction.enums';
import { DEFAULT_TIMELINE } from '../policy/timeline';

/**
 * DESIGN.md section 10 without a database: one row per rule of the default timeline, on
 * both sides of its date, for every kind and channel. The rule in force is picked from
 * the timeline as the facts' gatherer picks it.
 */

const { MICROSOFT_CLOUD_AGREEMENT: CLOUD, MICROSOFT_CUSTOMER_AGREEMENT: CUSTOMER } = AgreementType;
const { NEW_PURCHASE, SEAT_CHANGE, RENEWAL, AUTO_RENEWAL } = TransactionKind;
const KINDS = [NEW_PURCHASE, SEAT_CHANGE, RENEWAL, AUTO_RENEWAL];
const CHANNELS = [Channel.DASHBOARD, Channel.API];

const current = (type: AgreementType) => ({ templateId: `${type}-v1`, type, version: 'v1', versionRank: 1 });
const confirmed = (type: AgreementType, dateAgreed: string): AcceptanceState => ({ status: 'ACTIVE', type, templateRank: 1, dateAgreed });

function facts(at: string, kind: TransactionKind, channel: Channel, acceptance: AcceptanceState, direct: DirectAcceptanceFact | null = null): GateFacts {
  const requestedAt = new Date(at);
  const rule = ruleInForce(DEFAULT_TIMELINE, channel, requestedAt);
  const type = gateRequiredType(rule ?? firstRule(DEFAULT_TIMELINE, channel), acceptance, direct);
  return {
    kind,
    channel,
    requestedAt,
    nationalCloud: false,
    acceptance,
    directAcceptance: direct,
    rule,
    currentAgreement: type ? current(type) : null,
    existingCustomer: true,
    reseller: null,
  };
}

/** The answer expected for `kind`: a block, or for AUTO_RENEWAL (and before enforcement) the same reasons as warnings. */
function expected(kind: TransactionKind, reasons: string[], before = false) {
  if (before) return { outcome: 'COMPLETED', blockReasons: [], warnings: [...reasons, 'BEFORE_ENFORCEMENT'] };
  if (kind === AUTO_RENEWAL || reasons.length === 0) return { outcome: 'COMPLETED', blockReasons: [], warnings: reasons };
  return { outcome: 'BLOCKED', blockReasons: reasons, warnings: [] };
}

interface Row {
  rule: string;
  at: string;
  channels: Channel[];
  acceptance: AcceptanceState;
  direct?: DirectAcceptanceFact;
  /** The reasons per kind (the same for every kind when a plain array). */
  reasons: string[] | ((kind: TransactionKind) => string[]);
  before?: boolean;
  ruleId: string | null;
}

/** Either founding rule, the one of the row's channel. */
const FOUNDING = 'founding';

const cloud2018 = confirmed(CLOUD, '2018-10-01');
const customer2019 = confirmed(CUSTOMER, '2019-10-02');
const customer2022 = confirmed(CUSTOMER, '2022-06-01');
const customer2023 = confirmed(CUSTOMER, '2023-04-01');
const reaccept = (kind: TransactionKind) => (kind === NEW_PURCHASE || kind === SEAT_CHANGE ? ['REACCEPTANCE_REQUIRED'] : []);

const rows: Row[] = [
  // 2018-11-07, dashboard: the Cloud Agreement required.
  { rule: 'the day before 2018-11-07 the dashboard only warns', at: '2018-11-06T23:59:59Z', channels: [Channel.DASHBOARD], acceptance: { status: 'NONE' }, reasons: ['ACCEPTANCE_NOT_CONFIRMED'], before: true, ruleId: null },
  { rule: 'from 2018-11-07 the dashboard requires a Cloud Agreement confirmation', at: '2018-11-07T00:00:00Z', channels: [Channel.DASHBOARD], acceptance: { status: 'NONE' }, reasons: ['ACCEPTANCE_NOT_CONFIRMED'], ruleId: 'dashboard-2018' },
  { rule: 'from 2018-11-07 a Cloud Agreement confirmation satisfies the dashboard', at: '2018-11-07T00:00:00Z', channels: [Channel.DASHBOARD], acceptance: cloud2018, reasons: [], ruleId: 'dashboard-2018' },
  { rule: 'from 2018-11-07 the API still only warns', at: '2018-11-07T00:00:00Z', channels: [Channel.API], acceptance: { status: 'NONE' }, reasons: ['ACCEPTANCE_NOT_CONFIRMED'], before: true, ruleId: null },
  // 2019-03-22, API.
  { rule: 'the day before 2019-03-22 the API only warns', at: '2019-03-21T23:59:59Z', channels: [Channel.API], acceptance: { status: 'NONE' }, reasons: ['ACCEPTANCE_NOT_CONFIRMED'], before: true, ruleId: null },
  { rule: 'from 2019-03-22 the API requires a Cloud Agreement confirmation', at: '2019-03-22T00:00:00Z', channels: [Channel.API], acceptance: { status: 'NONE' }, reasons: ['ACCEPTANCE_NOT_CONFIRMED'], ruleId: 'api-2019' },
  { rule: 'before 2019-10-01 a Customer Agreement confirmation is AGREEMENT_TYPE_NOT_ACCEPTED', at: '2019-09-30T23:59:59Z', channels: CHANNELS, acceptance: customer2019, reasons: ['AGREEMENT_TYPE_NOT_ACCEPTED'], ruleId: FOUNDING },
  // 2019-10-01: either type.
  { rule: 'from 2019-10-01 a Customer Agreement confirmation satisfies', at: '2019-10-01T00:00:00Z', channels: CHANNELS, acceptance: customer2019, reasons: [], ruleId: 'either-2019' },
  { rule: 'from 2019-10-01 a Cloud Agreement confirmation still satisfies', at: '2019-10-01T00:00:00Z', channels: CHANNELS, acceptance: cloud2018, reasons: [], ruleId: 'either-2019' },
  // 2020-02-01: only the Customer Agreement.
  { rule: 'on 2020-01-31 a Cloud Agreement confirmation still satisfies', at: '2020-01-31T23:59:59Z', channels: CHANNELS, acceptance: cloud2018, reasons: [], ruleId: 'either-2019' },
  { rule: 'from 2020-02-01 a Cloud Agreement confirmation alone is AGREEMENT_TYPE_NOT_ACCEPTED', at: '2020-02-01T00:00:00Z', channels: CHANNELS, acceptance: cloud2018, reasons: ['AGREEMENT_TYPE_NOT_ACCEPTED'], ruleId: 'customer-2020' },
  { rule: 'from 2020-02-01 a Customer Agreement confirmation satisfies', at: '2020-02-01T00:00:00Z', channels: CHANNELS, acceptance: customer2019, reasons: [], ruleId: 'customer-2020' },
  // 2025-10-07: re-acceptance of acceptances before 2023-04-01, for new purchases and seat changes.
  { rule: 'on 2025-10-06 a Customer Agreement accepted in 2022 still satisfies', at: '2025-10-06T23:59:59Z', channels: CHANNELS, acceptance: customer2022, reasons: [], ruleId: 'customer-2020' },
  { rule: 'from 2025-10-07 a Customer Agreement accepted before 2023-04-01 is REACCEPTANCE_REQUIRED for new purchases and seat changes', at: '2025-10-07T00:00:00Z', channels: CHANNELS, acceptance: customer2022, reasons: reaccept, ruleId: 'reacceptance-2025' },
  { rule: 'from 2025-10-07 a Customer Agreement accepted on 2023-04-01 satisfies', at: '2025-10-07T00:00:00Z', channels: CHANNELS, acceptance: customer2023, reasons: [], ruleId: 'reacceptance-2025' },
  { rule: 'from 2025-10-07 a Cloud Agreement confirmation is still AGREEMENT_TYPE_NOT_ACCEPTED (not also re-acceptance)', at: '2025-10-07T00:00:00Z', channels: CHANNELS, acceptance: cloud2018, reasons: ['AGREEMENT_TYPE_NOT_ACCEPTED'], ruleId: 'reacceptance-2025' },
  // 2026-01-05: the same, with attestation for new confirmations (the gate's answers do not change).
  { rule: 'on 2026-01-04 the 2025-10-07 rule is in force', at: '2026-01-04T23:59:59Z', channels: CHANNELS, acceptance: customer2022, reasons: reaccept, ruleId: 'reacceptance-2025' },
  { rule: 'from 2026-01-05 re-acceptance is still required', at: '2026-01-05T00:00:00Z', channels: CHANNELS, acceptance: customer2022, reasons: reaccept, ruleId: 'attestation-2026' },
  { rule: 'from 2026-01-05 a recent Customer Agreement confirmation satisfies', at: '2026-01-05T00:00:00Z', channels: CHANNELS, acceptance: customer2023, reasons: [], ruleId: 'attestation-2026' },
  { rule: 'from 2026-01-05 no confirmation is still ACCEPTANCE_NOT_CONFIRMED', at: '2026-01-05T00:00:00Z', channels: CHANNELS, acceptance: { status: 'NONE' }, reasons: ['ACCEPTANCE_NOT_CONFIRMED'], ruleId: 'attestation-2026' },
  // The customer's direct acceptance counts for every partner.
  { rule: 'a direct acceptance satisfies a partner without a confirmation', at: '2026-03-01T00:00:00Z', channels: CHANNELS, acceptance: { status: 'NONE' }, direct: { type: CUSTOMER, acceptedOn: '2024-01-10' }, reasons: [], ruleId: 'attestation-2026' },
  { rule: "a direct acceptance satisfies over a partner's withdrawn or Cloud Agreement confirmation", at: '2026-03-01T00:00:00Z', channels: CHANNELS, acceptance: cloud2018, direct: { type: CUSTOMER, acceptedOn: '2024-01-10' }, reasons: [], ruleId: 'attestation-2026' },
  { rule: 'a direct acceptance dated before 2023-04-01 is REACCEPTANCE_REQUIRED', at: '2026-03-01T00:00:00Z', channels: CHANNELS, acceptance: { status: 'NONE' }, direct: { type: CUSTOMER, acceptedOn: '2022-01-10' }, reasons: reaccept, ruleId: 'attestation-2026' },
  { rule: 'a direct acceptance counts only from its date', at: '2024-01-09T00:00:00Z', channels: CHANNELS, acceptance: { status: 'NONE' }, direct: { type: CUSTOMER, acceptedOn: '2024-01-10' }, reasons: ['ACCEPTANCE_NOT_CONFIRMED'], ruleId: 'customer-2020' },
];

const cases = rows.flatMap((row) =>
  row.channels.flatMap((channel) => KINDS.map((kind) => ({ ...row, channel, kind, name: `${row.rule} (${kind}, ${channel})` }))),
);

describe('the gate under the default requirement policy (DESIGN.md section 10)', () => {
  it.each(cases)('$name', ({ at, channel, kind, acceptance, direct, reasons, before, ruleId }) => {
    const f = facts(at, kind, channel, acceptance, direct ?? null);
    const d = decide(f);
    const r = typeof reasons === 'function' ? reasons(kind) : reasons;
    expect(d).toMatchObject(expected(kind, r, before));
    if (ruleId === FOUNDING) expect(d.policyRule?.id).toMatch(/^(dashboard-2018|api-2019)$/);
    else expect(d.policyRule?.id ?? null).toBe(ruleId);
  });

  it('the rule in force is the latest on or before the day whose channel is absent or matches; on one day the later added wins', () => {
    const later: PolicyRule = { ...DEFAULT_TIMELINE[5], id: 'added-later', createdAt: new Date('2026-02-01T00:00:00Z') };
    expect(ruleInForce([...DEFAULT_TIMELINE, later], Channel.API, new Date('2026-03-01T00:00:00Z'))?.id).toBe('added-later');
    expect(ruleInForce(DEFAULT_TIMELINE, Channel.API, new Date('2019-01-01T00:00:00Z'))).toBeNull();
    expect(ruleInForce(DEFAULT_TIMELINE, Channel.DASHBOARD, new Date('2019-01-01T00:00:00Z'))?.id).toBe('dashboard-2018');
  });

  it('a national-cloud customer is not gated in any era', () => {
    for (const at of ['2018-01-01T00:00:00Z', '2020-03-01T00:00:00Z', '2026-03-01T00:00:00Z']) {
      const d = decide({ ...facts(at, NEW_PURCHASE, Channel.API, cloud2018), nationalCloud: true });
      expect(d.blockReasons).toEqual([]);
      expect(d.warnings[0]).toBe('ACCEPTANCE_NOT_APPLICABLE');
      expect(d.requiredAgreement).toBeNull();
    }
  });

  it('preflight names the required type: the Customer Agreement when the customer has only a Cloud Agreement today', () => {
    const d = decide(facts('2026-03-01T00:00:00Z', NEW_PURCHASE, Channel.API, cloud2018));
    expect(d.requiredAgreement?.type).toBe(CUSTOMER);
    expect(decide(facts('2019-06-01T00:00:00Z', NEW_PURCHASE, Channel.API, cloud2018)).requiredAgreement?.type).toBe(CLOUD);
  });

  it('the new reasons come after reseller authorization, in the order of the table', () => {
    const d = decide({ ...facts('2026-03-01T00:00:00Z', NEW_PURCHASE, Channel.API, cloud2018), reseller: { linkedToProvider: false, servesCustomer: true } });
    expect(d.blockReasons).toEqual(['RESELLER_NOT_AUTHORIZED', 'AGREEMENT_TYPE_NOT_ACCEPTED']);
  });
});
