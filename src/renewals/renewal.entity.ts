import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique, OptionalProps } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { Customer } from '../customers/customer.entity';
import { Partner } from '../partners/partner.entity';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { DateScalar } from '../common/scalars';
import { Subscription } from '../transactions/transaction.entity';
import { BlockReason, TransactionWarning } from '../transactions/transaction.enums';

/**
 * Raised by the renewal scan when a subscription's renewal would be blocked. The
 * bigserial id is the monotonic cursor subscribers resume from; the unique
 * (subscription, renewsOn) means one alert per subscription and term, however many
 * scans run, on however many instances (the insert is `on conflict do nothing`).
 */
@ObjectType({
  description: 'An alert raised when a subscription entering the renewal window would be blocked at renewal; its cursor orders every renewal-risk alert ever raised',
})
@Entity({ tableName: 'renewal_risk_alerts' })
@Unique({ properties: ['subscription', 'renewsOn'] })
@Index({ properties: ['partner', 'id'] })
@Index({ properties: ['reseller', 'id'] })
export class RenewalRiskAlert {
  [OptionalProps]?: 'id' | 'blockReasons' | 'warnings' | 'createdAt';

  @Field(() => ID, { description: 'The alert id (also its cursor)' })
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => Subscription, { deleteRule: 'cascade' })
  subscription!: Subscription;

  @ManyToOne(() => Customer, { deleteRule: 'cascade', index: true })
  customer!: Customer;

  /** The billing partner of the subscription. */
  @ManyToOne(() => Partner)
  partner!: Partner;

  /** The reseller the subscription was sold through, if any. */
  @ManyToOne(() => Partner, { nullable: true })
  reseller?: Partner | null;

  @Field(() => DateScalar, { description: 'The end of the term whose renewal is at risk' })
  @Property({ type: 'date' })
  renewsOn!: string;

  @Field(() => [BlockReason], { description: 'Why the gate would block the renewal, in the order of the rules (as it judged on the day of the scan)' })
  @Enum({ items: () => BlockReason, array: true })
  blockReasons: BlockReason[] = [];

  @Field(() => [TransactionWarning], { description: 'What the gate noticed without blocking, on the day of the scan' })
  @Enum({ items: () => TransactionWarning, array: true })
  warnings: TransactionWarning[] = [];

  /** The agreement that would fix it, when the gate named one. */
  @ManyToOne(() => AgreementTemplate, { fieldName: 'required_template_id', nullable: true })
  requiredAgreement?: AgreementTemplate | null;

  @Field({ description: 'When the scan raised the alert' })
  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
