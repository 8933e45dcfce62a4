import { Channel } from '../../src/acceptance/acceptance.enums';
import { AgreementType } from '../../src/agreements/agreement.enums';
import type { PolicyRule } from '../../src/policy/policy.rules';
import { TransactionKind } from '../../src/transactions/transaction.enums';

/**
 * The default timeline of DESIGN.md section 10 as the gate's unit tests read it; the
 * policy test checks that the migration loads exactly these rules.
 */
const { MICROSOFT_CLOUD_AGREEMENT: CLOUD, MICROSOFT_CUSTOMER_AGREEMENT: CUSTOMER } = AgreementType;
const rule = (id: string, effectiveFrom: string, over: Partial<PolicyRule> = {}): PolicyRule => ({
  id,
  effectiveFrom,
  channel: null,
  acceptedTypes: [CUSTOMER],
  minimumDateAgreed: null,
  minimumAppliesTo: null,
  attestationRequired: false,
  createdAt: new Date(`${effectiveFrom}T00:00:00Z`),
  ...over,
});

export const DEFAULT_TIMELINE: PolicyRule[] = [
  rule('dashboard-2018', '2018-11-07', { channel: Channel.DASHBOARD, acceptedTypes: [CLOUD] }),
  rule('api-2019', '2019-03-22', { channel: Channel.API, acceptedTypes: [CLOUD] }),
  rule('either-2019', '2019-10-01', { acceptedTypes: [CLOUD, CUSTOMER] }),
  rule('customer-2020', '2020-02-01'),
  rule('reacceptance-2025', '2025-10-07', { minimumDateAgreed: '2023-04-01', minimumAppliesTo: [TransactionKind.NEW_PURCHASE, TransactionKind.SEAT_CHANGE] }),
  rule('attestation-2026', '2026-01-05', {
    minimumDateAgreed: '2023-04-01',
    minimumAppliesTo: [TransactionKind.NEW_PURCHASE, TransactionKind.SEAT_CHANGE],
    attestationRequired: true,
  }),
];
