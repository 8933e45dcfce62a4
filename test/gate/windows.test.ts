import { Channel } from '../../src/acceptance/acceptance.enums';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { ruleInForce } from '../../src/policy/policy.rules';
import { decide, type GateFacts } from '../../src/transactions/gate';
import { BillingCycle, TermDuration, TransactionKind } from '../../src/transactions/transaction.enums';
import {
  billingFits,
  lotsAfterChange,
  reducibleSeats,
  seatsReducibleUntil,
  termEnd,
  type SeatLot,
  type SubscriptionWindowFacts,
} from '../../src/transactions/windows';
import { DEFAULT_TIMELINE } from '../policy/timeline';

/**
 * DESIGN.md section 12's windows in the pure gate, table-driven at each edge: a
 * CANCELLATION or a seat decrease is BLOCKED CANCELLATION_WINDOW_CLOSED once its 168 hours
 * from the business time of the purchase, renewal or addition have passed. The window is
 * open up to and including 168:00:00 later, closed from 168:00:01.
 */

const MCA = AgreementType.MICROSOFT_CUSTOMER_AGREEMENT;
const CURRENT = { templateId: 'mca-v2', type: MCA, version: 'v2', versionRank: 2 };
const START = new Date('2026-03-02T10:00:00.000Z');
const H = 3_600_000;
const S = 1_000;
const at = (ms: number) => new Date(START.getTime() + ms);
const { SEAT_CHANGE, CANCELLATION, RENEWAL, AUTO_RENEWAL, NEW_PURCHASE } = TransactionKind;

const lot = (seats: number, addedAt: Date): SeatLot => ({ seats, addedAt: addedAt.toISOString() });
/** Ten seats bought at START, five more added three days later. */
const subscription: SubscriptionWindowFacts = { termStartedAt: START, seats: 15, lots: [lot(10, START), lot(5, at(72 * H))] };

const facts = (over: Partial<GateFacts>): GateFacts => {
  const f: GateFacts = {
    kind: SEAT_CHANGE,
    channel: Channel.API,
    requestedAt: START,
    nationalCloud: false,
    acceptance: { status: 'ACTIVE', type: MCA, templateRank: 2, dateAgreed: '2024-06-01' },
    directAcceptance: null,
    rule: null,
    currentAgreement: CURRENT,
    existingCustomer: true,
    reseller: null,
    subscription,
    quantity: 15,
    ...over,
  };
  return 'rule' in over ? f : { ...f, rule: ruleInForce(DEFAULT_TIMELINE, f.channel, f.requestedAt) };
};

const OPEN = { outcome: 'COMPLETED', blockReasons: [] as string[] };
const CLOSED = { outcome: 'BLOCKED', blockReasons: ['CANCELLATION_WINDOW_CLOSED'] };

const edges: [string, number, typeof OPEN][] = [
  ['at the purchase', 0, OPEN],
  ['at 167:59:59', 168 * H - S, OPEN],
  ['at 168:00:00', 168 * H, OPEN],
  ['at 168:00:01', 168 * H + S, CLOSED],
  ['a year on', 365 * 24 * H, CLOSED],
];

describe('the cancellation window (168 hours from the purchase or last renewal)', () => {
  it.each(edges)('a CANCELLATION %s', (_when, ms, expected) => {
    const d = decide(facts({ kind: CANCELLATION, quantity: 0, requestedAt: at(ms) }));
    expect({ outcome: d.outcome, blockReasons: d.blockReasons }).toEqual(expected);
  });

  it('cancelling needs no acceptance: no confirmation, a withdrawn one or an outdated one blocks nothing inside the window', () => {
    for (const acceptance of [{ status: 'NONE' }, { status: 'WITHDRAWN' }, { status: 'ACTIVE', type: MCA, templateRank: 1, dateAgreed: '2024-06-01' }] as const) {
      const d = decide(facts({ kind: CANCELLATION, quantity: 0, acceptance, existingCustomer: false }));
      expect(d).toMatchObject({ outcome: 'COMPLETED', blockReasons: [], warnings: [], requiredAgreement: null, policyRule: null });
    }
  });

  it('a cancellation outside its window without acceptance is blocked for the window only', () => {
    const d = decide(facts({ kind: CANCELLATION, quantity: 0, acceptance: { status: 'NONE' }, requestedAt: at(200 * H) }));
    expect(d.blockReasons).toEqual(['CANCELLATION_WINDOW_CLOSED']);
  });

  it('a cancellation by an unauthorized reseller lists RESELLER_NOT_AUTHORIZED before the window', () => {
    const d = decide(facts({ kind: CANCELLATION, quantity: 0, requestedAt: at(200 * H), reseller: { linkedToProvider: false, servesCustomer: true } }));
    expect(d.blockReasons).toEqual(['RESELLER_NOT_AUTHORIZED', 'CANCELLATION_WINDOW_CLOSED']);
  });

  it('the window is the vendor rule: a national cloud and a time before enforcement do not lift it', () => {
    expect(decide(facts({ kind: CANCELLATION, quantity: 0, nationalCloud: true, requestedAt: at(169 * H) })).blockReasons).toEqual(['CANCELLATION_WINDOW_CLOSED']);
    expect(decide(facts({ kind: SEAT_CHANGE, quantity: 1, nationalCloud: true, requestedAt: at(400 * H) })).blockReasons).toEqual(['CANCELLATION_WINDOW_CLOSED']);
    const early = new Date('2018-01-01T00:00:00Z');
    const old = { termStartedAt: early, seats: 10, lots: [lot(10, early)] };
    const d = decide(facts({ kind: SEAT_CHANGE, subscription: old, quantity: 5, requestedAt: new Date('2018-02-01T00:00:00Z') }));
    expect(d.blockReasons).toEqual(['CANCELLATION_WINDOW_CLOSED']);
    expect(d.warnings).toContain('BEFORE_ENFORCEMENT');
  });
});

