import { Channel } from '../acceptance/acceptance.enums';
import { BlockReason, OrderOutcome, TransactionKind, TransactionWarning } from './transaction.enums';

/**
 * The transaction gate of DESIGN.md section 5: one pure function of the facts and
 * the policy. It reads nothing and writes nothing; `preflightTransaction`,
 * `attemptTransaction` and the renewal-risk scan all call it.
 */

/** What the billing partner has on record for the customer. */
export type AcceptanceState =
  /** Never confirmed (the table's "no active confirmation"). */
  | { status: 'NONE' }
  /** The latest confirmation was withdrawn and none replaced it. */
  | { status: 'WITHDRAWN' }
  /** An active confirmation, of a template of this rank. */
  | { status: 'ACTIVE'; templateRank: number };

export interface AgreementRef {
  templateId: string;
  version: string;
  versionRank: number;
}

export interface GateFacts {
  kind: TransactionKind;
  channel: Channel;
  /** Business time of the order. */
  requestedAt: Date;
  /** Customer on a national cloud (anything but PUBLIC). */
  nationalCloud: boolean;
  acceptance: AcceptanceState;
  /** The current template for the customer at `requestedAt`; null when none is published. */
  currentAgreement: AgreementRef | null;
  /** An earlier COMPLETED order of this customer with this billing partner exists. */
  existingCustomer: boolean;
  /** Set when a reseller places the order through the billing partner. */
  reseller: { linkedToProvider: boolean; servesCustomer: boolean } | null;
}

export interface GatePolicy {
  /** First day (UTC, `YYYY-MM-DD`) the acceptance rules apply, per channel. */
  enforcementFrom: Record<Channel, string>;
}

export interface GateDecision {
  outcome: OrderOutcome;
  blockReasons: BlockReason[];
  warnings: TransactionWarning[];
  /** The agreement the customer must have accepted: the current one (null when not gated or none published). */
  requiredAgreement: AgreementRef | null;
}

/** Enforcement dates are data, not code: the MCA requirement started on these days. */
export const DEFAULT_GATE_POLICY: GatePolicy = {
  enforcementFrom: { [Channel.DASHBOARD]: '2018-11-07', [Channel.API]: '2019-03-22' },
};

/** Acceptance reasons as the table orders them; reseller authorization comes after. */
const ACCEPTANCE_REASON_ORDER = [
  BlockReason.ACCEPTANCE_NOT_CONFIRMED,
  BlockReason.ACCEPTANCE_WITHDRAWN,
  BlockReason.AGREEMENT_VERSION_OUTDATED,
];

const asWarning: Record<string, TransactionWarning> = {
  [BlockReason.ACCEPTANCE_NOT_CONFIRMED]: TransactionWarning.ACCEPTANCE_NOT_CONFIRMED,
  [BlockReason.ACCEPTANCE_WITHDRAWN]: TransactionWarning.ACCEPTANCE_WITHDRAWN,
  [BlockReason.AGREEMENT_VERSION_OUTDATED]: TransactionWarning.AGREEMENT_VERSION_OUTDATED,
};

export function isBeforeEnforcement(channel: Channel, requestedAt: Date, policy: GatePolicy): boolean {
  return requestedAt.getTime() < Date.parse(`${policy.enforcementFrom[channel]}T00:00:00Z`);
}

/**
 * Rows 1 to 4 of the table: the acceptance reasons a transaction of `kind` would be
 * blocked for. "No confirmation" and "withdrawn" exclude each other (they are the
 * MISSING and WITHDRAWN compliance states); "outdated" means the confirmed template
 * ranks below the current one.
 */
function acceptanceReasons(facts: GateFacts, kind: TransactionKind): BlockReason[] {
  const a = facts.acceptance;
  if (a.status === 'NONE') return [BlockReason.ACCEPTANCE_NOT_CONFIRMED];
  if (a.status === 'WITHDRAWN') return [BlockReason.ACCEPTANCE_WITHDRAWN];
  const outdated = facts.currentAgreement !== null && a.templateRank < facts.currentAgreement.versionRank;
  if (!outdated) return [];
  // Row 3 (new customer) and row 4 (a renewal after the agreement was updated).
  if (!facts.existingCustomer || kind === TransactionKind.RENEWAL) return [BlockReason.AGREEMENT_VERSION_OUTDATED];
  return [];
}

/** Row 5: an existing customer buying or changing seats under an outdated confirmation. */
function updateAvailable(facts: GateFacts): boolean {
  const a = facts.acceptance;
  return (
    a.status === 'ACTIVE' &&
    facts.existingCustomer &&
    facts.currentAgreement !== null &&
    a.templateRank < facts.currentAgreement.versionRank &&
    (facts.kind === TransactionKind.NEW_PURCHASE || facts.kind === TransactionKind.SEAT_CHANGE)
  );
}

export function decide(facts: GateFacts, policy: GatePolicy = DEFAULT_GATE_POLICY): GateDecision {
  const blockReasons: BlockReason[] = [];
  const warnings: TransactionWarning[] = [];
  const before = isBeforeEnforcement(facts.channel, facts.requestedAt, policy);

  if (facts.nationalCloud) {
    // Row 8: acceptance does not apply on national clouds, so nothing of rows 1 to 6 is asked.
    warnings.push(TransactionWarning.ACCEPTANCE_NOT_APPLICABLE);
  } else {
    // An auto-renewal is judged as the renewal it is (row 6), then never blocked for it.
    const judgedAs = facts.kind === TransactionKind.AUTO_RENEWAL ? TransactionKind.RENEWAL : facts.kind;
    const wouldBlock = acceptanceReasons(facts, judgedAs);
    if (facts.kind === TransactionKind.AUTO_RENEWAL || before) {
      for (const r of ACCEPTANCE_REASON_ORDER) if (wouldBlock.includes(r)) warnings.push(asWarning[r]);
    } else {
      blockReasons.push(...wouldBlock);
    }
    if (updateAvailable(facts)) warnings.push(TransactionWarning.AGREEMENT_UPDATE_AVAILABLE);
  }

  // Row 7: not an acceptance rule, so neither AUTO_RENEWAL, national clouds nor the enforcement date lift it.
  if (facts.reseller && (!facts.reseller.linkedToProvider || !facts.reseller.servesCustomer)) {
    blockReasons.push(BlockReason.RESELLER_NOT_AUTHORIZED);
  }

  // Row 9.
  if (before) warnings.push(TransactionWarning.BEFORE_ENFORCEMENT);

  return {
    outcome: blockReasons.length ? OrderOutcome.BLOCKED : OrderOutcome.COMPLETED,
    blockReasons,
    warnings,
    requiredAgreement: facts.nationalCloud ? null : facts.currentAgreement,
  };
}
