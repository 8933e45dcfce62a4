import { registerEnumType } from 'type-graphql';

export enum TransactionKind {
  NEW_PURCHASE = 'NEW_PURCHASE',
  SEAT_CHANGE = 'SEAT_CHANGE',
  RENEWAL = 'RENEWAL',
  AUTO_RENEWAL = 'AUTO_RENEWAL',
  /** Ends the subscription now (quantity 0); only inside its cancellation window (DESIGN.md section 12). */
  CANCELLATION = 'CANCELLATION',
}
registerEnumType(TransactionKind, { name: 'TransactionKind', description: 'What a partner transaction does' });

export enum OrderOutcome {
  COMPLETED = 'COMPLETED',
  BLOCKED = 'BLOCKED',
}
registerEnumType(OrderOutcome, { name: 'OrderOutcome', description: "The gate's decision on a transaction attempt" });

export enum SubscriptionStatus {
  ACTIVE = 'ACTIVE',
  CANCELLED = 'CANCELLED',
  /** Auto-renew is off: the subscription ends at `renewsOn`. */
  ENDING = 'ENDING',
  /** It ended at `renewsOn` with auto-renew off. */
  EXPIRED = 'EXPIRED',
}
registerEnumType(SubscriptionStatus, { name: 'SubscriptionStatus', description: 'State of a product subscription' });

/** Why the gate blocked; listed in the order of DESIGN.md section 5's table. */
export enum BlockReason {
  ACCEPTANCE_NOT_CONFIRMED = 'ACCEPTANCE_NOT_CONFIRMED',
  ACCEPTANCE_WITHDRAWN = 'ACCEPTANCE_WITHDRAWN',
  AGREEMENT_VERSION_OUTDATED = 'AGREEMENT_VERSION_OUTDATED',
  RESELLER_NOT_AUTHORIZED = 'RESELLER_NOT_AUTHORIZED',
  AGREEMENT_TYPE_NOT_ACCEPTED = 'AGREEMENT_TYPE_NOT_ACCEPTED',
  REACCEPTANCE_REQUIRED = 'REACCEPTANCE_REQUIRED',
  /** A cancellation or seat decrease outside its 7-day window (DESIGN.md section 12). */
  CANCELLATION_WINDOW_CLOSED = 'CANCELLATION_WINDOW_CLOSED',
}
registerEnumType(BlockReason, { name: 'BlockReason', description: 'Why the gate blocked a transaction' });

export enum TransactionWarning {
  AGREEMENT_UPDATE_AVAILABLE = 'AGREEMENT_UPDATE_AVAILABLE',
  ACCEPTANCE_NOT_APPLICABLE = 'ACCEPTANCE_NOT_APPLICABLE',
  BEFORE_ENFORCEMENT = 'BEFORE_ENFORCEMENT',
  ACCEPTANCE_NOT_CONFIRMED = 'ACCEPTANCE_NOT_CONFIRMED',
  ACCEPTANCE_WITHDRAWN = 'ACCEPTANCE_WITHDRAWN',
  AGREEMENT_VERSION_OUTDATED = 'AGREEMENT_VERSION_OUTDATED',
  AGREEMENT_TYPE_NOT_ACCEPTED = 'AGREEMENT_TYPE_NOT_ACCEPTED',
  REACCEPTANCE_REQUIRED = 'REACCEPTANCE_REQUIRED',
}
registerEnumType(TransactionWarning, {
  name: 'TransactionWarning',
  description: 'Something the gate noticed without blocking',
});

/** A subscription's term (ISO 8601 durations, as the vendor names them). */
export enum TermDuration {
  P1M = 'P1M',
  P1Y = 'P1Y',
  P3Y = 'P3Y',
}
registerEnumType(TermDuration, { name: 'TermDuration', description: 'The term of a subscription: one month, one year or three years' });

/** How often a subscription is billed; it must fit the term (DESIGN.md section 12). */
export enum BillingCycle {
  MONTHLY = 'MONTHLY',
  ANNUAL = 'ANNUAL',
  TRIENNIAL = 'TRIENNIAL',
}
registerEnumType(BillingCycle, { name: 'BillingCycle', description: 'How often a subscription is billed: MONTHLY for any term, ANNUAL for one or three years, TRIENNIAL for three' });
