import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { AgreementType } from '../agreements/agreement.enums';
import { currentTemplate } from '../agreements/agreement.queries';
import { todayUtc } from '../agreements/current';
import { Channel, EvidenceSource } from '../acceptance/acceptance.enums';
import { recordConfirmation } from '../acceptance/acceptance.service';
import { Contact } from '../common/contact';
import { Customer } from '../customers/customer.entity';
import { queryRows } from '../db/query';
import { AppError } from '../errors';
import { AttestationStatus } from './attestation.enums';
import { sendFollowJob, type FollowJobData } from './attestation.jobs';
import { followRow, recordUpdate, type FollowRow } from './attestation.queries';
import { UpstreamRefusal, UpstreamUnavailable, type AttestationUpstream, type UpstreamAttestation, type UpstreamScope } from './attestation.upstream';
import { appendAuditChain } from '../audit/audit.chain';

/** What the follower works with: the runtime's long-lived pieces. */
export interface FollowerDeps {
  orm: MikroORM;
  upstream: AttestationUpstream;
  /** Between two status polls of an issued link (ATTESTATION_POLL_SECONDS). */
  pollMs: number;
  /** After passing trouble (timeouts, 5xx, 429, tokens): the next try. */
  retryMs: number;
  log: Logger;
}

/** A change of the row by its current job: `null` leaves a column as it is (last_error and job_id are always set). */
interface Change {
  status?: AttestationStatus;
  upstreamId?: string | null;
  acceptanceUrl?: string | null;
  linkExpiresAt?: Date | null;
  acceptedAt?: Date | null;
  agreementRequestId?: string | null;
  createRequestId?: string | null;
  lastError?: string | null;
  errorCode?: string | null;
  /** The job that follows next, due at this time; absent: nothing follows. */
  nextAt?: Date;
  /** The running job keeps the row and goes on with the next step itself (no new job). */
  keepJob?: boolean;
}

/**
 * Applies a change if `jobId` still owns the row (every other job is stale), writes the
 * next job and, when the status changed, the status-change record and its NOTIFY: one
 * transaction. Answers whether it was applied.
 */
async function transition(deps: FollowerDeps, row: FollowRow, jobId: string, change: Change): Promise<boolean> {
  const nextJob = change.keepJob ? jobId : change.nextAt ? randomUUID() : null;
  return deps.orm.em.fork().transactional(async (t) => {
    const tx = t as unknown as EntityManager;
    const updated = await queryRows<{ id: string }>(
      tx,
      `update attestations set status = coalesce(?, status), upstream_id = coalesce(?, upstream_id), acceptance_url = coalesce(?, acceptance_url),
              link_expires_at = coalesce(?::timestamptz, link_expires_at), accepted_at = coalesce(?::timestamptz, accepted_at),
              agreement_request_id = coalesce(?::uuid, agreement_request_id), create_request_id = coalesce(?::uuid, create_request_id), last_error = ?, error_code = ?, job_id = ?, updated_at = clock_timestamp()
        where id = ? and job_id = ?
       returning id`,
      [
        change.status ?? null,
        change.upstreamId ?? null,
        change.acceptanceUrl ?? null,
        change.linkExpiresAt?.toISOString() ?? null,
        change.acceptedAt?.toISOString() ?? null,
        change.agreementRequestId ?? null,
        change.createRequestId ?? null,
        change.lastError ?? null,
        change.errorCode ?? null,
        nextJob,
        row.id,
        jobId,
      ],
    );
    if (!updated.length) return false;
    if (nextJob && !change.keepJob) await sendFollowJob(tx, nextJob, { attestationId: row.id, partnerId: row.partner_id }, change.nextAt);
    if (change.status && change.status !== row.status) await recordUpdate(tx, row.id);
    return true;
  });
}

const scopeOf = (row: FollowRow): UpstreamScope => ({ partnerId: row.partner_id, attestationId: row.id, customerId: row.customer_id });

const inMs = (ms: number) => new Date(Date.now() + ms);

/**
 * One step of one attestation, run by the job its row names (DESIGN.md section 11):
 * REQUESTED → create upstream → LINK_ISSUED; LINK_ISSUED → poll → CUSTOMER_ACCEPTED
 * (or EXPIRED, CANCELLED); CUSTOMER_ACCEPTED → create the agreement upstream → RECORDED
 * with the confirmation, in one transaction. Each step ends by writing the next job (or
 * none); a 4xx from upstream is FAILED with its code; passing trouble is tried again later.
 * A gateway that dies mid-step leaves its job active: pg-boss expires it and another
 * worker repeats the step with the same MS-RequestId, which upstream answers as the first time.
 */
