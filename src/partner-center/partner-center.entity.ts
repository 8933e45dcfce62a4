import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, ManyToOne, OneToOne, PrimaryKey, Property, Unique, OptionalProps } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Partner, User } from '../partners/partner.entity';
import { Acceptance } from '../acceptance/acceptance.entity';
import { SyncStatus } from './partner-center.enums';

/**
 * A partner's Partner Center credentials. Deliberately not a GraphQL type: the
 * secret and the refresh token are stored encrypted (src/partner-center/credentials.ts)
 * and nothing reads them back out; the API shows PartnerCenterConnection instead.
 */
@Entity({ tableName: 'partner_center_connections' })
export class PartnerCenterConnection {
  [OptionalProps]?: 'connectedAt';

  @OneToOne({ entity: () => Partner, primary: true, owner: true, deleteRule: 'cascade', fieldName: 'partner_id' })
  partner!: Partner;

  @Property({ type: 'text' })
  clientId!: string;

  /** AES-256-GCM, bound to the partner and the field (see credentials.ts). */
  @Property({ type: 'text' })
  clientSecretEnc!: string;

  @Property({ type: 'text' })
  refreshTokenEnc!: string;

  @Property({ columnType: 'timestamptz' })
  connectedAt: Date = new Date();

  @Property({ columnType: 'timestamptz', nullable: true })
  lastTokenAt?: Date | null;

  /** The last token request's failure (never a secret); null while tokens are issued. */
  @Property({ type: 'text', nullable: true })
  lastError?: string | null;

  /** When a delegated token was last issued: the refresh sweep keeps the refresh token from expiring idle. */
  @Property({ columnType: 'timestamptz', nullable: true })
  delegatedTokenAt?: Date | null;

  /** Set when the token endpoint answered invalid_grant: the connection NEEDS_REAUTHORIZATION, its deliveries PAUSED. */
  @Property({ columnType: 'timestamptz', nullable: true })
  reauthorizationRequiredAt?: Date | null;
}

/**
 * One upstream HTTP exchange (DESIGN.md section 11; issue 20's evidence): what was
 * called, with which ids, and how it ended. Never a token, a secret or a contact value:
 * the path carries ids only, and no body is kept.
 */
@Entity({ tableName: 'partner_center_exchanges' })
@Index({ properties: ['partner', 'at'] })
@Index({ properties: ['acceptanceId'] })
@Index({ properties: ['attestationId'] })
export class PartnerCenterExchange {
  [OptionalProps]?: 'id' | 'at';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => Partner, { deleteRule: 'cascade' })
  partner!: Partner;

  @Property({ type: 'uuid', nullable: true })
  customerId?: string | null;

  @Property({ type: 'uuid', nullable: true })
  acceptanceId?: string | null;

  @Property({ type: 'uuid', nullable: true })
  attestationId?: string | null;

  @Property({ columnType: 'timestamptz' })
  at: Date = new Date();

  @Property({ type: 'text' })
  operation!: string;

  @Property({ type: 'text' })
  method!: string;

  @Property({ type: 'text' })
  path!: string;

  @Property({ type: 'uuid', nullable: true })
  requestId?: string | null;

  @Property({ type: 'uuid', nullable: true })
  correlationId?: string | null;

  @Property({ type: 'int', nullable: true })
  httpStatus?: number | null;

  @Property({ type: 'text', nullable: true })
  code?: string | null;

  @Property({ type: 'text' })
  outcome!: string;
}

/**
 * The request budget per partner tenant, shared by every gateway instance: the table of
 * rate-limiter-flexible's PostgreSQL store (RateLimiterPostgres), in its own shape,
 * created by migration rather than by the library at run time.
 */
@Entity({ tableName: 'partner_center_throttle' })
export class PartnerCenterThrottle {
  @PrimaryKey({ type: 'string', columnType: 'varchar(255)' })
  key!: string;

  @Property({ type: 'int', default: 0 })
  points: number = 0;

  @Property({ type: 'bigint', nullable: true })
  expire?: string | null;
}

/**
 * The sync state of one acceptance, written in the transaction that records the
 * confirmation (or corrects its contact): the transactional outbox's row. `jobId`
 * names the one pg-boss job allowed to deliver it; any other job for it is stale.
 */
