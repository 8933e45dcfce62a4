import { AgreementType } from '../agreements/agreement.enums';
import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { PartnerCenterConfig } from '../config';
import type { AgreementBody } from './client';
import { sendSyncJob, type SyncJobData } from './outbox';
import { claimDelivery, parkUnconnected, pauseDelivery, readDelivery, recordFailed, recordRetry, recordSynced, type Delivery } from './partner-center.queries';
import type { SyncMetrics } from './sync.metrics';
import { ALREADY_EXISTS_CODE, matchesUpstreamRecord, retryDelayMs, type DeliveryOutcome } from './sync.rules';
import { UpstreamError, type PartnerCenterUpstream } from './upstream';

/** What a delivery works with: the engine's long-lived pieces. */
export interface DeliveryDeps {
  orm: MikroORM;
  config: PartnerCenterConfig;
  upstream: PartnerCenterUpstream;
  metrics: SyncMetrics;
  log: Logger;
  /** Aborted when the gateway stops: the call in flight is abandoned unrecorded. */
  stopping: AbortSignal;
}

/** The upstream names of the agreement types (PARTNER-CENTER.md section 2): a confirmation's type is its template's. */
export const UPSTREAM_TYPE: Record<AgreementType, string> = {
  [AgreementType.MICROSOFT_CLOUD_AGREEMENT]: 'MicrosoftCloudAgreement',
  [AgreementType.MICROSOFT_CUSTOMER_AGREEMENT]: 'MicrosoftCustomerAgreement',
};

/** The confirmation POST's body: documented fields only (no `userId`: upstream takes it from the token). */
export function agreementBody(delivery: Pick<Delivery, 'contact' | 'templateId' | 'dateAgreed' | 'agreementType'>): AgreementBody {
  return {
    primaryContact: {
      firstName: delivery.contact.firstName,
      lastName: delivery.contact.lastName,
      email: delivery.contact.email,
      ...(delivery.contact.phoneNumber ? { phoneNumber: delivery.contact.phoneNumber } : {}),
    },
    templateId: delivery.templateId,
    dateAgreed: `${delivery.dateAgreed}T00:00:00Z`,
    type: UPSTREAM_TYPE[delivery.agreementType],
  };
}

/**
 * One delivery attempt of one job: claim the sync row, send the confirmation through the
 * one call primitive (tokens, budget, retries, exchange log: upstream.ts), record the
 * outcome (synced, failed, paused, or a retry as a new job at the delay the rules give).
 * 600061 ("already exists") is checked against the customer's upstream records: SYNCED
 * only when one matches this template and contact.
 */
