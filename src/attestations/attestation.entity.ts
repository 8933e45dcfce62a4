import { randomUUID } from 'node:crypto';
import { Embedded, Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Contact } from '../common/contact';
import { Customer } from '../customers/customer.entity';
import { Partner, User } from '../partners/partner.entity';
import { Acceptance, AcceptanceSubmission } from '../acceptance/acceptance.entity';
import { AttestationStatus } from './attestation.enums';

/**
 * An enhanced attestation (DESIGN.md section 11): the gateway asks Partner Center for an
 * acceptance link, follows it until the customer accepts, then creates the agreement
 * upstream and records the confirmation. `acceptanceUrl` lets whoever holds it accept:
 * it reaches GraphQL only through AttestationResolver, for the billing partner's ADMIN and AGENT.
 */
@ObjectType({ description: "An enhanced attestation of a customer's acceptance of the Microsoft Customer Agreement" })
@Entity({ tableName: 'attestations' })
@Index({ properties: ['partner', 'createdAt'] })
// The all-attestations page in keyset order (Migration20261204120000, built concurrently).
@Index({ name: 'attestations_created_at_id_index', properties: ['createdAt', 'id'] })
// The audit export's time-ordered stream of one partner's events (Migration20261208100000, built concurrently).
@Index({
  name: 'attestations_partner_id_recorded_at_index',
  expression: 'create index "attestations_partner_id_recorded_at_index" on "attestations" ("partner_id", "recorded_at") where "recorded_at" is not null',
})
// At most one open attestation per (customer, partner): the database enforces it.
@Unique({
  name: 'attestations_one_open_per_customer_partner',
  expression:
    "create unique index \"attestations_one_open_per_customer_partner\" on \"attestations\" (\"customer_id\", \"partner_id\") where \"status\" in ('REQUESTED', 'LINK_ISSUED', 'CUSTOMER_ACCEPTED')",
})
export class Attestation {
  [OptionalProps]?: 'id' | 'status' | 'createdAt' | 'updatedAt' | 'createRequestId';

  @Field(() => ID, { description: 'The attestation id (the gateway\'s)' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Customer, { deleteRule: 'cascade', index: true })
  customer!: Customer;

  /** The billing partner: a direct-bill partner, or the provider of an indirect customer. */
  @ManyToOne(() => Partner)
  partner!: Partner;

  /** The reseller whose submission started it (a provider attesting from a submission). */
  @ManyToOne(() => Partner, { nullable: true })
  reseller?: Partner | null;

  @ManyToOne(() => AcceptanceSubmission, { nullable: true })
  submission?: AcceptanceSubmission | null;

  @ManyToOne(() => User)
  requestedBy!: User;

  @Field(() => AttestationStatus, { description: 'REQUESTED, LINK_ISSUED, CUSTOMER_ACCEPTED, then RECORDED; or EXPIRED, CANCELLED, FAILED' })
  @Enum({ items: () => AttestationStatus })
  status: AttestationStatus = AttestationStatus.REQUESTED;

  @Field(() => String, { nullable: true, description: 'The attestation id in Partner Center, once created there' })
  @Property({ type: 'text', nullable: true })
  upstreamId?: string | null;

  /** Read through AttestationResolver only (null for every viewer but the billing partner's ADMIN and AGENT). */
  @Property({ type: 'text', nullable: true })
  acceptanceUrl?: string | null;

  @Field(() => Date, { nullable: true, description: 'When the acceptance link expires' })
  @Property({ columnType: 'timestamptz', nullable: true })
  linkExpiresAt?: Date | null;

  @Field(() => Int, { description: 'How long the acceptance link lives, in minutes (5 to 10080)' })
  @Property({ type: 'integer' })
  linkLifetimeMinutes!: number;

  @Field({ description: 'The company name shown to the signatory' })
  @Property({ type: 'text' })
  companyName!: string;

  @Field({ description: 'ISO 3166-1 alpha-2 country of the agreement' })
  @Property({ type: 'text' })
  country!: string;

  @Field({ description: 'BCP 47 language of the agreement' })
  @Property({ type: 'text' })
  language!: string;

  @Field(() => Contact, { description: 'The person asked to accept (masked for analysts)' })
  @Embedded(() => Contact, { prefix: 'signatory_' })
  signatory!: Contact;

  @Field(() => String, { nullable: true, description: 'Why it FAILED (or the last passing trouble), with the upstream code, e.g. "600070: ..."' })
  @Property({ type: 'text', nullable: true })
  lastError?: string | null;

  /** The upstream error code of a FAILED attestation. */
  @Property({ type: 'text', nullable: true })
  errorCode?: string | null;

  @Field(() => Date, { nullable: true, description: 'When the customer accepted, as Partner Center reports it' })
  @Property({ columnType: 'timestamptz', nullable: true })
  acceptedAt?: Date | null;

  /** MS-RequestId of the create call: a retried create replays the first answer. */
  @Property({ type: 'uuid' })
  createRequestId: string = randomUUID();

  /** MS-RequestId of the agreement-create call, stored BEFORE the call: a gateway killed mid-call replays the same id. */
  @Property({ type: 'uuid', nullable: true })
  agreementRequestId?: string | null;

  /** The confirmation recorded once RECORDED. */
  @ManyToOne(() => Acceptance, { nullable: true })
  acceptance?: Acceptance | null;

  /** The one pg-boss job following it now; any other job for it is stale. */
  @Property({ type: 'uuid', nullable: true })
  jobId?: string | null;

  @Field({ description: 'When it was requested' })
  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Field(() => Date, { nullable: true, description: 'When it was RECORDED: the agreement created upstream and the confirmation recorded' })
  @Property({ columnType: 'timestamptz', nullable: true })
  recordedAt?: Date | null;

  @Field({ description: 'When its status (or error) last changed' })
  @Property({ columnType: 'timestamptz' })
  updatedAt: Date = new Date();
}

/**
 * One status change of an attestation: the mailbox of `attestationUpdates` (the alert
 * hub's pattern: a row per change, a NOTIFY as doorbell, the bigserial id as cursor).
 */
@Entity({ tableName: 'attestation_updates' })
@Index({ properties: ['partner', 'id'] })
@Index({ properties: ['reseller', 'id'] })
export class AttestationUpdate {
  [OptionalProps]?: 'id' | 'createdAt';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => Attestation, { deleteRule: 'cascade', index: true })
  attestation!: Attestation;

  @ManyToOne(() => Customer, { deleteRule: 'cascade', index: true })
  customer!: Customer;

  @ManyToOne(() => Partner)
  partner!: Partner;

  @ManyToOne(() => Partner, { nullable: true })
  reseller?: Partner | null;

  @Enum({ items: () => AttestationStatus })
  status!: AttestationStatus;

  @Property({ type: 'text', nullable: true })
  lastError?: string | null;

  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
