import { Embedded, Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique, OptionalProps } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { Contact } from '../common/contact';
import { DateScalar } from '../common/scalars';
import { Customer } from '../customers/customer.entity';
import { Partner, User } from '../partners/partner.entity';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { AcceptanceStatus, Channel, EvidenceSource, SubmissionStatus } from './acceptance.enums';
import { newId } from '../kernel/ids';

/** A customer's acceptance of an agreement, confirmed by one billing partner. */
@ObjectType({ description: "A customer's acceptance of an agreement, recorded by one billing partner" })
@Entity({ tableName: 'acceptances' })
@Index({ properties: ['customer', 'partner', 'recordedAt'] })
// The audit export's time-ordered stream of one partner's events (Migration20261208100000, built concurrently).
@Index({ name: 'acceptances_partner_id_recorded_at_index', properties: ['partner', 'recordedAt'] })
@Index({
  name: 'acceptances_partner_id_superseded_at_index',
  expression: 'create index "acceptances_partner_id_superseded_at_index" on "acceptances" ("partner_id", "superseded_at") where "superseded_at" is not null',
})
@Index({
  name: 'acceptances_partner_id_withdrawn_at_index',
  expression: 'create index "acceptances_partner_id_withdrawn_at_index" on "acceptances" ("partner_id", "withdrawn_at") where "withdrawn_at" is not null',
})
// The database itself guarantees one active confirmation per (customer, partner).
@Unique({
  name: 'acceptances_one_active_per_customer_partner',
  expression:
    "create unique index \"acceptances_one_active_per_customer_partner\" on \"acceptances\" (\"customer_id\", \"partner_id\") where \"status\" = 'ACTIVE'",
})
export class Acceptance {
  [OptionalProps]?: 'id' | 'channel' | 'status' | 'recordedAt' | 'source';

  @Field(() => ID, { description: 'The acceptance id' })
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => Customer, { deleteRule: 'cascade' })
  customer!: Customer;

  /** The billing partner that confirmed. */
  @ManyToOne(() => Partner, { index: true })
  partner!: Partner;

  @ManyToOne(() => AgreementTemplate, { fieldName: 'template_id' })
  template!: AgreementTemplate;

  @Field(() => DateScalar, { description: 'The day the person accepted' })
  @Property({ type: 'date' })
  dateAgreed!: string;

  @Field(() => Contact, { description: 'The person who accepted (masked for analysts)' })
  @Embedded(() => Contact, { prefix: 'contact_' })
  contact!: Contact;

  /** Free text: the employee behind a shared service account, or the reseller of an approved submission. */
  @Field(() => String, { nullable: true, description: 'The employee behind a shared service account, or the reseller of an approved submission' })
  @Property({ type: 'text', nullable: true })
  onBehalfOf?: string | null;

  @Field(() => Channel, { description: 'Where the confirmation was recorded' })
  @Enum({ items: () => Channel })
  channel: Channel = Channel.API;

  /** How it was obtained (the evidence's source, DESIGN.md section 13); not a GraphQL field here: Acceptance.evidence shows it. */
  @Enum({ items: () => EvidenceSource, default: EvidenceSource.PARTNER_RECORDED })
  source: EvidenceSource = EvidenceSource.PARTNER_RECORDED;

  /** The gateway's attestation this confirmation came from (source ATTESTATION). */
  @Property({ type: 'uuid', nullable: true })
  attestationId?: string | null;

  @Field(() => AcceptanceStatus, { description: 'ACTIVE, SUPERSEDED by a newer confirmation, or WITHDRAWN' })
  @Enum({ items: () => AcceptanceStatus })
  status: AcceptanceStatus = AcceptanceStatus.ACTIVE;

  @ManyToOne(() => User)
  confirmedBy!: User;

  @Field({ description: 'When the confirmation was recorded' })
  @Property({ columnType: 'timestamptz' })
  recordedAt: Date = new Date();

  @Field(() => Date, { nullable: true, description: 'When a newer confirmation replaced this one' })
  @Property({ columnType: 'timestamptz', nullable: true })
  supersededAt?: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the acceptance was withdrawn' })
  @Property({ columnType: 'timestamptz', nullable: true })
  withdrawnAt?: Date | null;

  @ManyToOne(() => User, { nullable: true })
  withdrawnBy?: User | null;

  @Field(() => String, { nullable: true, description: 'Why the acceptance was withdrawn' })
  @Property({ type: 'text', nullable: true })
  withdrawalReason?: string | null;
}

