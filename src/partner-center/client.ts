import type { PartnerCenterConfig } from '../config';
import { redact } from './credentials';
import { upstreamCode, upstreamMessage } from './sync.rules';

/**
 * The HTTP layer under `upstream.ts`: one token request, one API exchange, nothing more
 * (no retries, no budget, no log). Call Partner Center through `upstream.ts`.
 */

/** The resource of App+User and AppOnly tokens on the v1 token endpoint (PARTNER-CENTER.md section 6). */
export const TOKEN_RESOURCE = 'https://api.partnercenter.microsoft.com';

/** The vendor's header, marked required (PARTNER-CENTER.md section 5). */
export const CONTRACT_VERSION = 'v1';

/** `delegated`: App+User (refresh-token grant; the legacy agreement endpoints). `app-only`: client credentials (enhanced attestation). */
export type TokenKind = 'delegated' | 'app-only';

export interface Credentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export interface IssuedToken {
  accessToken: string;
  /** Epoch ms after which the token is not used any more. */
  expiresAt: number;
  /** Present when the token endpoint rotated the refresh token. */
  refreshToken?: string;
}

/** The token endpoint refused or could not be reached; `permanent` when the credentials themselves were refused. */
export class TokenRequestError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly oauthError?: string,
    /** The HTTP status; undefined when there was no answer. */
    readonly status?: number,
    /** The AADSTS code the endpoint named (`AADSTS700082`), when it named one. */
    readonly aadsts?: string,
  ) {
    super(message);
  }

  /** A dead delegated grant: expired from idleness (AADSTS700082), revoked (AADSTS50173), or any other invalid_grant. Never retried. */
  get deadGrant(): boolean {
    return this.oauthError === 'invalid_grant';
  }
}

/** The body of the confirmation POST, exactly as the vendor documents it (no `userId`: it comes from the token). */
export interface AgreementBody {
  primaryContact: { firstName: string; lastName: string; email: string; phoneNumber?: string };
  templateId: string;
  dateAgreed: string;
  /** The template's own type, in the vendor's spelling. */
  type: string;
}

export interface UpstreamAnswer {
  status: number;
  body: unknown;
  text: string;
  retryAfter: string | null;
}

/** A transport failure (refused, reset, timed out): the request may or may not have reached upstream. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message);
  }
}

/**
 * Every message it produces passes through `redact` with the secrets of the call (in
 * every form: raw, URL-encoded, JSON-escaped), so an upstream that echoes a token or the
 * form it was sent cannot push it into an error, a log line or a sync's lastError.
 */
export class PartnerCenterClient {
  constructor(private readonly config: PartnerCenterConfig) {}

  tokenUrl(tenantId: string): string {
    return this.config.tokenUrl.replace('{tenantId}', encodeURIComponent(tenantId));
  }

  /** One token request of the kind asked, from the same credentials. */
  async token(tenantId: string, creds: Credentials, kind: TokenKind = 'delegated', signal?: AbortSignal): Promise<IssuedToken> {
    const form =
      kind === 'delegated'
        ? new URLSearchParams({ resource: TOKEN_RESOURCE, grant_type: 'refresh_token', refresh_token: creds.refreshToken, client_id: creds.clientId, client_secret: creds.clientSecret })
        : new URLSearchParams({ resource: TOKEN_RESOURCE, grant_type: 'client_credentials', client_id: creds.clientId, client_secret: creds.clientSecret });
    const secrets = [creds.clientSecret, creds.refreshToken];
    let answer: UpstreamAnswer;
    try {
      answer = await this.send(this.tokenUrl(tenantId), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form.toString() }, signal);
    } catch (err) {
      throw new TokenRequestError(redact(`The token endpoint could not be reached: ${(err as Error).message}`, secrets), false);
    }
    const body = (answer.body ?? {}) as { access_token?: unknown; expires_in?: unknown; refresh_token?: unknown; error?: unknown; error_description?: unknown; error_codes?: unknown };
    if (answer.status === 200 && typeof body.access_token === 'string') {
      const expiresIn = Number(body.expires_in) > 0 ? Number(body.expires_in) : 3600;
      return {
        accessToken: body.access_token,
        // A minute early: a token never expires between being picked and being used.
        expiresAt: Date.now() + Math.max(1, expiresIn - 60) * 1000,
        refreshToken: typeof body.refresh_token === 'string' && body.refresh_token ? body.refresh_token : undefined,
      };
    }
    const oauthError = upstreamCode(body.error);
    const aadsts = aadstsOf(body);
    const message = redact(upstreamMessage(answer.status, answer.body, answer.text, { secrets }).replace('Partner Center', 'The token endpoint'), secrets);
    // 4xx: the credentials were refused (invalid_grant, invalid_client); 429 and 5xx are passing trouble.
    throw new TokenRequestError(
      oauthError ? `${message} [${oauthError}]` : message,
      answer.status >= 400 && answer.status < 500 && answer.status !== 429,
      oauthError,
      answer.status,
      aadsts,
    );
  }

  /** One HTTP exchange; a TransportError when no answer came (timed out, refused, dropped). */
  async send(url: string, init: RequestInit, signal?: AbortSignal): Promise<UpstreamAnswer> {
    const timeout = AbortSignal.timeout(this.config.timeoutMs);
    try {
      const res = await fetch(url, { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'error' });
      const text = await res.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      return { status: res.status, body, text, retryAfter: res.headers.get('retry-after') };
    } catch (err) {
      if (timeout.aborted) throw new TransportError(`no answer within ${this.config.timeoutMs} ms`, true);
      if (signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new TransportError(cause?.code ?? cause?.message ?? (err as Error).message);
    }
  }
}

/** `AADSTS700082` from `error_codes` or the start of `error_description`. */
function aadstsOf(body: { error_description?: unknown; error_codes?: unknown }): string | undefined {
  if (Array.isArray(body.error_codes) && Number.isInteger(body.error_codes[0])) return `AADSTS${body.error_codes[0]}`;
  const m = typeof body.error_description === 'string' ? /\bAADSTS(\d{3,9})\b/.exec(body.error_description) : null;
  return m ? `AADSTS${m[1]}` : undefined;
}
