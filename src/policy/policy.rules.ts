import type { Channel } from '../acceptance/acceptance.enums';
import { BadUserInputError, ConflictError } from '../errors';
import { AgreementType } from '../agreements/agreement.enums';
import type { TransactionKind } from '../transactions/transaction.enums';

/**
 * The requirement policy's pure rules (DESIGN.md section 10): which rule is in force
 * for an order, and what it asks of an acceptance. The rules themselves are data
 * (the `acceptance_policy_rules` table); nothing here knows a date of the timeline.
 */

/** A rule as the gate reads it (the entity's fields that decide). */
export interface PolicyRule {
  id: string;
  /** YYYY-MM-DD. */
  effectiveFrom: string;
  channel: Channel | null;
  acceptedTypes: AgreementType[];
  /** YYYY-MM-DD; acceptances dated earlier no longer satisfy the kinds of `minimumAppliesTo`. */
  minimumDateAgreed: string | null;
  /** null: every gated kind. */
  minimumAppliesTo: TransactionKind[] | null;
  attestationRequired: boolean;
  /** Tells rules of the same day apart: the later added wins. */
  createdAt: Date;
}

const utcDay = (at: Date) => at.toISOString().slice(0, 10);

function applies(rule: PolicyRule, channel: Channel): boolean {
  return rule.channel === null || rule.channel === channel;
}

/** Later effectiveFrom first, then later added first. */
function laterFirst(a: PolicyRule, b: PolicyRule): number {
  if (a.effectiveFrom !== b.effectiveFrom) return a.effectiveFrom < b.effectiveFrom ? 1 : -1;
  return b.createdAt.getTime() - a.createdAt.getTime();
}

/**
 * The rule in force for an order over `channel` at `at`: the latest whose effectiveFrom is
 * on or before that day and whose channel is absent or matches; null before the first
 * (before enforcement).
 */
export function ruleInForce(rules: readonly PolicyRule[], channel: Channel, at: Date): PolicyRule | null {
  const day = utcDay(at);
  let best: PolicyRule | null = null;
  for (const r of rules) {
    if (r.effectiveFrom > day || !applies(r, channel)) continue;
    if (!best || laterFirst(r, best) < 0) best = r;
  }
  return best;
}

/** The first rule that will come into force for `channel` (what the would-be reasons before enforcement are judged by). */
export function firstRule(rules: readonly PolicyRule[], channel: Channel): PolicyRule | null {
  let first: PolicyRule | null = null;
  for (const r of rules) {
    if (!applies(r, channel)) continue;
    if (!first || laterFirst(r, first) > 0) first = r;
  }
  return first;
}

/** Whether an acceptance of `type` dated `dateAgreed` satisfies `rule` for a transaction of `kind`: type, then minimum date. */
export function typeAccepted(rule: PolicyRule, type: AgreementType): boolean {
  return rule.acceptedTypes.includes(type);
}

/** Whether `rule` asks re-acceptance of an acceptance dated `dateAgreed` (YYYY-MM-DD) for `kind`. */
export function reacceptanceRequired(rule: PolicyRule, dateAgreed: string, kind: TransactionKind): boolean {
  if (!rule.minimumDateAgreed || dateAgreed >= rule.minimumDateAgreed) return false;
  return rule.minimumAppliesTo === null || rule.minimumAppliesTo.includes(kind);
}

/** Newest first: the type a rule asks for when the customer has none it accepts. */
const NEWEST_FIRST = [AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, AgreementType.MICROSOFT_CLOUD_AGREEMENT];

/**
 * The agreement type a customer must have accepted under `rule`: the type it has when the
 * rule accepts it (so its outdatedness is judged within its type), else the newest type the rule accepts.
 */
export function requiredType(rule: PolicyRule, has: AgreementType | null): AgreementType {
  if (has && typeAccepted(rule, has)) return has;
  return NEWEST_FIRST.find((t) => typeAccepted(rule, t)) ?? rule.acceptedTypes[0];
}

