import { randomUUID } from 'node:crypto';
import PgBoss from 'pg-boss';
import { withStartupLock } from '../db/migrate';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { PartnerCenterConfig } from '../config';
import type { Services } from '../kernel/context';
import { RuntimeSlot } from '../kernel/feature';
import { metricsOf } from '../kernel/metrics';
import { PartnerCenterClient, TokenRequestError, TransportError, type AgreementBody, type Credentials, type IssuedToken } from './client';
import { cipherFor, CredentialsUnreadableError } from './credentials';
import { BOSS_SCHEMA, sendSyncJob, SYNC_QUEUE, type SyncJobData } from './outbox';
import { classifyConfirmation, retryDelayMs, type DeliveryOutcome } from './sync.rules';

/** Workers per instance, each fetching up to BATCH due jobs per poll; the per-partner slots bound the upstream calls. */
const WORKERS = 4;
const BATCH = 50;

/** A counting semaphore: at most `size` holders, the rest wait in order. */
class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** What delivery needs of one acceptance and its partner's connection, read after the claim. */
interface DeliveryRow {
  customer_tenant_id: string;
  template_id: string;
  date_agreed: string;
  contact_first_name: string;
  contact_last_name: string;
  contact_email: string;
  contact_phone_number: string | null;
  confirmed_by_id: string;
  partner_tenant_id: string;
  client_id: string;
  client_secret_enc: string;
  refresh_token_enc: string;
  connected_at: Date;
}

/** The connection as read for a token request (delivery, connection check, template import). */
export interface ConnectionSecrets {
  partnerId: string;
  partnerTenantId: string;
  clientId: string;
  clientSecretEnc: string;
  refreshTokenEnc: string;
  connectedAt: Date;
}

