import type { EntityManager } from '@mikro-orm/postgresql';
import { seesAllPartners, type Viewer } from '../auth/viewer';
import { visibleCustomerCondition } from '../auth/tenancy';
import { dateOrNull, queryRows } from '../db/query';
import type { EventSource, PairJoin } from '../acceptance/acceptance.queries';
import type { Attestation } from './attestation.entity';
import type { AttestationStatus } from './attestation.enums';

/**
 * The attestations feature's SQL: its row type and one mapper, the tenancy condition of
 * reads, the status-change record (row + NOTIFY) and the audit trail's events.
 */

/** The NOTIFY channel of attestation status changes (the alert hub's doorbell pattern). */
export const ATTESTATION_CHANNEL = 'attestation_updates';

export const ATTESTATION_COLUMNS = `t.id, t.customer_id, t.partner_id, t.reseller_id, t.submission_id, t.requested_by_id, t.status, t.upstream_id,
  t.acceptance_url, t.link_expires_at, t.link_lifetime_minutes, t.company_name, t.country, t.language, t.signatory_first_name,
  t.signatory_last_name, t.signatory_email, t.signatory_phone_number, t.last_error, t.error_code, t.accepted_at, t.create_request_id,
  t.agreement_request_id, t.acceptance_id, t.job_id, t.recorded_at, t.created_at, t.updated_at`;

export interface AttestationRow {
  id: string;
  customer_id: string;
  partner_id: string;
  reseller_id: string | null;
  submission_id: string | null;
  requested_by_id: string;
  status: AttestationStatus;
  upstream_id: string | null;
  acceptance_url: string | null;
  link_expires_at: string | null;
  link_lifetime_minutes: number;
  company_name: string;
  country: string;
  language: string;
  signatory_first_name: string;
  signatory_last_name: string;
  signatory_email: string;
  signatory_phone_number: string | null;
  last_error: string | null;
  error_code: string | null;
  accepted_at: string | null;
  create_request_id: string;
  agreement_request_id: string | null;
  acceptance_id: string | null;
  job_id: string | null;
  recorded_at: string | null;
  created_at: string;
  updated_at: string;
}

const ref = (id: string | null) => (id === null ? null : { id });

/** A read-only plain object of the entity's shape (relations as `{ id }`), as the acceptance feature's reads hand out. */
export function plainAttestation(r: AttestationRow): Attestation {
  return {
    id: r.id,
    customer: { id: r.customer_id },
    partner: { id: r.partner_id },
    reseller: ref(r.reseller_id),
    submission: ref(r.submission_id),
    requestedBy: { id: r.requested_by_id },
    status: r.status,
    upstreamId: r.upstream_id,
    acceptanceUrl: r.acceptance_url,
    linkExpiresAt: dateOrNull(r.link_expires_at),
    linkLifetimeMinutes: r.link_lifetime_minutes,
    companyName: r.company_name,
    country: r.country,
    language: r.language,
    signatory: { firstName: r.signatory_first_name, lastName: r.signatory_last_name, email: r.signatory_email, phoneNumber: r.signatory_phone_number },
    lastError: r.last_error,
    errorCode: r.error_code,
    acceptedAt: dateOrNull(r.accepted_at),
    createRequestId: r.create_request_id,
    agreementRequestId: r.agreement_request_id,
    acceptance: ref(r.acceptance_id),
    jobId: r.job_id,
    recordedAt: dateOrNull(r.recorded_at),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  } as unknown as Attestation;
}

/**
 * Which attestations a viewer reads (the tenancy of acceptances): platform roles all; a
 * partner user those of its own partner, and, as a reseller, those of a provider it is
 * linked with for a customer it serves (as `customer.acceptance(partnerId)` shows it
 * its provider's acceptance), and those started from its own submissions.
 */
export function readableCondition(viewer: Viewer, alias: string): { sql: string; params: unknown[] } {
  if (seesAllPartners(viewer)) return { sql: 'true', params: [] };
  const customer = visibleCustomerCondition(viewer, `${alias}.customer_id`);
  return {
    sql: `(${alias}.partner_id = ? or ${alias}.reseller_id = ?
       or (${alias}.partner_id in (select l.provider_id from reseller_links l where l.reseller_id = ?) and ${customer.sql}))`,
    params: [viewer.partnerId, viewer.partnerId, viewer.partnerId, ...customer.params],
  };
}

