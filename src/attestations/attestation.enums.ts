import { registerEnumType } from 'type-graphql';

/** Where an enhanced attestation stands (DESIGN.md section 11). */
export enum AttestationStatus {
  REQUESTED = 'REQUESTED',
  LINK_ISSUED = 'LINK_ISSUED',
  CUSTOMER_ACCEPTED = 'CUSTOMER_ACCEPTED',
  RECORDED = 'RECORDED',
  EXPIRED = 'EXPIRED',
  CANCELLED = 'CANCELLED',
  FAILED = 'FAILED',
}
registerEnumType(AttestationStatus, {
  name: 'AttestationStatus',
  description: 'Where an enhanced attestation stands',
  valuesConfig: {
    REQUESTED: { description: 'Recorded by the gateway; not yet created upstream' },
    LINK_ISSUED: { description: 'Created upstream: the acceptance link waits for the customer' },
    CUSTOMER_ACCEPTED: { description: 'The customer accepted on the vendor page; the agreement is being created upstream' },
    RECORDED: { description: 'The agreement was created upstream and the confirmation recorded locally' },
    EXPIRED: { description: 'The acceptance link expired before the customer accepted' },
    CANCELLED: { description: 'Cancelled by the partner before the customer accepted' },
    FAILED: { description: 'Partner Center refused it (lastError names the upstream code)' },
  },
});

/** The states a follower still works on; at most one of these per (customer, partner). */
export const OPEN_STATUSES: readonly AttestationStatus[] = [AttestationStatus.REQUESTED, AttestationStatus.LINK_ISSUED, AttestationStatus.CUSTOMER_ACCEPTED];

export const isOpen = (s: AttestationStatus): boolean => OPEN_STATUSES.includes(s);