export class SyncMetrics {
  readonly outcomes: Counter<'outcome'>;
  readonly upstream: Histogram<'operation'>;
  constructor(services: Services, depth: () => Promise<number>) {
    const registry = metricsOf(services)?.registry;
    const registers = registry ? [registry] : [];
    this.outcomes = new Counter({
      name: 'partner_center_sync_total',
      help: 'Partner Center delivery attempts by outcome (synced, already_synced, retry, failed, not_connected)',
      labelNames: ['outcome'],
      registers,
    });
    this.upstream = new Histogram({
      name: 'partner_center_upstream_duration_seconds',
      help: 'Latency of Partner Center calls by operation (token, confirm, metadata)',
      labelNames: ['operation'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    new Gauge({
      name: 'partner_center_queue_depth',
      help: 'Partner Center delivery jobs waiting (due now or scheduled for a retry)',
      registers,
      async collect() {
        this.set(await depth().catch(() => 0));
      },
    });
  }
}

/**
 * Delivers queued confirmations to Partner Center. pg-boss hands each job to one
 * worker of one gateway instance at a time (SKIP LOCKED); the sync row's `job_id`
 * makes every other job for the acceptance stale, so a confirmation is delivered by
 * exactly one job at a time, always with its own MS-RequestId. A gateway that dies
 * mid-delivery leaves its job active: pg-boss expires it and another worker retries
 * it, same job, same row, same MS-RequestId.
 */
export class SyncEngine {
  private boss?: PgBoss;
  private readonly stopping = new AbortController();
  private readonly tokens = new Map<string, { version: number; token: IssuedToken }>();
  private readonly refreshing = new Map<string, Promise<string>>();
  private readonly slots = new Map<string, Slots>();
  readonly client: PartnerCenterClient;
  readonly metrics: SyncMetrics;
  private readonly config: PartnerCenterConfig;
  private readonly log: Logger;

  constructor(private readonly services: Services) {
    this.config = services.config.partnerCenter;
    this.log = services.log.child({ component: 'partner-center' });
    this.metrics = new SyncMetrics(services, () => this.queueDepth());
    this.client = new PartnerCenterClient(this.config, (operation, seconds) => this.metrics.upstream.observe({ operation }, seconds));
  }

  async start(): Promise<void> {
    const boss = new PgBoss({
      connectionString: this.services.orm.config.get('clientUrl'),
      schema: BOSS_SCHEMA,
      max: 4,
      application_name: 'consent-gateway partner-center',
      schedule: false,
      supervise: true,
      maintenanceIntervalSeconds: this.config.maintenanceIntervalSeconds,
    });
    boss.on('error', (err) => this.log.warn({ err }, 'pg-boss error'));
    const queue = {
      name: SYNC_QUEUE,
      policy: 'standard' as const,
      // pg-boss's own retries only cover a worker that died or was stopped mid-delivery;
      // upstream failures are rescheduled by the engine (Retry-After, the attempt budget).
      retryLimit: 20,
      retryDelay: 1,
      retryBackoff: true,
      expireInSeconds: this.config.jobExpireSeconds,
    };
    // pg-boss 10 creates a queue with DDL (a partition of its job table): instances doing it
    // at once deadlock, so set-up runs under the start-up lock that migrations use.
    await withStartupLock(this.services.orm.config.get('clientUrl'), async () => {
      await boss.start();
      if (!(await boss.getQueue(SYNC_QUEUE))) await boss.createQueue(SYNC_QUEUE, queue);
      await boss.updateQueue(SYNC_QUEUE, queue);
    });
    this.boss = boss;
    for (let i = 0; i < WORKERS; i++) {
      await boss.work<SyncJobData>(SYNC_QUEUE, { batchSize: BATCH, pollingIntervalSeconds: this.config.pollingIntervalSeconds }, (jobs) => this.handle(jobs));
    }
  }

  async stop(): Promise<void> {
    // In-flight upstream calls are abandoned unrecorded: their jobs fail back to pg-boss and are retried.
    this.stopping.abort();
    await this.boss?.stop({ graceful: true, timeout: 1000, wait: true });
  }

  async queueDepth(): Promise<number> {
    return this.boss ? ((await this.boss.getQueueSize(SYNC_QUEUE)) ?? 0) : 0;
  }

  private slotsOf(partnerId: string): Slots {
    let s = this.slots.get(partnerId);
    if (!s) this.slots.set(partnerId, (s = new Slots(this.config.concurrency)));
    return s;
  }

  private async handle(jobs: PgBoss.Job<SyncJobData>[]): Promise<void> {
    const results = await Promise.allSettled(jobs.map((job) => this.slotsOf(job.data.partnerId).run(() => this.deliver(job.id, job.data))));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    // A failed batch goes back to pg-boss; the jobs already recorded are stale by then and complete at once.
    if (failure) throw failure.reason;
  }

  /** One delivery attempt of one job. */
  async deliver(jobId: string, data: SyncJobData): Promise<void> {
    const em = this.services.orm.em.fork() as EntityManager;
    const conn = em.getConnection();
    const [claim] = await conn.execute<{ attempts: number; request_id: string; correlation_id: string | null }[]>(
      `update acceptance_syncs s set attempts = s.attempts + 1, last_attempt_at = now(), next_attempt_at = null
        where s.acceptance_id = ? and s.job_id = ? and s.status = 'PENDING'
          and exists (select 1 from partner_center_connections pc where pc.partner_id = s.partner_id)
        returning s.attempts, s.request_id, s.correlation_id`,
      [data.acceptanceId, jobId],
    );
    if (!claim) {
      // Stale (another job owns the row, or it is settled), or the partner disconnected meanwhile.
      const parked = await conn.execute(
        `update acceptance_syncs s set status = 'NOT_CONNECTED', job_id = null
          where s.acceptance_id = ? and s.job_id = ? and s.status = 'PENDING'
            and not exists (select 1 from partner_center_connections pc where pc.partner_id = s.partner_id) returning 1`,
        [data.acceptanceId, jobId],
      );
      if (parked.length) this.metrics.outcomes.inc({ outcome: 'not_connected' });
      return;
    }
    const correlationId = claim.correlation_id ?? randomUUID();
    const log = this.log.child({ acceptanceId: data.acceptanceId, partnerId: data.partnerId, requestId: claim.request_id, correlationId, attempt: claim.attempts });
    const [row] = await conn.execute<DeliveryRow[]>(
      `select c.tenant_id as customer_tenant_id, a.template_id, to_char(a.date_agreed, 'YYYY-MM-DD') as date_agreed,
              a.contact_first_name, a.contact_last_name, a.contact_email, a.contact_phone_number, a.confirmed_by_id,
              p.tenant_id as partner_tenant_id, pc.client_id, pc.client_secret_enc, pc.refresh_token_enc, pc.connected_at
         from acceptances a join customers c on c.id = a.customer_id join partners p on p.id = a.partner_id
         join partner_center_connections pc on pc.partner_id = a.partner_id
        where a.id = ?`,
      [data.acceptanceId],
    );
    if (!row) return; // deleted with its customer meanwhile
    const secrets: ConnectionSecrets = {
      partnerId: data.partnerId,
      partnerTenantId: row.partner_tenant_id,
      clientId: row.client_id,
      clientSecretEnc: row.client_secret_enc,
      refreshTokenEnc: row.refresh_token_enc,
      connectedAt: new Date(row.connected_at),
    };
    const body: AgreementBody = {
      primaryContact: {
        firstName: row.contact_first_name,
        lastName: row.contact_last_name,
        email: row.contact_email,
        ...(row.contact_phone_number ? { phoneNumber: row.contact_phone_number } : {}),
      },
      templateId: row.template_id,
      dateAgreed: `${row.date_agreed}T00:00:00Z`,
      type: 'MicrosoftCloudAgreement',
      userId: row.confirmed_by_id,
    };

    let outcome: DeliveryOutcome;
    try {
      outcome = await this.post(em, secrets, row.customer_tenant_id, body, claim.request_id, correlationId, false);
      if (outcome.kind === 'unauthorized') {
        // The token was revoked or expired early: one fresh token, one more try.
        outcome = await this.post(em, secrets, row.customer_tenant_id, body, claim.request_id, correlationId, true);
        if (outcome.kind === 'unauthorized') outcome = { kind: 'failed', message: outcome.message };
      }
    } catch (err) {
      if (this.stopping.signal.aborted) throw err;
      if (err instanceof TokenRequestError || err instanceof TransportError || err instanceof CredentialsUnreadableError) {
        outcome = { kind: 'retry', message: err.message };
      } else throw err;
    }
    await this.record(em, jobId, data, claim.attempts, outcome, log);
  }

  private async post(em: EntityManager, secrets: ConnectionSecrets, customerTenantId: string, body: AgreementBody, requestId: string, correlationId: string, fresh: boolean): Promise<DeliveryOutcome> {
    const accessToken = await this.accessToken(em, secrets, fresh);
    const answer = await this.client.confirmAgreement(customerTenantId, body, { accessToken, requestId, correlationId }, this.stopping.signal);
    return classifyConfirmation(answer.status, answer.body, answer.text, answer.retryAfter);
  }

  private async record(em: EntityManager, jobId: string, data: SyncJobData, attempts: number, outcome: DeliveryOutcome, log: Logger): Promise<void> {
    const conn = em.getConnection();
    if (outcome.kind === 'synced') {
      await conn.execute(
        `update acceptance_syncs set status = 'SYNCED', synced_at = now(), last_error = null, next_attempt_at = null, job_id = null
          where acceptance_id = ? and job_id = ?`,
        [data.acceptanceId, jobId],
      );
      const label = outcome.alreadyExisted ? 'already_synced' : 'synced';
      this.metrics.outcomes.inc({ outcome: label });
      log.info({ outcome: label }, 'partner center sync');
      return;
    }
    const exhausted = outcome.kind === 'retry' && attempts >= this.config.maxAttempts;
    if (outcome.kind !== 'retry' || exhausted) {
      const message = exhausted ? `Gave up after ${attempts} attempts; last: ${outcome.message}` : outcome.message;
      await conn.execute(
        `update acceptance_syncs set status = 'FAILED', last_error = ?, next_attempt_at = null, job_id = null where acceptance_id = ? and job_id = ?`,
        [message, data.acceptanceId, jobId],
      );
      this.metrics.outcomes.inc({ outcome: 'failed' });
      log.warn({ outcome: 'failed', error: message }, 'partner center sync');
      return;
    }
    const delay = retryDelayMs(attempts, this.config.retryBaseMs, outcome.retryAfterMs);
    const next = new Date(Date.now() + delay);
    const nextJob = randomUUID();
    await em.transactional(async (t) => {
      const tx = t as EntityManager;
      const owned = await tx
        .getConnection()
        .execute(
          'update acceptance_syncs set job_id = ?, next_attempt_at = ?, last_error = ? where acceptance_id = ? and job_id = ? returning 1',
          [nextJob, next, outcome.message, data.acceptanceId, jobId],
          'all',
          tx.getTransactionContext(),
        );
      if (owned.length) await sendSyncJob(tx, nextJob, data, next);
    });
    this.metrics.outcomes.inc({ outcome: 'retry' });
    log.warn({ outcome: 'retry', error: outcome.message, retryInMs: delay }, 'partner center sync');
  }

  /**
   * An access token for the partner: cached per instance until a minute before it
   * expires, one request at a time per partner. A new connection (connectedAt)
   * invalidates the cache; a rotated refresh token is stored encrypted.
   */
  async accessToken(em: EntityManager, secrets: ConnectionSecrets, fresh = false): Promise<string> {
    const version = secrets.connectedAt.getTime();
    const cached = this.tokens.get(secrets.partnerId);
    if (!fresh && cached && cached.version === version && cached.token.expiresAt > Date.now()) return cached.token.accessToken;
    const running = this.refreshing.get(secrets.partnerId);
    if (running) return running;
    const refresh = this.requestToken(em, secrets).finally(() => this.refreshing.delete(secrets.partnerId));
    this.refreshing.set(secrets.partnerId, refresh);
    return refresh;
  }

  private async requestToken(em: EntityManager, secrets: ConnectionSecrets): Promise<string> {
    const cipher = cipherFor(this.config.credentialsKey);
    const creds: Credentials = {
      clientId: secrets.clientId,
      clientSecret: cipher.decrypt(secrets.clientSecretEnc, secrets.partnerId, 'clientSecret'),
      refreshToken: cipher.decrypt(secrets.refreshTokenEnc, secrets.partnerId, 'refreshToken'),
    };
    const conn = em.getConnection();
    try {
      const token = await this.client.token(secrets.partnerTenantId, creds, this.stopping.signal);
      const rotated = token.refreshToken && token.refreshToken !== creds.refreshToken ? cipher.encrypt(token.refreshToken, secrets.partnerId, 'refreshToken') : null;
      await conn.execute(
        `update partner_center_connections set last_token_at = now(), last_error = null, refresh_token_enc = coalesce(?, refresh_token_enc)
          where partner_id = ? and connected_at = ?`,
        [rotated, secrets.partnerId, secrets.connectedAt],
      );
      if (rotated) secrets.refreshTokenEnc = rotated;
      this.tokens.set(secrets.partnerId, { version: secrets.connectedAt.getTime(), token });
      return token.accessToken;
    } catch (err) {
      if (err instanceof TokenRequestError && !this.stopping.signal.aborted) {
        await conn.execute('update partner_center_connections set last_error = ? where partner_id = ? and connected_at = ?', [err.message, secrets.partnerId, secrets.connectedAt]);
        this.log.warn({ partnerId: secrets.partnerId, error: err.message }, 'partner center token request failed');
      }
      throw err;
    }
  }

  /** Seeds the cache with the token a connection check just obtained. */
  remember(partnerId: string, connectedAt: Date, token: IssuedToken): void {
    this.tokens.set(partnerId, { version: connectedAt.getTime(), token });
  }

  forget(partnerId: string): void {
    this.tokens.delete(partnerId);
  }
}

/** The gateway's engine while the partner-center feature runs (src/partner-center/partner-center.feature.ts starts it). */
export const syncEngines = new RuntimeSlot<SyncEngine>('partner-center');

export const syncEngine = (services: Services): SyncEngine => syncEngines.of(services);
