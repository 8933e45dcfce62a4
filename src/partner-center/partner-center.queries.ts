import type { AgreementType } from '../agreements/agreement.enums';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ACCEPTANCE_AS_ATTESTED } from '../acceptance/acceptance.queries';
import { dateOrNull, queryRows } from '../db/query';
import { appendAuditChain } from '../audit/audit.chain';
import type { Ref } from '../alerts/alert.queries';
import type { SyncStatus } from './partner-center.enums';

/**
 * The sync engine's SQL: claiming a delivery, reading what it sends, recording its
 * outcome, and the connection's token bookkeeping. Every statement runs through
 * `queryRows`; pass the transaction's EntityManager to run one inside it.
 */

/** A partner's connection as read for a token request (delivery, connection check, template import). */
export interface ConnectionSecrets {
  partnerId: string;
  partnerTenantId: string;
  clientId: string;
  clientSecretEnc: string;
  refreshTokenEnc: string;
  connectedAt: Date;
}

/** The columns of a sync row that `Acceptance.sync` shows (timestamps as the connection types them: text). */
export interface SyncStateRow {
  status: SyncStatus;
  attempts: number;
  request_id: string | null;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  synced_at: string | null;
  last_error: string | null;
}

/** A sync row with its keys and creation time, as the backlog lists it. */
export interface SyncRow extends SyncStateRow {
  acceptance_id: string;
  partner_id: string;
  created_at: string;
}


/** What `Acceptance.sync` shows of a stored row. */
export function syncStateOf(r: SyncStateRow) {
  return {
    status: r.status,
    attempts: r.attempts,
    requestId: r.request_id,
    lastAttemptAt: dateOrNull(r.last_attempt_at),
    nextAttemptAt: dateOrNull(r.next_attempt_at),
    syncedAt: dateOrNull(r.synced_at),
    lastError: r.last_error,
  };
}

/** A backlog row as a read-only record of the entity's shape (relations as `{ id }`). */
export interface SyncRecord extends ReturnType<typeof syncStateOf> {
  acceptance: Ref;
  partner: Ref;
  createdAt: Date;
}

export function plainSync(r: SyncRow): SyncRecord {
  return { acceptance: { id: r.acceptance_id }, partner: { id: r.partner_id }, ...syncStateOf(r), createdAt: new Date(r.created_at) };
}

/** A delivery attempt's claim on its sync row. */
export interface DeliveryClaim {
  attempts: number;
  requestId: string;
  correlationId: string | null;
}

/** The person who accepted, as the confirmation sends them. */
export interface DeliveryContact {
  firstName: string;
  lastName: string;
  email: string;
  phoneNumber: string | null;
}

/** What one delivery sends, and the connection it is sent with. */
export interface Delivery {
  /** The local customer id (the exchange log's). */
  customerId: string;
  customerTenantId: string;
  templateId: string;
  /** The template's type: a confirmation's type is its template's. */
  agreementType: AgreementType;
  /** `YYYY-MM-DD`. */
  dateAgreed: string;
  contact: DeliveryContact;
  confirmedById: string;
  connection: ConnectionSecrets;
}

interface DeliveryRow {
  customer_id: string;
  customer_tenant_id: string;
  template_id: string;
  template_type: AgreementType;
  date_agreed: string;
  contact_first_name: string;
  contact_last_name: string;
  contact_email: string;
  contact_phone_number: string | null;
  confirmed_by_id: string;
  partner_id: string;
  partner_tenant_id: string;
  client_id: string;
  client_secret_enc: string;
  refresh_token_enc: string;
  connected_at: string | Date;
}

function deliveryOf(r: DeliveryRow): Delivery {
  return {
    customerId: r.customer_id,
    customerTenantId: r.customer_tenant_id,
    templateId: r.template_id,
    agreementType: r.template_type,
    dateAgreed: r.date_agreed,
    contact: { firstName: r.contact_first_name, lastName: r.contact_last_name, email: r.contact_email, phoneNumber: r.contact_phone_number },
    confirmedById: r.confirmed_by_id,
    connection: {
      partnerId: r.partner_id,
      partnerTenantId: r.partner_tenant_id,
      clientId: r.client_id,
      clientSecretEnc: r.client_secret_enc,
      refreshTokenEnc: r.refresh_token_enc,
      connectedAt: new Date(r.connected_at),
    },
  };
}