/** A rule row as SQL reads it (`row_to_json` of `acceptance_policy_rules`). */
export interface PolicyRuleRow {
  id: string;
  effective_from: string;
  channel: Channel | null;
  accepted_types: AgreementType[];
  minimum_date_agreed: string | null;
  minimum_applies_to: TransactionKind[] | null;
  attestation_required: boolean;
  description: string;
  created_at: string | Date;
}

const day = (v: string | Date | null): string | null => (v === null ? null : typeof v === 'string' ? v.slice(0, 10) : v.toISOString().slice(0, 10));

/** A rule with its description, as listed. */
export type DescribedRule = PolicyRule & { description: string };

export function policyRuleOf(r: PolicyRuleRow): DescribedRule {
  return {
    id: r.id,
    effectiveFrom: day(r.effective_from)!,
    channel: r.channel ?? null,
    acceptedTypes: r.accepted_types,
    minimumDateAgreed: day(r.minimum_date_agreed),
    minimumAppliesTo: r.minimum_applies_to ?? null,
    attestationRequired: r.attestation_required,
    description: r.description,
    createdAt: new Date(r.created_at),
  };
}

/** A new rule's checked values (DESIGN.md section 10). */
export interface RuleData {
  effectiveFrom: string;
  channel: Channel | null;
  acceptedTypes: AgreementType[];
  minimumDateAgreed: string | null;
  minimumAppliesTo: TransactionKind[] | null;
  attestationRequired: boolean;
  description: string;
}

const DESCRIPTION_MAX = 1000;

/**
 * The checks of a new rule, each failing on its own field: it takes effect today or later
 * (history is never rewritten), names at least one accepted type, names kinds only with a
 * minimum date, and says what it is.
 */
export function normalizeRuleInput(
  input: {
    effectiveFrom: string;
    channel?: Channel | null;
    acceptedTypes: AgreementType[];
    minimumDateAgreed?: string | null;
    minimumAppliesTo?: TransactionKind[] | null;
    attestationRequired?: boolean | null;
    description: string;
  },
  today: string,
): RuleData {
  if (input.effectiveFrom < today) throw new BadUserInputError(`effectiveFrom may not lie in the past (today is ${today}); rules are never changed after the fact`, 'effectiveFrom');
  const acceptedTypes = [...new Set(input.acceptedTypes)];
  if (acceptedTypes.length === 0) throw new BadUserInputError('acceptedTypes must name at least one agreement type', 'acceptedTypes');
  const kinds = input.minimumAppliesTo ? [...new Set(input.minimumAppliesTo)] : null;
  if (kinds && kinds.length === 0) throw new BadUserInputError('minimumAppliesTo must name at least one kind (omit it for every kind)', 'minimumAppliesTo');
  if (kinds && !input.minimumDateAgreed) throw new BadUserInputError('minimumAppliesTo needs a minimumDateAgreed', 'minimumAppliesTo');
  const description = input.description.trim();
  if (!description) throw new BadUserInputError('description is required', 'description');
  if (description.length > DESCRIPTION_MAX) throw new BadUserInputError(`description is longer than ${DESCRIPTION_MAX} characters`, 'description');
  return {
    effectiveFrom: input.effectiveFrom,
    channel: input.channel ?? null,
    acceptedTypes,
    minimumDateAgreed: input.minimumDateAgreed ?? null,
    minimumAppliesTo: kinds,
    attestationRequired: input.attestationRequired ?? false,
    description,
  };
}

/**
 * Recording a partner confirmation dated `dateAgreed` over `channel` at `at`: under a rule
 * requiring attestation, acceptances dated on or after its effectiveFrom must come from an
 * attestation (DESIGN.md section 11) and are refused; earlier ones may still be recorded,
 * as the vendor keeps earlier attestations valid.
 */
export function assertRecordableWithoutAttestation(rules: readonly PolicyRule[], channel: Channel, at: Date, dateAgreed: string): void {
  const rule = ruleInForce(rules, channel, at);
  if (rule?.attestationRequired && dateAgreed >= rule.effectiveFrom) {
    throw new ConflictError(
      `Acceptances dated from ${rule.effectiveFrom} must come from an attestation: request an attestation for the customer instead of recording a confirmation`,
    );
  }
}
