import { registerEnumType } from 'type-graphql';

export enum TransactionKind {
  NEW_PURCHASE = 'NEW_PURCHASE',
  SEAT_CHANGE = 'SEAT_CHANGE',
  RENEWAL = 'RENEWAL',
  AUTO_RENEWAL = 'AUTO_RENEWAL',
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