/** One corrected contact field: the audit trail of section 4. */
@ObjectType({ description: 'One corrected contact field of an acceptance: who, when, old and new value' })
@Entity({ tableName: 'acceptance_corrections' })
@Index({ properties: ['correctedAt'] })
// An acceptance's corrections by field and time: the audit trail's facts probe it per event (Migration20261210100000, built concurrently).
@Index({ name: 'acceptance_corrections_acceptance_id_field_at_index', properties: ['acceptance', 'field', 'correctedAt', 'id'] })
export class AcceptanceCorrection {
  [OptionalProps]?: 'id' | 'correctedAt';

  @Field(() => ID, { description: 'The correction id' })
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => Acceptance, { deleteRule: 'cascade' })
  acceptance!: Acceptance;

  @ManyToOne(() => User)
  correctedBy!: User;

  @Field({ description: 'When the correction was made' })
  @Property({ columnType: 'timestamptz' })
  correctedAt: Date = new Date();

  @Field({ description: 'The corrected contact field: firstName, lastName, email or phoneNumber' })
  @Property()
  field!: string;

  @Property({ type: 'text', nullable: true })
  oldValue?: string | null;

  @Property({ type: 'text', nullable: true })
  newValue?: string | null;
}

/** Acceptance details a reseller hands to its provider for review. */
@ObjectType({ description: 'Acceptance details a reseller handed to its provider for review' })
@Entity({ tableName: 'acceptance_submissions' })
@Index({ properties: ['provider', 'status'] })
// One customer's submissions to a provider: the audit trail's submitted and reviewed events (Migration20261204120000, built concurrently).
@Index({ name: 'acceptance_submissions_customer_id_provider_id_index', properties: ['customer', 'provider'] })
// The audit export's time-ordered stream of one partner's events (Migration20261208100000, built concurrently).
@Index({ name: 'acceptance_submissions_provider_id_submitted_at_index', properties: ['provider', 'submittedAt'] })
@Index({
  name: 'acceptance_submissions_provider_id_reviewed_at_index',
  expression: 'create index "acceptance_submissions_provider_id_reviewed_at_index" on "acceptance_submissions" ("provider_id", "reviewed_at") where "reviewed_at" is not null',
})
export class AcceptanceSubmission {
  [OptionalProps]?: 'id' | 'status' | 'submittedAt';

  @Field(() => ID, { description: 'The submission id' })
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => Customer, { deleteRule: 'cascade' })
  customer!: Customer;

  @ManyToOne(() => Partner)
  provider!: Partner;

  @ManyToOne(() => Partner, { index: true })
  reseller!: Partner;

  @ManyToOne(() => AgreementTemplate, { fieldName: 'template_id' })
  template!: AgreementTemplate;

  @Field(() => DateScalar, { description: 'The day the person accepted' })
  @Property({ type: 'date' })
  dateAgreed!: string;

  @Field(() => Contact, { description: 'The person who accepted (masked for analysts)' })
  @Embedded(() => Contact, { prefix: 'contact_' })
  contact!: Contact;

  @Field(() => SubmissionStatus, { description: 'PENDING until the provider approves or rejects it' })
  @Enum({ items: () => SubmissionStatus })
  status: SubmissionStatus = SubmissionStatus.PENDING;

  @ManyToOne(() => User)
  submittedBy!: User;

  @Field({ description: 'When the reseller submitted it' })
  @Property({ columnType: 'timestamptz' })
  submittedAt: Date = new Date();

  @ManyToOne(() => User, { nullable: true })
  reviewedBy?: User | null;

  @Field(() => Date, { nullable: true, description: 'When the provider reviewed it' })
  @Property({ columnType: 'timestamptz', nullable: true })
  reviewedAt?: Date | null;

  @Field(() => String, { nullable: true, description: "The provider's note (required on rejection)" })
  @Property({ type: 'text', nullable: true })
  reviewNote?: string | null;

  /** The provider's acceptance recorded on approval. */
  @ManyToOne(() => Acceptance, { nullable: true })
  acceptance?: Acceptance | null;
}