/** One attestation the viewer may read, else nothing (another tenant's id reads as missing). */
export async function readableAttestation(em: EntityManager, viewer: Viewer, id: string): Promise<Attestation | null> {
  const cond = readableCondition(viewer, 't');
  const rows = await queryRows<AttestationRow>(em, `select ${ATTESTATION_COLUMNS} from attestations t where t.id = ? and ${cond.sql}`, [id, ...cond.params]);
  return rows[0] ? plainAttestation(rows[0]) : null;
}

export async function attestationsById(em: EntityManager, ids: readonly string[]): Promise<Attestation[]> {
  const rows = await queryRows<AttestationRow>(em, `select ${ATTESTATION_COLUMNS} from attestations t where t.id = any(?::uuid[])`, [ids]);
  return rows.map(plainAttestation);
}

/** The attestation as its follower works on it, with what the upstream calls need. */
export interface FollowRow extends AttestationRow {
  customer_tenant_id: string;
  customer_cloud: string;
  reseller_name: string | null;
}

export async function followRow(em: EntityManager, id: string, lock = false): Promise<FollowRow | null> {
  const rows = await queryRows<FollowRow>(
    em,
    `select ${ATTESTATION_COLUMNS}, c.tenant_id as customer_tenant_id, c.cloud as customer_cloud, r.name as reseller_name
       from attestations t join customers c on c.id = t.customer_id left join partners r on r.id = t.reseller_id
      where t.id = ?${lock ? ' for update of t' : ''}`,
    [id],
  );
  return rows[0] ?? null;
}

/**
 * Records the attestation's current status as one change (a row of `attestation_updates`)
 * and rings the doorbell, in the caller's transaction: subscribers on every instance read it
 * after commit.
 */
export async function recordUpdate(tx: EntityManager, attestationId: string): Promise<void> {
  await queryRows(
    tx,
    `with u as (
       insert into attestation_updates (attestation_id, customer_id, partner_id, reseller_id, status, last_error, created_at)
       select id, customer_id, partner_id, reseller_id, status, last_error, clock_timestamp() from attestations where id = ?
       returning id)
     select pg_notify('${ATTESTATION_CHANNEL}', id::text) from u`,
    [attestationId],
  );
}

/** Whether the partner has a Partner Center connection. */
export async function isConnected(em: EntityManager, partnerId: string): Promise<boolean> {
  return (await queryRows(em, 'select 1 from partner_center_connections where partner_id = ?', [partnerId])).length > 0;
}

/** The open attestation of the pair, if any. */
export async function openAttestationOf(em: EntityManager, customerId: string, partnerId: string): Promise<string | null> {
  const rows = await queryRows<{ id: string }>(
    em,
    `select id from attestations where customer_id = ? and partner_id = ? and status in ('REQUESTED', 'LINK_ISSUED', 'CUSTOMER_ACCEPTED')`,
    [customerId, partnerId],
  );
  return rows[0]?.id ?? null;
}

const ofPair = (pairs: PairJoin) => pairs('t.customer_id', 't.partner_id');

/**
 * The attestation's events of the audit trail (src/audit/audit.sql.ts lays them out beside
 * the acceptance events): requested (by whom), and attested (the customer accepted and the
 * agreement was created upstream; the confirmation it recorded follows as CONFIRMED).
 */
export const ATTESTATION_EVENTS = {
  requested: {
    columns: {
      at: 't.created_at',
      event: "'ATTESTATION_REQUESTED'",
      rank: 0,
      customer: 't.customer_id',
      partner: 't.partner_id',
      acceptance: 't.acceptance_id',
      actor: 't.requested_by_id',
      note: 't.id::text',
      key: "'0' || t.id::text",
    },
    from: (pairs) => `attestations t ${ofPair(pairs)}`,
  },
  attested: {
    columns: {
      at: 't.recorded_at',
      event: "'ATTESTED'",
      rank: 2,
      customer: 't.customer_id',
      partner: 't.partner_id',
      acceptance: 't.acceptance_id',
      actor: 'null::text',
      note: 't.upstream_id',
      key: "'1' || t.id::text",
    },
    from: (pairs) => `attestations t ${ofPair(pairs)} where t.recorded_at is not null`,
  },
} satisfies Record<string, EventSource>;
