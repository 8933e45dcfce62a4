/**
 * How to call Partner Center: through `request` here, and nothing else.
 *
 *   const upstream = partnerCenterUpstream(services);        // the running gateway's
 *   const answer = await upstream.request({
 *     partnerId, operation: 'attestation_create', method: 'POST', path: '/v1/attestations/enhanced',
 *     body, customerId, attestationId, tokenKind: 'app-only',
 *   });
 *   if (answer.status === 201) ... else answer.code / answer.message (already masked and redacted)
 *
 * `request` applies the whole protocol of PARTNER-CENTER.md section 5 and DESIGN.md section 11:
 * - the partner's access token of `tokenKind` (delegated App+User, or app-only client
 *   credentials; both from the one encrypted connection), cached; a 401 gets one fresh
 *   token and one more try, then `UpstreamError('unauthorized')`;
 * - a dead delegated grant (`invalid_grant`, AADSTS700082/50173) marks the connection
 *   NEEDS_REAUTHORIZATION, PAUSES its deliveries, alerts the partner's admins
 *   (connection-alert.ts), in one transaction, and throws
 *   `UpstreamError('reauthorization_required')`; it is never retried;
 * - `MS-RequestId`: the caller's (`requestId`) or a new one; kept across retries after a
 *   timeout or a dropped connection, a new one after any answer; `MS-CorrelationId` new
 *   on every request; `MS-Contract-Version: v1`;
 * - one request budget per partner tenant shared by every instance (throttle.ts): a 429
 *   blocks the tenant until Retry-After has passed, then the call goes again; waits longer
 *   than PARTNER_CENTER_MAX_WAIT_MS throw `UpstreamError('throttled')` with `retryAfterMs`;
 * - timeouts, dropped connections and 5xx are retried in the call with backoff
 *   (PARTNER_CENTER_CALL_RETRIES), then `UpstreamError('unavailable')` (`answered` tells
 *   whether the last try got an answer, i.e. whether its MS-RequestId may be reused);
 * - any other answer (2xx, 4xx business errors) is returned at once, never retried, with
 *   the upstream `code` and a `message` fit to keep (secrets redacted, the `echoed`
 *   contact masked);
 * - every HTTP exchange, token requests included, is one row of `partner_center_exchanges`
 *   (exchange.queries.ts), written outside the caller's transaction.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { PartnerCenterConfig } from '../config';
import { CONTRACT_VERSION, TokenRequestError, TransportError, type PartnerCenterClient, type TokenKind, type UpstreamAnswer } from './client';
import { CredentialsUnreadableError } from './credentials';
import { recordExchange, type ExchangeOperation, type ExchangeOutcome, type ExchangeRow } from './exchange.queries';
import { raiseConnectionAlert } from './connection-alert';
import { connectionSecrets, markNeedsReauthorization, type ConnectionSecrets } from './partner-center.queries';
import { ALREADY_EXISTS_CODE, parseRetryAfter, upstreamCode, upstreamMessage } from './sync.rules';
import type { TokenCache } from './sync.tokens';
import { sleep, type SharedThrottle } from './throttle';
import type { Echoed } from './untrusted';

export interface UpstreamRequest {
  partnerId: string;
  operation: ExchangeOperation;
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH' | 'PUT';
  /** From the API root, with its query: `/v1/customers/{id}/agreements?agreementType=*`. */
  path: string;
  body?: unknown;
  /** Ids for the exchange log (local ids; `attestationId` the upstream one). */
  customerId?: string | null;
  acceptanceId?: string | null;
  attestationId?: string | null;
  tokenKind: TokenKind;
  /**
   * Set by an acceptance's delivery (sync.delivery.ts), which pauses its own row when the grant
   * is dead (`pauseDelivery`, the attempt given back in the same statement); other calls leave it unset.
   */
  delivering?: string;
  /** The MS-RequestId to start with (a delivery's, kept across its jobs); default a new one. */
  requestId?: string;
  /** Values the answer may echo: masked/redacted in `message` and errors. */
  echoed?: Echoed;
  signal?: AbortSignal;
}

export interface UpstreamResult {
  status: number;
  ok: boolean;
  body: unknown;
  /** The upstream error code (`600061`, `400`, ...), when the answer carried one. */
  code: string | null;
  /** The gateway's words with status, code and upstream's (masked) words; for lastError and logs. */
  message: string;
  /** The MS-RequestId of the answered request. */
  requestId: string;
  correlationId: string;
}

export type UpstreamErrorKind = 'not_connected' | 'reauthorization_required' | 'unauthorized' | 'throttled' | 'unavailable' | 'credentials';

