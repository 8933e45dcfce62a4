import { registerEnumType } from 'type-graphql';

export enum Channel {
  DASHBOARD = 'DASHBOARD',
  API = 'API',
}
registerEnumType(Channel, { name: 'Channel', description: 'Where a partner acted: its dashboard or the API' });

export enum AcceptanceStatus {
  ACTIVE = 'ACTIVE',
  SUPERSEDED = 'SUPERSEDED',
  WITHDRAWN = 'WITHDRAWN',
}
registerEnumType(AcceptanceStatus, { name: 'AcceptanceStatus', description: 'Lifecycle of one recorded acceptance' });

export enum ComplianceStatus {
  CONFIRMED = 'CONFIRMED',
  OUTDATED = 'OUTDATED',
  MISSING = 'MISSING',
  WITHDRAWN = 'WITHDRAWN',
  NOT_APPLICABLE = 'NOT_APPLICABLE',
  /** An active confirmation (or direct acceptance) that the policy in force today no longer accepts: wrong type or too old. */
  REACCEPTANCE_REQUIRED = 'REACCEPTANCE_REQUIRED',
}
registerEnumType(ComplianceStatus, {
  name: 'ComplianceStatus',
  description: "A customer's acceptance state relative to one billing partner",
});

export enum SubmissionStatus {
  PENDING = 'PENDING',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
}
registerEnumType(SubmissionStatus, { name: 'SubmissionStatus', description: "State of a reseller's submission to its provider" });

export enum ReviewDecision {
  APPROVE = 'APPROVE',
  REJECT = 'REJECT',
}
registerEnumType(ReviewDecision, { name: 'ReviewDecision', description: "A provider's answer to a submission" });