export async function follow(deps: FollowerDeps, jobId: string, data: FollowJobData): Promise<void> {
  const em = deps.orm.em.fork() as EntityManager;
  const found = await followRow(em, data.attestationId);
  if (!found || found.job_id !== jobId) return; // stale, or gone with its customer
  let row: FollowRow = found;
  const log = deps.log.child({ attestationId: row.id, partnerId: row.partner_id, status: row.status });
  try {
    switch (row.status) {
      case AttestationStatus.REQUESTED:
        await create(deps, row, jobId);
        return;
      case AttestationStatus.LINK_ISSUED: {
        const accepted = await poll(deps, row, jobId);
        if (!accepted) return;
        const acceptedRow = await followRow(em, data.attestationId);
        if (!acceptedRow || acceptedRow.job_id !== jobId || acceptedRow.status !== AttestationStatus.CUSTOMER_ACCEPTED) return;
        row = acceptedRow;
        await recordAgreement(deps, row, jobId);
        return;
      }
      case AttestationStatus.CUSTOMER_ACCEPTED:
        await recordAgreement(deps, row, jobId);
        return;
      case AttestationStatus.CANCELLED:
        await cancelUpstream(deps, row, jobId);
        return;
      default:
        return;
    }
  } catch (err) {
    if (err instanceof UpstreamRefusal) {
      log.warn({ code: err.code, status: err.status }, 'attestation refused upstream');
      // A refused cancel changes nothing here: the attestation is cancelled locally either way.
      if (row.status === AttestationStatus.CANCELLED) await transition(deps, row, jobId, { lastError: row.last_error });
      else await transition(deps, row, jobId, { status: AttestationStatus.FAILED, lastError: err.lastError, errorCode: err.code });
      return;
    }
    if (err instanceof AppError && row.status === AttestationStatus.CUSTOMER_ACCEPTED) {
      // Recording refused locally (the partner no longer bills the customer): final, named by its code.
      log.warn({ code: err.code }, 'attestation accepted upstream but not recordable here');
      await transition(deps, row, jobId, { status: AttestationStatus.FAILED, lastError: `${err.code}: ${err.message}`, errorCode: err.code });
      return;
    }
    const message = (err as Error).message;
    log.warn({ err: message }, 'attestation step failed; trying again later');
    const delay = err instanceof UpstreamUnavailable && err.retryAfterMs ? err.retryAfterMs : deps.retryMs;
    // After an answer the retry is a new request (a new MS-RequestId); after none, the same one.
    const next = err instanceof UpstreamUnavailable ? (err.nextRequestId ?? null) : null;
    await transition(deps, row, jobId, {
      lastError: message,
      nextAt: inMs(delay),
      createRequestId: row.status === AttestationStatus.REQUESTED ? next : null,
      agreementRequestId: row.status === AttestationStatus.CUSTOMER_ACCEPTED ? next : null,
    });
  }
}

async function create(deps: FollowerDeps, row: FollowRow, jobId: string): Promise<void> {
  const answer = await deps.upstream.create(
    scopeOf(row),
    {
      customerTenantId: row.customer_tenant_id,
      country: row.country,
      language: row.language,
      companyName: row.company_name,
      signatoryFirstName: row.signatory_first_name,
      signatoryLastName: row.signatory_last_name,
      signatoryEmail: row.signatory_email,
      ...(row.signatory_phone_number ? { signatoryPhoneNumber: row.signatory_phone_number } : {}),
      expirationTimeInMinutes: row.link_lifetime_minutes,
    },
    row.create_request_id,
  );
  const applied = await transition(deps, row, jobId, {
    status: AttestationStatus.LINK_ISSUED,
    upstreamId: answer.id,
    acceptanceUrl: answer.acceptanceLink,
    linkExpiresAt: answer.expirationTime,
    nextAt: inMs(deps.pollMs),
  });
  if (!applied) await createdAfterCancel(deps, row, answer);
}

/**
 * The attestation was cancelled while it was being created upstream: the upstream id is
 * kept, and the fresh link cancelled upstream too, so it cannot be accepted.
 */
async function createdAfterCancel(deps: FollowerDeps, row: FollowRow, answer: UpstreamAttestation): Promise<void> {
  const em = deps.orm.em.fork() as EntityManager;
  const rows = await queryRows<{ status: AttestationStatus }>(
    em,
    `update attestations set upstream_id = ? where id = ? and upstream_id is null returning status`,
    [answer.id, row.id],
  );
  if (rows[0]?.status === AttestationStatus.CANCELLED) await deps.upstream.cancel(scopeOf(row), answer.id).catch(() => undefined);
}