@ObjectType('AcceptanceSync', { description: 'Delivery of one confirmation to Partner Center' })
@Entity({ tableName: 'acceptance_syncs' })
@Index({ properties: ['partner', 'status', 'createdAt', 'acceptance'] })
// The backlog's pages in keyset order: all, one partner's, one status's (Migration20261204120000, built concurrently).
@Index({ name: 'acceptance_syncs_created_at_acceptance_id_index', properties: ['createdAt', 'acceptance'] })
@Index({ name: 'acceptance_syncs_partner_id_created_at_acceptance_id_index', properties: ['partner', 'createdAt', 'acceptance'] })
@Index({ name: 'acceptance_syncs_status_created_at_acceptance_id_index', properties: ['status', 'createdAt', 'acceptance'] })
// The audit export's time-ordered stream of one partner's events (Migration20261208100000, built concurrently).
@Index({
  name: 'acceptance_syncs_partner_id_synced_at_index',
  expression: 'create index "acceptance_syncs_partner_id_synced_at_index" on "acceptance_syncs" ("partner_id", "synced_at") where "synced_at" is not null',
})
@Index({
  name: 'acceptance_syncs_partner_id_failed_at_index',
  expression: `create index "acceptance_syncs_partner_id_failed_at_index" on "acceptance_syncs" ("partner_id", (coalesce("last_attempt_at", "created_at"))) where "status" = 'FAILED'`,
})
export class AcceptanceSync {
  [OptionalProps]?: 'attempts' | 'createdAt';

  @OneToOne({ entity: () => Acceptance, primary: true, owner: true, deleteRule: 'cascade', fieldName: 'acceptance_id' })
  acceptance!: Acceptance;

  @ManyToOne(() => Partner, { deleteRule: 'cascade' })
  partner!: Partner;

  @Field(() => SyncStatus, { description: 'NOT_CONNECTED, PENDING, SYNCED, FAILED, NOT_APPLICABLE or PAUSED' })
  @Enum({ items: () => SyncStatus })
  status!: SyncStatus;

  @Field(() => Int, { description: 'Delivery attempts made for the current request id' })
  @Property()
  attempts: number = 0;

  /** Kept across retries only after no answer (PARTNER-CENTER.md section 5); a new one after any answer. */
  @Field(() => ID, {
    nullable: true,
    description:
      'The MS-RequestId sent upstream: the same on a retry after no answer (timeout, dropped connection), a new one after any answer (a contact correction too); once SYNCED, the one Partner Center answered',
  })
  @Property({ type: 'uuid', nullable: true })
  requestId?: string | null;

  /** The gateway request that recorded it, for the logs (each upstream request gets an MS-CorrelationId of its own). */
  @Property({ type: 'text', nullable: true })
  correlationId?: string | null;

  @Property({ type: 'uuid', nullable: true })
  jobId?: string | null;

  @Field(() => Date, { nullable: true, description: 'When the last attempt started' })
  @Property({ columnType: 'timestamptz', nullable: true })
  lastAttemptAt?: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the next attempt is due (PENDING after a failed attempt)' })
  @Property({ columnType: 'timestamptz', nullable: true })
  nextAttemptAt?: Date | null;

  @Field(() => Date, { nullable: true, description: 'When Partner Center confirmed it' })
  @Property({ columnType: 'timestamptz', nullable: true })
  syncedAt?: Date | null;

  @Field(() => String, { nullable: true, description: "The last failure: Partner Center's message or the transport error" })
  @Property({ type: 'text', nullable: true })
  lastError?: string | null;

  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}

/** One bulk file import; with an Idempotency-Key, a re-sent file answers this result again. */
@Entity({ tableName: 'acceptance_imports' })
@Unique({ properties: ['partner', 'idempotencyKey'] })
export class AcceptanceImport {
  [OptionalProps]?: 'id' | 'createdAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Partner, { deleteRule: 'cascade' })
  partner!: Partner;

  @Property({ type: 'text', nullable: true })
  idempotencyKey?: string | null;

  /** SHA-256 of the file: the same key with another file is refused. */
  @Property({ type: 'text', nullable: true })
  fileHash?: string | null;

  @ManyToOne(() => User)
  importedBy!: User;

  @Property({ type: 'jsonb', nullable: true })
  result?: unknown;

  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
