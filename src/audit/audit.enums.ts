import { registerEnumType } from 'type-graphql';

/** What happened to an acceptance (DESIGN.md section 9). */
export enum AuditEvent {
  CONFIRMED = 'CONFIRMED',
  SUPERSEDED = 'SUPERSEDED',
  CORRECTED = 'CORRECTED',
  WITHDRAWN = 'WITHDRAWN',
  SUBMITTED = 'SUBMITTED',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
  SYNCED = 'SYNCED',
  SYNC_FAILED = 'SYNC_FAILED',
  DIRECT_ACCEPTANCE = 'DIRECT_ACCEPTANCE',
  ATTESTATION_REQUESTED = 'ATTESTATION_REQUESTED',
  ATTESTED = 'ATTESTED',
}
registerEnumType(AuditEvent, {
  name: 'AuditEvent',
  description: "One event of a customer's acceptance with a partner",
  valuesConfig: {
    CONFIRMED: { description: 'A confirmation was recorded' },
    SUPERSEDED: { description: 'A newer confirmation replaced this one' },
    CORRECTED: { description: 'A contact field was corrected (field, oldValue, newValue)' },
    WITHDRAWN: { description: 'The acceptance was withdrawn (the reason in note)' },
    SUBMITTED: { description: 'A reseller submitted acceptance details to the provider' },
    APPROVED: { description: 'The provider approved a submission (recording a confirmation)' },
    REJECTED: { description: 'The provider rejected a submission (its note in note)' },
    SYNCED: { description: 'The confirmation or correction reached Partner Center' },
    SYNC_FAILED: { description: 'Delivery to Partner Center failed' },
    DIRECT_ACCEPTANCE: { description: "The customer accepted the agreement directly with the vendor (its type and where it was learned in note); it counts for every partner" },
    ATTESTATION_REQUESTED: { description: 'The partner requested an enhanced attestation (its id in note)' },
    ATTESTED: { description: "The customer accepted on the vendor's page and the agreement was created upstream (the upstream attestation id in note)" },
  },
});
