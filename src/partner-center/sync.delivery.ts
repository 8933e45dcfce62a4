import { AgreementType } from '../agreements/agreement.enums';
import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { PartnerCenterConfig } from '../config';
import { TokenRequestError, TransportError, type AgreementBody, type PartnerCenterClient } from './client';
import { CredentialsUnreadableError } from './credentials';
import { sendSyncJob, type SyncJobData } from './outbox';
import { claimDelivery, parkUnconnected, readDelivery, recordFailed, recordRetry, recordSynced } from './partner-center.queries';
import type { SyncMetrics } from './sync.metrics';
import { classifyConfirmation, retryDelayMs, type DeliveryOutcome } from './sync.rules';
import type { TokenCache } from './sync.tokens';

/** What a delivery works with: the engine's long-lived pieces. */
export interface DeliveryDeps {
  orm: MikroORM;
  config: PartnerCenterConfig;
  client: PartnerCenterClient;
  tokens: TokenCache;
  metrics: SyncMetrics;
  log: Logger;
  /** Aborted when the gateway stops: the call in flight is abandoned unrecorded. */
  stopping: AbortSignal;
}

/**
 * One delivery attempt of one job: claim the sync row, send the confirmation (one more
 * try with a fresh token after a 401), record the outcome (synced, failed, or a retry
 * as a new job at the delay the rules give).
 */
/** The upstream names of the agreement types (PARTNER-CENTER.md section 2). */
const UPSTREAM_TYPE: Record<AgreementType, AgreementBody['type']> = {
  [AgreementType.MICROSOFT_CLOUD_AGREEMENT]: 'MicrosoftCloudAgreement',
  [AgreementType.MICROSOFT_CUSTOMER_AGREEMENT]: 'MicrosoftCustomerAgreement',
};

export async function deliver(deps: DeliveryDeps, jobId: string, data: SyncJobData): Promise<void> {
  const em = deps.orm.em.fork() as EntityManager;
  const claim = await claimDelivery(em, data.acceptanceId, jobId);
  if (!claim) {
    // Stale (another job owns the row, or it is settled), or the partner disconnected meanwhile.
    if (await parkUnconnected(em, data.acceptanceId, jobId)) deps.metrics.outcomes.inc({ outcome: 'not_connected' });
    return;
  }
  const correlationId = claim.correlationId ?? randomUUID();
  const log = deps.log.child({ acceptanceId: data.acceptanceId, partnerId: data.partnerId, requestId: claim.requestId, correlationId, attempt: claim.attempts });
  const delivery = await readDelivery(em, data.acceptanceId);
  if (!delivery) return; // deleted with its customer meanwhile
  const body: AgreementBody = {
    primaryContact: {
      firstName: delivery.contact.firstName,
      lastName: delivery.contact.lastName,
      email: delivery.contact.email,
      ...(delivery.contact.phoneNumber ? { phoneNumber: delivery.contact.phoneNumber } : {}),
    },
    templateId: delivery.templateId,
    dateAgreed: `${delivery.dateAgreed}T00:00:00Z`,
    type: UPSTREAM_TYPE[delivery.agreementType],
    userId: delivery.confirmedById,
  };
  const post = async (fresh: boolean): Promise<DeliveryOutcome> => {
    const accessToken = await deps.tokens.accessToken(em, delivery.connection, fresh);
    const answer = await deps.client.confirmAgreement(delivery.customerTenantId, body, { accessToken, requestId: claim.requestId, correlationId }, deps.stopping);
    // The answer may quote what it was sent: the contact and the token never reach lastError as they are.
    return classifyConfirmation(answer.status, answer.body, answer.text, answer.retryAfter, undefined, { secrets: [accessToken], contact: delivery.contact });
  };

  let outcome: DeliveryOutcome;
  try {
    outcome = await post(false);
    if (outcome.kind === 'unauthorized') {
      // The token was revoked or expired early: one fresh token, one more try.
      outcome = await post(true);
      if (outcome.kind === 'unauthorized') outcome = { kind: 'failed', message: outcome.message };
    }
  } catch (err) {
    if (deps.stopping.aborted) throw err;
    if (err instanceof TokenRequestError || err instanceof TransportError || err instanceof CredentialsUnreadableError) {
      outcome = { kind: 'retry', message: err.message };
    } else throw err;
  }
  await record(deps, em, jobId, data, claim.attempts, outcome, log);
}

async function record(deps: DeliveryDeps, em: EntityManager, jobId: string, data: SyncJobData, attempts: number, outcome: DeliveryOutcome, log: Logger): Promise<void> {
  const { metrics, config } = deps;
  if (outcome.kind === 'synced') {
    await recordSynced(em, data.acceptanceId, jobId);
    const label = outcome.alreadyExisted ? 'already_synced' : 'synced';
    metrics.outcomes.inc({ outcome: label });
    log.info({ outcome: label }, 'partner center sync');
    return;
  }
  const exhausted = outcome.kind === 'retry' && attempts >= config.maxAttempts;
  if (outcome.kind !== 'retry' || exhausted) {
    const message = exhausted ? `Gave up after ${attempts} attempts; last: ${outcome.message}` : outcome.message;
    await recordFailed(em, data.acceptanceId, jobId, message);
    metrics.outcomes.inc({ outcome: 'failed' });
    log.warn({ outcome: 'failed', error: message }, 'partner center sync');
    return;
  }
  const delay = retryDelayMs(attempts, config.retryBaseMs, outcome.retryAfterMs);
  const next = new Date(Date.now() + delay);
  const nextJob = randomUUID();
  await em.transactional(async (t) => {
    const tx = t as EntityManager;
    if (await recordRetry(tx, data.acceptanceId, jobId, nextJob, next, outcome.message)) await sendSyncJob(tx, nextJob, data, next);
  });
  metrics.outcomes.inc({ outcome: 'retry' });
  log.warn({ outcome: 'retry', error: outcome.message, retryInMs: delay }, 'partner center sync');
}