/** A call that ended without a business answer. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    readonly details: {
      status?: number;
      code?: string | null;
      /** throttled: how long the budget is still blocked. */
      retryAfterMs?: number;
      /** unavailable: whether the last try got an answer (then its MS-RequestId must not be reused). */
      answered?: boolean;
      /** The MS-RequestId a later retry of this call sends: the same after no answer, a new one after any answer. */
      nextRequestId?: string;
    } = {},
  ) {
    super(message);
  }
}

export interface UpstreamDeps {
  orm: MikroORM;
  config: PartnerCenterConfig;
  client: PartnerCenterClient;
  tokens: TokenCache;
  throttle: SharedThrottle;
  log: Logger;
  stopping: AbortSignal;
  observe?: (operation: string, seconds: number) => void;
}

/** 429s one call takes before it gives up as throttled (each waited out first). */
const MAX_THROTTLED_TRIES = 5;

const outcomeOf = (status: number, code: string | null): ExchangeOutcome =>
  status < 300 ? 'ok' : status === 429 ? 'throttled' : status === 401 ? 'unauthorized' : status >= 500 || status === 408 ? 'retry' : code === String(ALREADY_EXISTS_CODE) ? 'already_exists' : 'failed';

export class PartnerCenterUpstream {
  constructor(private readonly deps: UpstreamDeps) {}

  /** Writes one exchange row on its own connection (never inside the caller's transaction); a failed write is logged, not thrown. */
  readonly exchange = async (row: ExchangeRow): Promise<void> => {
    try {
      await recordExchange(this.deps.orm.em.fork() as EntityManager, row);
    } catch (err) {
      this.deps.log.warn({ err, operation: row.operation }, 'partner center exchange not logged');
    }
  };

  /** The partner's connection, or `UpstreamError('not_connected' | 'reauthorization_required')`. */
  async connection(em: EntityManager, partnerId: string): Promise<ConnectionSecrets> {
    const secrets = await connectionSecrets(em, partnerId);
    if (!secrets) throw new UpstreamError('not_connected', 'This partner has no Partner Center connection');
    if (secrets.reauthorizationRequired) throw new UpstreamError('reauthorization_required', "The partner's Partner Center connection needs re-authorization: connect again with a fresh consent", { code: 'invalid_grant' });
    return secrets;
  }

  /**
   * An access token of `kind`; a dead grant is handled here (NEEDS_REAUTHORIZATION, PAUSED, alert).
   * `delivering`: the acceptance whose delivery asks, left to its caller to pause (sync.delivery.ts).
   */
  async accessToken(em: EntityManager, secrets: ConnectionSecrets, kind: TokenKind, fresh = false, delivering: string | null = null): Promise<string> {
    try {
      return await this.deps.tokens.accessToken(em, secrets, fresh, kind);
    } catch (err) {
      if (err instanceof TokenRequestError) {
        if (err.deadGrant) {
          await this.deadGrant(secrets, err, delivering);
          throw new UpstreamError('reauthorization_required', `Partner Center refused the delegated grant (${err.aadsts ?? 'invalid_grant'}): the partner must connect again`, {
            status: err.status,
            code: err.aadsts ?? 'invalid_grant',
          });
        }
        if (err.permanent) throw new UpstreamError('credentials', err.message, { status: err.status, code: err.oauthError });
        throw new UpstreamError('unavailable', err.message, { status: err.status, answered: err.status !== undefined });
      }
      if (err instanceof CredentialsUnreadableError) throw new UpstreamError('credentials', err.message);
      throw err;
    }
  }

  private async deadGrant(secrets: ConnectionSecrets, err: TokenRequestError, delivering: string | null): Promise<void> {
    this.deps.tokens.forget(secrets.partnerId);
    const message = `The token endpoint refused the delegated grant (${err.aadsts ?? err.oauthError ?? 'invalid_grant'}); connect again with a fresh consent`;
    const em = this.deps.orm.em.fork() as EntityManager;
    // The connection marked, its deliveries paused and its admins alerted: all or nothing, once.
    const first = await em.transactional(async (t) => {
      const tx = t as EntityManager;
      if (!(await markNeedsReauthorization(tx, secrets, message, delivering))) return false;
      await raiseConnectionAlert(tx, secrets.partnerId, err.aadsts ?? err.oauthError ?? null, `${message}. Deliveries are paused until then.`);
      return true;
    });
    if (first) this.deps.log.warn({ partnerId: secrets.partnerId, code: err.aadsts }, 'partner center connection needs re-authorization');
  }

