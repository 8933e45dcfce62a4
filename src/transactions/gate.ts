import type { Channel } from '../acceptance/acceptance.enums';
import type { AgreementType } from '../agreements/agreement.enums';
import { reacceptanceRequired, requiredType, typeAccepted, type PolicyRule } from '../policy/policy.rules';
import { BlockReason, OrderOutcome, TransactionKind, TransactionWarning } from './transaction.enums';
import { cancellationWindowClosed, type SubscriptionWindowFacts } from './windows';

/**
 * The transaction gate of DESIGN.md sections 5 and 10: one pure function of the facts,
 * among them the policy rule in force. It reads nothing and writes nothing;
 * `preflightTransaction`, `attemptTransaction` and the renewal-risk scan all call it.
 */

/** What the billing partner has on record for the customer. */
export type AcceptanceState =
  /** Never confirmed (the table's "no active confirmation"). */
  | { status: 'NONE' }
  /** The latest confirmation was withdrawn and none replaced it. */
  | { status: 'WITHDRAWN' }
  /** An active confirmation, of a template of this type and rank, accepted on `dateAgreed` (YYYY-MM-DD). */
  | { status: 'ACTIVE'; type: AgreementType; templateRank: number; dateAgreed: string };

/** The customer's own acceptance with the vendor (DESIGN.md section 10); it counts for every partner. */
export interface DirectAcceptanceFact {
  type: AgreementType;
  /** YYYY-MM-DD. */
  acceptedOn: string;
}

export interface AgreementRef {
  templateId: string;
  type: AgreementType;
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
  /** The customer's direct acceptance, if any. */
  directAcceptance: DirectAcceptanceFact | null;
  /** The policy rule in force on `requestedAt` for the channel; null before enforcement. */
  rule: PolicyRule | null;
  /** The current template at `requestedAt` of the type the rule requires (`gateRequiredType`); null when none is published. */
  currentAgreement: AgreementRef | null;
  /** An earlier COMPLETED order of this customer with this billing partner exists. */
  existingCustomer: boolean;
  /** Set when a reseller places the order through the billing partner. */
  reseller: { linkedToProvider: boolean; servesCustomer: boolean } | null;
  /**
   * The subscription changed or cancelled, with its windows (DESIGN.md section 12), and
   * the seats asked for. Absent (facts gathered before new commerce, renewals, purchases):
   * no window is judged, so such facts are answered exactly as before.
   */
  subscription?: SubscriptionWindowFacts | null;
  quantity?: number;
}

export interface GateDecision {
  outcome: OrderOutcome;
  blockReasons: BlockReason[];
  warnings: TransactionWarning[];
  /** The agreement the customer must have accepted: the current one (null when not gated or none published). */
  requiredAgreement: AgreementRef | null;
  /** The rule the decision used; null before enforcement. */
  policyRule: PolicyRule | null;
}

/** Acceptance reasons as the table orders them; reseller authorization comes after. */
const ACCEPTANCE_REASON_ORDER = [
  BlockReason.ACCEPTANCE_NOT_CONFIRMED,
  BlockReason.ACCEPTANCE_WITHDRAWN,
  BlockReason.AGREEMENT_VERSION_OUTDATED,
  BlockReason.AGREEMENT_TYPE_NOT_ACCEPTED,
  BlockReason.REACCEPTANCE_REQUIRED,
];

/** The reasons of section 10's rows, listed after reseller authorization as the table orders them. */
const POLICY_REASONS = [BlockReason.AGREEMENT_TYPE_NOT_ACCEPTED, BlockReason.REACCEPTANCE_REQUIRED];

const asWarning: Record<string, TransactionWarning> = {
  [BlockReason.ACCEPTANCE_NOT_CONFIRMED]: TransactionWarning.ACCEPTANCE_NOT_CONFIRMED,
  [BlockReason.ACCEPTANCE_WITHDRAWN]: TransactionWarning.ACCEPTANCE_WITHDRAWN,
  [BlockReason.AGREEMENT_VERSION_OUTDATED]: TransactionWarning.AGREEMENT_VERSION_OUTDATED,
  [BlockReason.AGREEMENT_TYPE_NOT_ACCEPTED]: TransactionWarning.AGREEMENT_TYPE_NOT_ACCEPTED,
  [BlockReason.REACCEPTANCE_REQUIRED]: TransactionWarning.REACCEPTANCE_REQUIRED,
};

const dayOf = (at: Date) => at.toISOString().slice(0, 10);

/** The direct acceptance, when it exists on the order's day. */
function directOn(facts: GateFacts): DirectAcceptanceFact | null {
  const d = facts.directAcceptance;
  return d && d.acceptedOn <= dayOf(facts.requestedAt) ? d : null;
}

/** The policy's reasons against an acceptance of `type` dated `dateAgreed` (none before enforcement). */
function policyReasons(rule: PolicyRule | null, type: AgreementType, dateAgreed: string, kind: TransactionKind): BlockReason[] {
  if (!rule) return [];
  if (!typeAccepted(rule, type)) return [BlockReason.AGREEMENT_TYPE_NOT_ACCEPTED];
  return reacceptanceRequired(rule, dateAgreed, kind) ? [BlockReason.REACCEPTANCE_REQUIRED] : [];
}

/** The partner's confirmation is outdated: ranked below the current template of its own type. */
function outdated(facts: GateFacts): boolean {
  const a = facts.acceptance;
  const current = facts.currentAgreement;
  return a.status === 'ACTIVE' && current !== null && current.type === a.type && a.templateRank < current.versionRank;
}