export async function deliver(deps: DeliveryDeps, jobId: string, data: SyncJobData): Promise<void> {
  const em = deps.orm.em.fork() as EntityManager;
  const claim = await claimDelivery(em, data.acceptanceId, jobId);
  if (!claim) {
    // Stale (another job owns the row, or it is settled), or the partner disconnected or needs re-authorization meanwhile.
    if (await parkUnconnected(em, data.acceptanceId, jobId)) deps.metrics.outcomes.inc({ outcome: 'not_connected' });
    return;
  }
  const log = deps.log.child({ acceptanceId: data.acceptanceId, partnerId: data.partnerId, requestId: claim.requestId, attempt: claim.attempts });
  const delivery = await readDelivery(em, data.acceptanceId);
  if (!delivery) return; // deleted with its customer meanwhile
  const customerPath = `/v1/customers/${encodeURIComponent(delivery.customerTenantId)}`;
  const ids = { partnerId: data.partnerId, customerId: delivery.customerId, acceptanceId: data.acceptanceId, delivering: data.acceptanceId, tokenKind: 'delegated' as const, echoed: { contact: delivery.contact } };

  let outcome: DeliveryOutcome;
  let nextRequestId = claim.requestId;
  let answeredRequestId = claim.requestId;
  try {
    const answer = await deps.upstream.request({ ...ids, operation: 'confirm', method: 'POST', path: `${customerPath}/agreements`, body: agreementBody(delivery), requestId: claim.requestId }, em);
    // The POST was answered: any later POST is a new request.
    answeredRequestId = answer.requestId;
    nextRequestId = randomUUID();
    if (answer.ok) outcome = { kind: 'synced', alreadyExisted: false };
    else if (answer.code === String(ALREADY_EXISTS_CODE)) {
      // Upstream has an agreement with this contact: delivered only if it is this one.
      const records = await deps.upstream.request({ ...ids, operation: 'agreements', method: 'GET', path: `${customerPath}/agreements?agreementType=*` }, em);
      if (!records.ok) outcome = { kind: 'retry', message: `600061 could not be checked: ${records.message}` };
      else if (matchesUpstreamRecord(records.body, delivery)) outcome = { kind: 'synced', alreadyExisted: true };
      else
        outcome = {
          kind: 'failed',
          message:
            'Partner Center answered 400 (code 600061): an agreement with this contact is already on record for the customer, but none for this template and contact; ' +
            'correct the contact (a changed name, e-mail or phone number) to record it upstream',
        };
    } else outcome = { kind: 'failed', message: answer.message };
  } catch (err) {
    if (deps.stopping.aborted) throw err;
    if (!(err instanceof UpstreamError)) throw err;
    nextRequestId = err.details.nextRequestId ?? claim.requestId;
    if (err.kind === 'reauthorization_required') {
      await pauseDelivery(em, data.acceptanceId, err.message);
      deps.metrics.outcomes.inc({ outcome: 'paused' });
      log.warn({ outcome: 'paused', error: err.message }, 'partner center sync');
      return;
    }
    if (err.kind === 'not_connected') {
      await parkUnconnected(em, data.acceptanceId, jobId);
      return;
    }
    if (err.kind === 'unauthorized') outcome = { kind: 'failed', message: err.message };
    else outcome = { kind: 'retry', message: err.message, retryAfterMs: err.details.retryAfterMs };
  }
  await record(deps, em, jobId, data, claim.attempts, outcome, outcome.kind === 'synced' ? answeredRequestId : nextRequestId, log);
}

/** `requestId`: the answered one when synced, else the one the next attempt sends. */
async function record(deps: DeliveryDeps, em: EntityManager, jobId: string, data: SyncJobData, attempts: number, outcome: DeliveryOutcome, requestId: string, log: Logger): Promise<void> {
  const { metrics, config } = deps;
  const nextRequestId = requestId;
  if (outcome.kind === 'synced') {
    await recordSynced(em, data.acceptanceId, jobId, requestId);
    const label = outcome.alreadyExisted ? 'already_synced' : 'synced';
    metrics.outcomes.inc({ outcome: label });
    log.info({ outcome: label }, 'partner center sync');
    return;
  }
  const exhausted = outcome.kind === 'retry' && attempts >= config.maxAttempts;
  if (outcome.kind !== 'retry' || exhausted) {
    const message = exhausted ? `Gave up after ${attempts} attempts; last: ${outcome.message}` : outcome.message;
    await recordFailed(em, data.acceptanceId, jobId, message, nextRequestId);
    metrics.outcomes.inc({ outcome: 'failed' });
    log.warn({ outcome: 'failed', error: message }, 'partner center sync');
    return;
  }
  const delay = retryDelayMs(attempts, config.retryBaseMs, outcome.retryAfterMs);
  const next = new Date(Date.now() + delay);
  const nextJob = randomUUID();
  await em.transactional(async (t) => {
    const tx = t as EntityManager;
    if (await recordRetry(tx, data.acceptanceId, jobId, nextJob, next, outcome.message, nextRequestId)) await sendSyncJob(tx, nextJob, data, next);
  });
  metrics.outcomes.inc({ outcome: 'retry' });
  log.warn({ outcome: 'retry', error: outcome.message, retryInMs: delay }, 'partner center sync');
}