/** Takes the job's turn on its PENDING sync row (counting the attempt), unless another job owns it or the partner is not connected. */
export async function claimDelivery(em: EntityManager, acceptanceId: string, jobId: string): Promise<DeliveryClaim | undefined> {
  const [row] = await queryRows<{ attempts: number; request_id: string; correlation_id: string | null }>(
    em,
    `update acceptance_syncs s set attempts = s.attempts + 1, last_attempt_at = now(), next_attempt_at = null
      where s.acceptance_id = ? and s.job_id = ? and s.status = 'PENDING'
        and exists (select 1 from partner_center_connections pc where pc.partner_id = s.partner_id and pc.reauthorization_required_at is null)
      returning s.attempts, s.request_id, s.correlation_id`,
    [acceptanceId, jobId],
  );
  return row && { attempts: row.attempts, requestId: row.request_id, correlationId: row.correlation_id };
}

/**
 * Parks the job's PENDING sync row when its partner cannot deliver: NOT_CONNECTED without
 * a connection, PAUSED while the connection needs re-authorization; true when it did.
 */
export async function parkUnconnected(em: EntityManager, acceptanceId: string, jobId: string): Promise<boolean> {
  const parked = await queryRows(
    em,
    `update acceptance_syncs s
        set status = case when exists (select 1 from partner_center_connections pc where pc.partner_id = s.partner_id) then 'PAUSED' else 'NOT_CONNECTED' end,
            job_id = null
      where s.acceptance_id = ? and s.job_id = ? and s.status = 'PENDING'
        and not exists (select 1 from partner_center_connections pc where pc.partner_id = s.partner_id and pc.reauthorization_required_at is null) returning 1`,
    [acceptanceId, jobId],
  );
  return parked.length > 0;
}

/** The acceptance as delivered, with its partner's connection; undefined once gone. */
export async function readDelivery(em: EntityManager, acceptanceId: string): Promise<Delivery | undefined> {
  const [row] = await queryRows<DeliveryRow>(
    em,
    `select a.*, pc.client_id, pc.client_secret_enc, pc.refresh_token_enc, pc.connected_at
       from (${ACCEPTANCE_AS_ATTESTED}) a join partner_center_connections pc on pc.partner_id = a.partner_id`,
    [acceptanceId],
  );
  return row && deliveryOf(row);
}

/**
 * SYNCED, with the MS-RequestId of the request that was answered (the evidence of delivery);
 * the audit event it makes is chained in the same transaction (src/audit/audit.chain.ts).
 */
export async function recordSynced(em: EntityManager, acceptanceId: string, jobId: string, requestId: string): Promise<void> {
  await recordOutcome(
    em,
    `update acceptance_syncs s set status = 'SYNCED', synced_at = now(), last_error = null, next_attempt_at = null, job_id = null, request_id = ?::uuid
       from acceptances a where a.id = s.acceptance_id and s.acceptance_id = ? and s.job_id = ? returning a.customer_id, a.partner_id`,
    [requestId, acceptanceId, jobId],
  );
}

/** FAILED, with the MS-RequestId a retry (retryAcceptanceSync) sends: the same after no answer, a new one after an answer. */
export async function recordFailed(em: EntityManager, acceptanceId: string, jobId: string, message: string, requestId: string): Promise<void> {
  await recordOutcome(
    em,
    `update acceptance_syncs s set status = 'FAILED', last_error = ?, next_attempt_at = null, job_id = null, request_id = ?::uuid
       from acceptances a where a.id = s.acceptance_id and s.acceptance_id = ? and s.job_id = ? returning a.customer_id, a.partner_id`,
    [message, requestId, acceptanceId, jobId],
  );
}

async function recordOutcome(em: EntityManager, sql: string, values: unknown[]): Promise<void> {
  await em.transactional(async (t) => {
    const tx = t as EntityManager;
    const rows = await queryRows<{ customer_id: string; partner_id: string }>(tx, sql, values);
    await appendAuditChain(
      tx,
      rows.map((r) => ({ customerId: r.customer_id, partnerId: r.partner_id })),
    );
  });
}

/**
 * Hands the sync row from `jobId` to `nextJobId`, due at `next`, with the MS-RequestId the
 * next attempt sends (the same after no answer, a new one after any answer); false when
 * the job no longer owned it.
 */
export async function recordRetry(em: EntityManager, acceptanceId: string, jobId: string, nextJobId: string, next: Date, message: string, requestId: string): Promise<boolean> {
  const owned = await queryRows(
    em,
    'update acceptance_syncs set job_id = ?, next_attempt_at = ?::timestamptz, last_error = ?, request_id = ?::uuid where acceptance_id = ? and job_id = ? returning 1',
    [nextJobId, next.toISOString(), message, requestId, acceptanceId, jobId],
  );
  return owned.length > 0;
}

