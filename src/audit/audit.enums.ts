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
  SUBSCRIPTION_CANCELLED = 'SUBSCRIPTION_CANCELLED',
  AUTO_RENEW_OFF = 'AUTO_RENEW_OFF',
  AUTO_RENEW_ON = 'AUTO_RENEW_ON',
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
    SUBSCRIPTION_CANCELLED: { description: 'A subscription of the partner was cancelled by a withdrawal, inside its window (the subscription in note)' },
    AUTO_RENEW_OFF: { description: 'Auto-renew of a subscription was turned off, by the partner or a withdrawal: it ends at renewsOn (the subscription in note)' },
    AUTO_RENEW_ON: { description: 'Auto-renew of a subscription was turned on again (the subscription in note)' },
  },
});