describe('seat decreases: each addition has its own window', () => {
  // The 10 seats' window closes at START + 168 h; the 5 added at +72 h close at +240 h.
  const table: [string, number, number, typeof OPEN][] = [
    ['removing 10 at 167:59:59 of the first seats', 168 * H - S, 5, OPEN],
    ['removing 14 at 168:00:00 of the first seats', 168 * H, 1, OPEN],
    ['removing 6 at 168:00:01 of the first seats: only the 5 added later are reducible', 168 * H + S, 9, CLOSED],
    ['removing 5 at 168:00:01 of the first seats: the later addition is still in its window', 168 * H + S, 10, OPEN],
    ['removing 5 at 167:59:59 of the addition', (72 + 168) * H - S, 10, OPEN],
    ['removing 5 at 168:00:00 of the addition', (72 + 168) * H, 10, OPEN],
    ['removing 1 at 168:00:01 of the addition', (72 + 168) * H + S, 14, CLOSED],
    ['adding seats long after any window', 1_000 * H, 20, OPEN],
    ['keeping the same seats long after any window', 1_000 * H, 15, OPEN],
  ];
  it.each(table)('%s', (_rule, ms, quantity, expected) => {
    const d = decide(facts({ kind: SEAT_CHANGE, quantity, requestedAt: at(ms) }));
    expect({ outcome: d.outcome, blockReasons: d.blockReasons }).toEqual(expected);
  });

  it('a seat decrease outside its window lists every applicable reason, the window last', () => {
    const d = decide(facts({ kind: SEAT_CHANGE, quantity: 1, acceptance: { status: 'WITHDRAWN' }, requestedAt: at(1_000 * H) }));
    expect(d.blockReasons).toEqual(['ACCEPTANCE_WITHDRAWN', 'CANCELLATION_WINDOW_CLOSED']);
  });

  it('seats added after the business time asked about do not count as reducible (replayed history)', () => {
    expect(reducibleSeats(subscription.lots, at(24 * H))).toBe(10);
    expect(reducibleSeats(subscription.lots, at(100 * H))).toBe(15);
    expect(reducibleSeats(subscription.lots, at(200 * H))).toBe(5);
    expect(reducibleSeats(subscription.lots, at(300 * H))).toBe(0);
  });

  it('a decrease gives back the newest seats first; an addition is a lot of its own', () => {
    expect(lotsAfterChange(subscription.lots, 15, 12, at(100 * H))).toEqual([lot(10, START), lot(2, at(72 * H))]);
    expect(lotsAfterChange(subscription.lots, 15, 8, at(100 * H))).toEqual([lot(8, START)]);
    expect(lotsAfterChange(subscription.lots, 15, 17, at(100 * H))).toEqual([...subscription.lots, lot(2, at(100 * H))]);
    expect(seatsReducibleUntil(subscription.lots)).toEqual(at((72 + 168) * H));
    expect(seatsReducibleUntil([])).toBeNull();
  });
});

describe('the renewal is judged for its next term: no window applies to it', () => {
  it.each([RENEWAL, AUTO_RENEWAL, NEW_PURCHASE])('%s with fewer seats long after any window completes', (kind) => {
    const d = decide(facts({ kind, quantity: 1, requestedAt: at(1_000 * H) }));
    expect(d.outcome).toBe('COMPLETED');
  });
});

describe('facts without a subscription (gathered before new commerce) answer as before', () => {
  it.each([SEAT_CHANGE, RENEWAL, NEW_PURCHASE, AUTO_RENEWAL])('%s without window facts is judged on acceptance only', (kind) => {
    const withWindows = decide(facts({ kind, subscription: undefined, quantity: undefined, requestedAt: at(1_000 * H) }));
    expect(withWindows).toMatchObject({ outcome: 'COMPLETED', blockReasons: [] });
  });
});

describe('terms and billing', () => {
  const fits: [TermDuration, BillingCycle, boolean][] = [
    [TermDuration.P1M, BillingCycle.MONTHLY, true],
    [TermDuration.P1M, BillingCycle.ANNUAL, false],
    [TermDuration.P1M, BillingCycle.TRIENNIAL, false],
    [TermDuration.P1Y, BillingCycle.MONTHLY, true],
    [TermDuration.P1Y, BillingCycle.ANNUAL, true],
    [TermDuration.P1Y, BillingCycle.TRIENNIAL, false],
    [TermDuration.P3Y, BillingCycle.MONTHLY, true],
    [TermDuration.P3Y, BillingCycle.ANNUAL, true],
    [TermDuration.P3Y, BillingCycle.TRIENNIAL, true],
  ];
  it.each(fits)('a %s term billed %s fits: %s', (term, billing, expected) => {
    expect(billingFits(term, billing)).toBe(expected);
  });

  const ends: [string, TermDuration, string][] = [
    ['2026-01-15', TermDuration.P1M, '2026-02-15'],
    ['2026-01-31', TermDuration.P1M, '2026-02-28'],
    ['2028-01-31', TermDuration.P1M, '2028-02-29'],
    ['2026-12-15', TermDuration.P1M, '2027-01-15'],
    ['2026-03-02', TermDuration.P1Y, '2027-03-02'],
    ['2028-02-29', TermDuration.P1Y, '2029-03-01'],
    ['2026-03-02', TermDuration.P3Y, '2029-03-02'],
  ];
  it.each(ends)('a term from %s of %s ends on %s (renewsOn)', (start, term, end) => {
    expect(termEnd(start, term)).toBe(end);
  });
});