/**
 * A token was issued on this connection (still the same one: `connectedAt`); a rotated
 * refresh token replaces the stored one; a delegated token dates the grant's last use.
 */
export async function recordTokenIssued(em: EntityManager, connection: ConnectionSecrets, rotatedRefreshTokenEnc: string | null, kind: 'delegated' | 'app-only' = 'delegated'): Promise<void> {
  await queryRows(
    em,
    `update partner_center_connections set last_token_at = now(), last_error = null, refresh_token_enc = coalesce(?::text, refresh_token_enc),
        delegated_token_at = case when ? then now() else delegated_token_at end
      where partner_id = ? and connected_at = ?::timestamptz`,
    [rotatedRefreshTokenEnc, kind === 'delegated', connection.partnerId, connection.connectedAt.toISOString()],
  );
}

/** The partner's connection as read for a token request; undefined when it has none. */
export async function connectionSecrets(em: EntityManager, partnerId: string): Promise<(ConnectionSecrets & { reauthorizationRequired: boolean }) | undefined> {
  const [row] = await queryRows<{ tenant_id: string; client_id: string; client_secret_enc: string; refresh_token_enc: string; connected_at: Date; reauthorization_required_at: Date | null }>(
    em,
    `select p.tenant_id, pc.client_id, pc.client_secret_enc, pc.refresh_token_enc, pc.connected_at, pc.reauthorization_required_at
       from partner_center_connections pc join partners p on p.id = pc.partner_id where pc.partner_id = ?`,
    [partnerId],
  );
  return (
    row && {
      partnerId,
      partnerTenantId: row.tenant_id,
      clientId: row.client_id,
      clientSecretEnc: row.client_secret_enc,
      refreshTokenEnc: row.refresh_token_enc,
      connectedAt: new Date(row.connected_at),
      reauthorizationRequired: row.reauthorization_required_at !== null,
    }
  );
}

/**
 * The delegated grant is dead (invalid_grant): the connection (still this one) needs
 * re-authorization and its waiting deliveries are PAUSED, in one transaction. True when
 * this call made the change (the first to see it alerts). The delivery that met the dead
 * grant (`delivering`) is left to `pauseDelivery`, which pauses it and gives its attempt back
 * in one statement: paused here, it would show PAUSED with the attempt spent until then.
 */
export async function markNeedsReauthorization(em: EntityManager, connection: ConnectionSecrets, message: string, delivering: string | null = null): Promise<boolean> {
  const [changed] = await queryRows<{ partner_id: string }>(
    em,
    `update partner_center_connections set reauthorization_required_at = now(), last_error = ?
      where partner_id = ? and connected_at = ?::timestamptz and reauthorization_required_at is null returning partner_id`,
    [message, connection.partnerId, connection.connectedAt.toISOString()],
  );
  await queryRows(
    em,
    `update acceptance_syncs set status = 'PAUSED', job_id = null, next_attempt_at = null
      where partner_id = ? and status = 'PENDING' and acceptance_id is distinct from ?::uuid`,
    [connection.partnerId, delivering],
  );
  return changed !== undefined;
}

/** A delivery that met a dead grant: PAUSED with its attempt given back (a paused delivery spends none). */
export async function pauseDelivery(em: EntityManager, acceptanceId: string, message: string): Promise<void> {
  await queryRows(
    em,
    `update acceptance_syncs set status = 'PAUSED', job_id = null, next_attempt_at = null, attempts = greatest(attempts - 1, 0), last_error = ?
      where acceptance_id = ? and status in ('PENDING', 'PAUSED')`,
    [message, acceptanceId],
  );
}

/** Connections whose delegated grant was not used for `days`: the refresh sweep's work. */
export async function connectionsDueForRefresh(em: EntityManager, days: number): Promise<string[]> {
  const rows = await queryRows<{ partner_id: string }>(
    em,
    `select partner_id from partner_center_connections
      where reauthorization_required_at is null and coalesce(delegated_token_at, connected_at) < now() - make_interval(days => ?)
      order by coalesce(delegated_token_at, connected_at)`,
    [days],
  );
  return rows.map((r) => r.partner_id);
}

export async function recordTokenRefused(em: EntityManager, connection: ConnectionSecrets, message: string): Promise<void> {
  await queryRows(em, 'update partner_center_connections set last_error = ? where partner_id = ? and connected_at = ?::timestamptz', [
    message,
    connection.partnerId,
    connection.connectedAt.toISOString(),
  ]);
}