/** Polls the link; answers true when the customer accepted (the row is CUSTOMER_ACCEPTED). */
async function poll(deps: FollowerDeps, row: FollowRow, jobId: string): Promise<boolean> {
  const answer = await deps.upstream.status(scopeOf(row), row.upstream_id!);
  switch (answer.status) {
    case 'CustomerAccepted':
    case 'AgreementCreated':
      // The MS-RequestId of the agreement call is stored now, before the call: a restart replays it.
      // Kept by this job, which goes on to the agreement at once; if it dies, pg-boss
      // expires and retries this same job, which finds the row CUSTOMER_ACCEPTED.
      return transition(deps, row, jobId, {
        status: AttestationStatus.CUSTOMER_ACCEPTED,
        acceptedAt: answer.acceptedAt ?? new Date(),
        agreementRequestId: row.agreement_request_id ?? randomUUID(),
        keepJob: true,
      });
    case 'LinkExpired':
      await transition(deps, row, jobId, { status: AttestationStatus.EXPIRED });
      return false;
    case 'Cancelled':
      await transition(deps, row, jobId, { status: AttestationStatus.CANCELLED });
      return false;
    default: {
      const expiresAt = answer.expirationTime ?? (row.link_expires_at ? new Date(row.link_expires_at) : null);
      if (expiresAt && expiresAt.getTime() <= Date.now()) await transition(deps, row, jobId, { status: AttestationStatus.EXPIRED });
      else await transition(deps, row, jobId, { nextAt: inMs(deps.pollMs) });
      return false;
    }
  }
}

/** A timestamp as the day it falls on in UTC. */
const dayOf = (iso: string | Date) => new Date(iso).toISOString().slice(0, 10);

/**
 * Creates the agreement upstream with the stored MS-RequestId, then, in ONE transaction,
 * records the confirmation (source ATTESTATION, signed by the signatory, dated the
 * customer's acceptance upstream), marks the attestation RECORDED and, when it came from a
 * reseller's submission, approves that submission.
 */
async function recordAgreement(deps: FollowerDeps, row: FollowRow, jobId: string): Promise<void> {
  const em = deps.orm.em.fork() as EntityManager;
  let requestId = row.agreement_request_id;
  if (!requestId) {
    // Older rows, or a step taken over: the id is stored BEFORE the call, never after.
    requestId = randomUUID();
    const set = await queryRows<{ agreement_request_id: string }>(
      em,
      `update attestations set agreement_request_id = coalesce(agreement_request_id, ?) where id = ? and job_id = ? returning agreement_request_id`,
      [requestId, row.id, jobId],
    );
    if (!set.length) return;
    requestId = set[0].agreement_request_id;
  }
  const template = await currentTemplate(em, { type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, country: row.country, language: row.language, day: todayUtc() });
  if (!template) throw new UpstreamRefusal(0, 'NO_TEMPLATE', `No current Microsoft Customer Agreement template for ${row.country}`);
  const acceptedAt = row.accepted_at ? new Date(row.accepted_at) : new Date();
  const signatory = {
    firstName: row.signatory_first_name,
    lastName: row.signatory_last_name,
    email: row.signatory_email,
    ...(row.signatory_phone_number ? { phoneNumber: row.signatory_phone_number } : {}),
  };
  const created = await deps.upstream.createAgreement(
    scopeOf(row),
    row.customer_tenant_id,
    { primaryContact: signatory, dateAgreed: acceptedAt.toISOString(), templateId: template.templateId, type: 'MicrosoftCustomerAgreement', attestationId: row.upstream_id! },
    requestId,
  );
  const dateAgreed = dayOf(created.dateAgreed ?? acceptedAt);
  await deps.orm.em.fork().transactional(async (t) => {
    const tx = t as unknown as EntityManager;
    const locked = await followRow(tx, row.id, true);
    if (!locked || locked.job_id !== jobId || locked.status !== AttestationStatus.CUSTOMER_ACCEPTED) return;
    const customer = await tx.findOneOrFail(Customer, { id: row.customer_id });
    const contact = Object.assign(new Contact(), { ...signatory, phoneNumber: signatory.phoneNumber ?? null });
    const { acceptance } = await recordConfirmation(tx, {
      customer,
      partnerId: row.partner_id,
      template,
      dateAgreed,
      contact,
      onBehalfOf: row.reseller_name,
      channel: Channel.API,
      confirmedBy: row.requested_by_id,
      source: EvidenceSource.ATTESTATION,
      attestationId: row.id,
    });
    const recordedAt = acceptance.recordedAt.toISOString();
    await queryRows(
      tx,
      `update attestations set status = 'RECORDED', acceptance_id = ?, recorded_at = ?, last_error = null, error_code = null, job_id = null,
              updated_at = clock_timestamp()
        where id = ?`,
      [acceptance.id, recordedAt, row.id],
    );
    if (row.submission_id) {
      await queryRows(
        tx,
        `update acceptance_submissions set status = 'APPROVED', reviewed_by_id = ?, reviewed_at = ?, acceptance_id = ? where id = ? and status = 'PENDING'`,
        [row.requested_by_id, recordedAt, acceptance.id, row.submission_id],
      );
    }
    await recordUpdate(tx, row.id);
    // ATTESTED (and APPROVED for a reseller's submission) in the tamper-evident chain.
    await appendAuditChain(tx, [{ customerId: row.customer_id, partnerId: row.partner_id }]);
  });
}

/** A cancelled attestation's link is cancelled upstream too (once it has one). */
async function cancelUpstream(deps: FollowerDeps, row: FollowRow, jobId: string): Promise<void> {
  if (row.upstream_id) await deps.upstream.cancel(scopeOf(row), row.upstream_id);
  await transition(deps, row, jobId, { lastError: row.last_error });
}
