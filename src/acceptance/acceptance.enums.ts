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

/** How a confirmation was obtained (DESIGN.md section 13): the first fact of its evidence. */
export enum EvidenceSource {
  PARTNER_RECORDED = 'PARTNER_RECORDED',
  RESELLER_SUBMITTED = 'RESELLER_SUBMITTED',
  BULK_IMPORT = 'BULK_IMPORT',
  ATTESTATION = 'ATTESTATION',
  DIRECT = 'DIRECT',
  PARTNER_CENTER = 'PARTNER_CENTER',
}
registerEnumType(EvidenceSource, {
  name: 'EvidenceSource',
  description: 'How a confirmation was obtained',
  valuesConfig: {
    PARTNER_RECORDED: { description: 'The billing partner recorded it (API or dashboard)' },
    RESELLER_SUBMITTED: { description: "A reseller's submission, approved by its provider" },
    BULK_IMPORT: { description: 'A line of a bulk file import' },
    ATTESTATION: { description: 'An enhanced attestation: the customer accepted on the vendor page' },
    DIRECT: { description: 'The customer accepted directly with the vendor' },
    PARTNER_CENTER: { description: 'Found in Partner Center by reconciliation, unknown locally before' },
  },
});

/** Confirmations of these sources are already on record upstream: nothing to deliver. */
export const UPSTREAM_SOURCES: readonly EvidenceSource[] = [EvidenceSource.ATTESTATION, EvidenceSource.PARTNER_CENTER];

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
