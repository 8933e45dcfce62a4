import { Field, Int, ObjectType } from 'type-graphql';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { DateScalar } from '../common/scalars';
import { BlockReason, TransactionWarning } from '../transactions/transaction.enums';

/** A subscription whose RENEWAL the gate would block today; the related records resolve through DataLoaders. */
@ObjectType({ description: 'An active subscription renewing within the window whose RENEWAL the gate would block today' })
export class RenewalRisk {
  @Field(() => DateScalar, { description: 'When the current term ends' })
  renewsOn!: string;

  @Field(() => [BlockReason], { description: "The gate's reasons for blocking the renewal today, in the order of the rules" })
  blockReasons!: BlockReason[];

  @Field(() => [TransactionWarning], { description: 'What the gate notices without blocking' })
  warnings!: TransactionWarning[];

  @Field(() => AgreementTemplate, { nullable: true, description: 'The agreement the customer must have accepted for the renewal to pass (the current one), when the gate names one' })
  requiredAgreement!: AgreementTemplate | null;

  subscriptionId!: string;
  customerId!: string;
  partnerId!: string;
  resellerId!: string | null;
}

@ObjectType({ description: 'What a renewal-risk scan did' })
export class ScanRenewalRisksPayload {
  @Field(() => Int, { description: 'How many new renewal-risk alerts the scan raised (risks already alerted for the same term are not raised again)' })
  raised!: number;
}
