import { randomUUID } from 'node:crypto';
import { Embedded, Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique, OptionalProps } from '@mikro-orm/core';
import { Contact } from '../common/contact';
import { Customer } from '../customers/customer.entity';
import { Partner, User } from '../partners/partner.entity';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { AcceptanceStatus, Channel, SubmissionStatus } from './acceptance.enums';

/** A customer's acceptance of an agreement, confirmed by one billing partner. */
@Entity({ tableName: 'acceptances' })
@Index({ properties: ['customer', 'partner', 'recordedAt'] })
// The database itself guarantees one active confirmation per (customer, partner).
@Unique({
  name: 'acceptances_one_active_per_customer_partner',
  expression:
    "create unique index \"acceptances_one_active_per_customer_partner\" on \"acceptances\" (\"customer_id\", \"partner_id\") where \"status\" = 'ACTIVE'",
})
export class Acceptance {
  [OptionalProps]?: 'id' | 'channel' | 'status' | 'recordedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Customer, { deleteRule: 'cascade' })
  customer!: Customer;

  /** The billing partner that confirmed. */
  @ManyToOne(() => Partner, { index: true })
  partner!: Partner;

  @ManyToOne(() => AgreementTemplate, { fieldName: 'template_id' })
  template!: AgreementTemplate;

  @Property({ type: 'date' })
  dateAgreed!: string;

  @Embedded(() => Contact, { prefix: 'contact_' })
  contact!: Contact;

  /** Free text: the employee behind a shared service account, or the reseller of an approved submission. */
  @Property({ type: 'text', nullable: true })
  onBehalfOf?: string | null;

  @Enum({ items: () => Channel })
  channel: Channel = Channel.API;

  @Enum({ items: () => AcceptanceStatus })
  status: AcceptanceStatus = AcceptanceStatus.ACTIVE;

  @ManyToOne(() => User)
  confirmedBy!: User;

  @Property({ columnType: 'timestamptz' })
  recordedAt: Date = new Date();

  @Property({ columnType: 'timestamptz', nullable: true })
  supersededAt?: Date | null;

  @Property({ columnType: 'timestamptz', nullable: true })
  withdrawnAt?: Date | null;

  @ManyToOne(() => User, { nullable: true })
  withdrawnBy?: User | null;

  @Property({ type: 'text', nullable: true })
  withdrawalReason?: string | null;
}

/** One corrected contact field: the audit trail of section 4. */
@Entity({ tableName: 'acceptance_corrections' })
export class AcceptanceCorrection {
  [OptionalProps]?: 'id' | 'correctedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Acceptance, { deleteRule: 'cascade', index: true })
  acceptance!: Acceptance;

  @ManyToOne(() => User)
  correctedBy!: User;

  @Property({ columnType: 'timestamptz' })
  correctedAt: Date = new Date();

  @Property()
  field!: string;

  @Property({ type: 'text', nullable: true })
  oldValue?: string | null;

  @Property({ type: 'text', nullable: true })
  newValue?: string | null;
}

/** Acceptance details a reseller hands to its provider for review. */
@Entity({ tableName: 'acceptance_submissions' })
@Index({ properties: ['provider', 'status'] })
export class AcceptanceSubmission {
  [OptionalProps]?: 'id' | 'status' | 'submittedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Customer, { deleteRule: 'cascade' })
  customer!: Customer;

  @ManyToOne(() => Partner)
  provider!: Partner;

  @ManyToOne(() => Partner, { index: true })
  reseller!: Partner;

  @ManyToOne(() => AgreementTemplate, { fieldName: 'template_id' })
  template!: AgreementTemplate;

  @Property({ type: 'date' })
  dateAgreed!: string;

  @Embedded(() => Contact, { prefix: 'contact_' })
  contact!: Contact;

  @Enum({ items: () => SubmissionStatus })
  status: SubmissionStatus = SubmissionStatus.PENDING;

  @ManyToOne(() => User)
  submittedBy!: User;

  @Property({ columnType: 'timestamptz' })
  submittedAt: Date = new Date();

  @ManyToOne(() => User, { nullable: true })
  reviewedBy?: User | null;

  @Property({ columnType: 'timestamptz', nullable: true })
  reviewedAt?: Date | null;

  @Property({ type: 'text', nullable: true })
  reviewNote?: string | null;

  /** The provider's acceptance recorded on approval. */
  @ManyToOne(() => Acceptance, { nullable: true })
  acceptance?: Acceptance | null;
}
