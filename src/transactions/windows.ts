import { BillingCycle, TermDuration } from './transaction.enums';

/**
 * Terms, billing and the 7-day windows of new commerce (DESIGN.md section 12), as pure
 * functions: the gate (gate.ts), the attempt (transaction.service.ts) and the fields of
 * a subscription all ask these, so they cannot disagree.
 */

/** The windows: 7 days, 168 hours, from the business time of the purchase, renewal or seat addition. */
export const WINDOW_MS = 168 * 60 * 60 * 1000;

/** Seats added at one business time (ISO 8601), each lot with its own window. */
export interface SeatLot {
  seats: number;
  addedAt: string;
}

/** The billing cycles that fit each term: MONTHLY for any, ANNUAL for one or three years, TRIENNIAL for three. */
const FITTING: Record<TermDuration, BillingCycle[]> = {
  [TermDuration.P1M]: [BillingCycle.MONTHLY],
  [TermDuration.P1Y]: [BillingCycle.MONTHLY, BillingCycle.ANNUAL],
  [TermDuration.P3Y]: [BillingCycle.MONTHLY, BillingCycle.ANNUAL, BillingCycle.TRIENNIAL],
};

export function billingFits(term: TermDuration, billing: BillingCycle): boolean {
  return FITTING[term]?.includes(billing) ?? false;
}

const MONTHS: Record<TermDuration, number> = { [TermDuration.P1M]: 1, [TermDuration.P1Y]: 12, [TermDuration.P3Y]: 36 };

/**
 * The day a term of `term` starting on `start` (YYYY-MM-DD, or an instant: its UTC day)
 * ends: the same day of the month `term` later, or the month's last day when it has none
 * (31 January + P1M = 28 or 29 February); 29 February + P1Y = 1 March, as before new commerce.
 */
export function termEnd(start: string | Date, term: TermDuration): string {
  const day = typeof start === 'string' ? start : start.toISOString().slice(0, 10);
  const [y, m, d] = day.split('-').map(Number);
  const months = MONTHS[term];
  if (months % 12 === 0) {
    // Whole years: Date rolls 29 February over to 1 March.
    return new Date(Date.UTC(y + months / 12, m - 1, d)).toISOString().slice(0, 10);
  }
  const last = new Date(Date.UTC(y, m - 1 + months + 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, m - 1 + months, Math.min(d, last))).toISOString().slice(0, 10);
}

/** The end of a window opened at `from`: 168 hours later. Open while the business time is at or before it. */
export function windowEnd(from: Date | string): Date {
  return new Date(new Date(from).getTime() + WINDOW_MS);
}

/** Whether a window opened at `from` is still open at `at` (up to and including 168:00:00 later). */
export function windowOpen(from: Date | string, at: Date): boolean {
  return at.getTime() <= windowEnd(from).getTime();
}

/** How many seats can still be removed at `at`: those added within their windows (and not after `at`). */
export function reducibleSeats(lots: readonly SeatLot[], at: Date): number {
  return lots.filter((l) => new Date(l.addedAt).getTime() <= at.getTime() && windowOpen(l.addedAt, at)).reduce((n, l) => n + l.seats, 0);
}

/** The end of the latest seat window (when seats can last be reduced); null without seats. */
export function seatsReducibleUntil(lots: readonly SeatLot[]): Date | null {
  let latest: number | null = null;
  for (const l of lots) {
    const t = new Date(l.addedAt).getTime();
    if (latest === null || t > latest) latest = t;
  }
  return latest === null ? null : windowEnd(new Date(latest));
}

/**
 * The lots after a seat change from `from` to `to` seats at `at`: an addition is a lot of
 * its own; a decrease takes seats from the newest lots first (those whose windows close last
 * are given back first, so the seats still reducible are the ones the vendor refunds).
 */
export function lotsAfterChange(lots: readonly SeatLot[], from: number, to: number, at: Date): SeatLot[] {
  if (to > from) return [...lots, { seats: to - from, addedAt: at.toISOString() }];
  let remove = from - to;
  const newestFirst = [...lots].sort((a, b) => b.addedAt.localeCompare(a.addedAt));
  const kept: SeatLot[] = [];
  for (const l of newestFirst) {
    const take = Math.min(l.seats, remove);
    remove -= take;
    if (l.seats - take > 0) kept.push({ seats: l.seats - take, addedAt: l.addedAt });
  }
  return kept.sort((a, b) => a.addedAt.localeCompare(b.addedAt));
}

/** The window facts of a subscription the gate judges a SEAT_CHANGE or CANCELLATION of. */
export interface SubscriptionWindowFacts {
  /** Business time of the purchase or last renewal (the cancellation window's start). */
  termStartedAt: Date;
  seats: number;
  lots: readonly SeatLot[];
}

/** Whether a change to `quantity` seats (or a cancellation) of `s` at `at` lies outside its window. */
export function cancellationWindowClosed(kind: 'CANCELLATION' | 'SEAT_CHANGE', s: SubscriptionWindowFacts, quantity: number, at: Date): boolean {
  if (kind === 'CANCELLATION') return !windowOpen(s.termStartedAt, at);
  const removed = s.seats - quantity;
  return removed > 0 && removed > reducibleSeats(s.lots, at);
}