/**
 * The acceptance reasons a transaction of `kind` would be blocked for, in the table's
 * order. "No confirmation" and "withdrawn" exclude each other (the MISSING and WITHDRAWN
 * compliance states); "outdated" means the confirmed template ranks below the current
 * one of its type. A direct acceptance counts as an active confirmation by every
 * partner: when either satisfies the rule, nothing is asked; else the partner's own
 * confirmation is judged, then the direct acceptance.
 */
function acceptanceReasons(facts: GateFacts, kind: TransactionKind): BlockReason[] {
  const a = facts.acceptance;
  const direct = directOn(facts);
  const directReasons = direct ? policyReasons(facts.rule, direct.type, direct.acceptedOn, kind) : null;
  if (directReasons?.length === 0) return [];
  if (a.status === 'NONE') return directReasons ?? [BlockReason.ACCEPTANCE_NOT_CONFIRMED];
  if (a.status === 'WITHDRAWN') return directReasons ?? [BlockReason.ACCEPTANCE_WITHDRAWN];
  const reasons: BlockReason[] = [];
  // Row 3 (new customer) and row 4 (a renewal after the agreement was updated).
  if (outdated(facts) && (!facts.existingCustomer || kind === TransactionKind.RENEWAL)) reasons.push(BlockReason.AGREEMENT_VERSION_OUTDATED);
  reasons.push(...policyReasons(facts.rule, a.type, a.dateAgreed, kind));
  return reasons;
}

/** Row 5: an existing customer buying or changing seats under an outdated confirmation. */
function updateAvailable(facts: GateFacts): boolean {
  return (
    outdated(facts) &&
    facts.existingCustomer &&
    (facts.kind === TransactionKind.NEW_PURCHASE || facts.kind === TransactionKind.SEAT_CHANGE)
  );
}

/**
 * The agreement type whose current template the gate names (and judges outdatedness
 * by): the rule's, for what the customer has (a direct acceptance, else the partner's
 * confirmation). Before enforcement, the first rule to come for the channel.
 */
export function gateRequiredType(
  rule: PolicyRule | null,
  acceptance: AcceptanceState,
  direct: DirectAcceptanceFact | null,
): AgreementType | null {
  if (!rule) return acceptance.status === 'ACTIVE' ? acceptance.type : (direct?.type ?? null);
  if (direct && typeAccepted(rule, direct.type)) return direct.type;
  return requiredType(rule, acceptance.status === 'ACTIVE' ? acceptance.type : null);
}

/** Row 7: the reseller is not linked to the provider, or does not serve the customer. */
const resellerUnauthorized = (facts: GateFacts) => !!facts.reseller && (!facts.reseller.linkedToProvider || !facts.reseller.servesCustomer);

/** The last row of section 5's table: a seat decrease or a cancellation outside its window. */
function windowClosed(facts: GateFacts): boolean {
  const s = facts.subscription;
  if (!s || (facts.kind !== TransactionKind.CANCELLATION && facts.kind !== TransactionKind.SEAT_CHANGE)) return false;
  return cancellationWindowClosed(facts.kind, s, facts.quantity ?? s.seats, facts.requestedAt);
}

/**
 * A cancellation needs no acceptance (section 12): it is judged by reseller authorization
 * and its window only, under no policy rule.
 */
function decideCancellation(facts: GateFacts): GateDecision {
  const blockReasons: BlockReason[] = [];
  if (resellerUnauthorized(facts)) blockReasons.push(BlockReason.RESELLER_NOT_AUTHORIZED);
  if (windowClosed(facts)) blockReasons.push(BlockReason.CANCELLATION_WINDOW_CLOSED);
  return { outcome: blockReasons.length ? OrderOutcome.BLOCKED : OrderOutcome.COMPLETED, blockReasons, warnings: [], requiredAgreement: null, policyRule: null };
}

export function decide(facts: GateFacts): GateDecision {
  if (facts.kind === TransactionKind.CANCELLATION) return decideCancellation(facts);
  const blockReasons: BlockReason[] = [];
  const warnings: TransactionWarning[] = [];
  const policyBlocks: BlockReason[] = [];
  // No rule in force for the channel yet: the would-be reasons only warn.
  const before = facts.rule === null;

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
      blockReasons.push(...wouldBlock.filter((r) => !POLICY_REASONS.includes(r)));
      policyBlocks.push(...wouldBlock.filter((r) => POLICY_REASONS.includes(r)));
    }
    if (updateAvailable(facts)) warnings.push(TransactionWarning.AGREEMENT_UPDATE_AVAILABLE);
  }

  // Row 7: not an acceptance rule, so neither AUTO_RENEWAL, national clouds nor the enforcement date lift it.
  if (resellerUnauthorized(facts)) blockReasons.push(BlockReason.RESELLER_NOT_AUTHORIZED);
  // Section 10's rows come after reseller authorization in the table.
  blockReasons.push(...policyBlocks);

  // The window row: the vendor's rule, not an acceptance rule, so neither national clouds nor the enforcement date lift it.
  if (windowClosed(facts)) blockReasons.push(BlockReason.CANCELLATION_WINDOW_CLOSED);

  // Row 9.
  if (before) warnings.push(TransactionWarning.BEFORE_ENFORCEMENT);

  return {
    outcome: blockReasons.length ? OrderOutcome.BLOCKED : OrderOutcome.COMPLETED,
    blockReasons,
    warnings,
    requiredAgreement: facts.nationalCloud ? null : facts.currentAgreement,
    policyRule: facts.rule,
  };
}