  /** One Partner Center call under the whole protocol (see the top of this file). */
  async request(req: UpstreamRequest, em: EntityManager = this.deps.orm.em.fork() as EntityManager): Promise<UpstreamResult> {
    const { config, client, throttle } = this.deps;
    const signal = req.signal ? AbortSignal.any([req.signal, this.deps.stopping]) : this.deps.stopping;
    const secrets = await this.connection(em, req.partnerId);
    const retries = config.callRetries ?? 3;
    const retryBase = config.callRetryBaseMs ?? 500;
    const maxWait = config.maxWaitMs ?? 60_000;
    const secretsOfCall: (string | null | undefined)[] = [...(req.echoed?.secrets ?? [])];
    const echoed: Echoed = { ...req.echoed, secrets: secretsOfCall };
    let requestId = req.requestId ?? randomUUID();
    let refreshed = false;
    let failures = 0;
    let throttled = 0;
    const log = (r: Partial<ExchangeRow> & { outcome: ExchangeOutcome; correlationId: string }) =>
      this.exchange({
        partnerId: req.partnerId,
        customerId: req.customerId,
        acceptanceId: req.acceptanceId,
        attestationId: req.attestationId,
        operation: req.operation,
        method: req.method,
        path: req.path,
        requestId,
        ...r,
      });
    const backoff = () => sleep(retryBase * (2 ** failures - 1), signal);

    for (;;) {
      const accessToken = await this.accessToken(em, secrets, req.tokenKind, refreshed, req.delivering ?? null);
      secretsOfCall.push(accessToken);
      const budget = await throttle.take(secrets.partnerTenantId, maxWait, signal);
      if (!budget.ok) {
        throw new UpstreamError('throttled', `Partner Center's request budget for this partner is spent; next call in ${Math.ceil(budget.waitMs / 1000)} s`, { retryAfterMs: budget.waitMs, nextRequestId: requestId });
      }
      const correlationId = randomUUID();
      const started = process.hrtime.bigint();
      let answer: UpstreamAnswer;
      try {
        answer = await client.send(
          `${config.url}${req.path}`,
          {
            method: req.method,
            headers: {
              authorization: `Bearer ${accessToken}`,
              accept: 'application/json',
              'ms-requestid': requestId,
              'ms-correlationid': correlationId,
              'ms-contract-version': CONTRACT_VERSION,
              ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
            },
            ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
          },
          signal,
        );
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        await log({ correlationId, httpStatus: null, outcome: 'transport' });
        // No answer: the request may have been applied, so the retry keeps its MS-RequestId.
        if (failures++ < retries) {
          await backoff();
          continue;
        }
        throw new UpstreamError('unavailable', `Partner Center could not be reached: ${err.message}`, { answered: false, nextRequestId: requestId });
      } finally {
        this.deps.observe?.(req.operation, Number(process.hrtime.bigint() - started) / 1e9);
      }
      const body = answer.body as { code?: unknown } | null;
      const code = upstreamCode(body?.code) ?? null;
      const message = upstreamMessage(answer.status, answer.body, answer.text, echoed);
      const answeredId = requestId;
      const outcome = outcomeOf(answer.status, code);
      // 5xx and 408 (the server's own timeout) are passing trouble; every other answer is final.
      const passing = answer.status >= 500 || answer.status === 408;
      const finalServerError = passing && failures >= retries;
      await log({ correlationId, httpStatus: answer.status, code, outcome: finalServerError ? 'failed' : outcome });
      // Any answer: the next request is a new one.
      if (answer.status >= 300) requestId = randomUUID();
      if (answer.status === 401) {
        if (!refreshed) {
          refreshed = true;
          continue;
        }
        throw new UpstreamError('unauthorized', message, { status: 401, code, nextRequestId: requestId });
      }
      if (answer.status === 429) {
        const wait = parseRetryAfter(answer.retryAfter) ?? 1000;
        // Every instance waits: the tenant's budget is blocked until Retry-After has passed.
        await throttle.block(secrets.partnerTenantId, wait);
        if (++throttled > MAX_THROTTLED_TRIES) throw new UpstreamError('throttled', message, { status: 429, retryAfterMs: wait, nextRequestId: requestId });
        continue;
      }
      if (passing) {
        if (failures++ < retries) {
          await backoff();
          continue;
        }
        throw new UpstreamError('unavailable', message, { status: answer.status, code, answered: true, nextRequestId: requestId });
      }
      return { status: answer.status, ok: answer.status < 300, body: answer.body, code, message, requestId: answeredId, correlationId };
    }
  }
}
