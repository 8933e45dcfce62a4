import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, PrimaryKey, Property, OptionalProps } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { Channel } from '../acceptance/acceptance.enums';
import { AgreementType } from '../agreements/agreement.enums';
import { DateScalar } from '../common/scalars';
import { TransactionKind } from '../transactions/transaction.enums';

/**
 * One dated rule of the requirement policy (DESIGN.md section 10). Rules are complete
 * (each restates what it keeps) and never changed or deleted: a platform admin adds one
 * taking effect later instead.
 */
@ObjectType({ description: 'One dated rule of the requirement policy: which agreement types satisfy a transaction from which day' })
@Entity({ tableName: 'acceptance_policy_rules' })
@Index({ properties: ['effectiveFrom', 'createdAt'] })
export class AcceptancePolicyRule {
  [OptionalProps]?: 'id' | 'channel' | 'minimumDateAgreed' | 'minimumAppliesTo' | 'attestationRequired' | 'createdAt';

  @Field(() => ID, { description: 'Rule id' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => DateScalar, { description: 'First day (UTC) the rule is in force' })
  @Property({ type: 'date' })
  effectiveFrom!: string;

  @Field(() => Channel, { nullable: true, description: 'The channel the rule applies to; null for every channel' })
  @Enum({ items: () => Channel, nullable: true })
  channel: Channel | null = null;

  @Field(() => [AgreementType], { description: 'The agreement types that satisfy a transaction under this rule' })
  @Enum({ items: () => AgreementType, array: true })
  acceptedTypes!: AgreementType[];

  @Field(() => DateScalar, { nullable: true, description: 'Acceptances dated earlier no longer satisfy the kinds of minimumAppliesTo' })
  @Property({ type: 'date', nullable: true })
  minimumDateAgreed: string | null = null;

  @Field(() => [TransactionKind], { nullable: true, description: 'The kinds the minimum acceptance date applies to; null for every gated kind' })
  @Enum({ items: () => TransactionKind, array: true, nullable: true })
  minimumAppliesTo: TransactionKind[] | null = null;

  @Field({ description: 'Whether new partner confirmations dated from effectiveFrom must come from an attestation' })
  @Property({ default: false })
  attestationRequired: boolean = false;

  @Field({ description: 'What the rule is and where it comes from' })
  @Property({ type: 'text' })
  description!: string;

  @Field({ description: 'When the rule was added' })
  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
