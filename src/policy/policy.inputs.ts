import { Field, InputType } from 'type-graphql';
import { Channel } from '../acceptance/acceptance.enums';
import { AgreementType } from '../agreements/agreement.enums';
import { DateScalar } from '../common/scalars';
import { TransactionKind } from '../transactions/transaction.enums';

/** Checked in depth by `normalizeRuleInput` (policy.rules.ts), which names the offending field. */
@InputType({ description: 'A new rule of the requirement policy, complete (it restates every type and minimum date it keeps); platform admins only' })
export class AcceptancePolicyRuleInput {
  @Field(() => DateScalar, { description: 'First day (UTC) the rule is in force: today or later' })
  effectiveFrom!: string;

  @Field(() => Channel, { nullable: true, description: 'The channel the rule applies to; absent: every channel' })
  channel?: Channel | null;

  @Field(() => [AgreementType], { description: 'The agreement types that satisfy a transaction; at least one' })
  acceptedTypes!: AgreementType[];

  @Field(() => DateScalar, { nullable: true, description: 'Acceptances dated earlier no longer satisfy the kinds of minimumAppliesTo' })
  minimumDateAgreed?: string | null;

  @Field(() => [TransactionKind], { nullable: true, description: 'The kinds the minimum date applies to; absent: every gated kind' })
  minimumAppliesTo?: TransactionKind[] | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false, description: 'New confirmations dated from effectiveFrom must come from an attestation' })
  attestationRequired?: boolean | null;

  @Field({ description: 'What the rule is and where it comes from' })
  description!: string;
}
