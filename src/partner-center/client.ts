import type { PartnerCenterConfig } from '../config';
import { redact } from './credentials';
import { upstreamCode, upstreamMessage } from './sync.rules';

/** The Partner Center scope of App+User tokens. */
export const TOKEN_SCOPE = 'https://api.partnercenter.microsoft.com/user_impersonation offline_access';

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
  ) {
    super(message);
  }
}

/** The body of the confirmation POST, exactly as the vendor documents it. */
export interface AgreementBody {
  primaryContact: { firstName: string; lastName: string; email: string; phoneNumber?: string };
  templateId: string;
  dateAgreed: string;
  type: 'MicrosoftCloudAgreement' | 'MicrosoftCustomerAgreement';
  userId: string;
}

export interface UpstreamAnswer {
  status: number;
  body: unknown;
  text: string;
  retryAfter: string | null;
}

export interface AgreementMetadata {
  templateId: string;
  agreementType: string;
  agreementLink: string;
  versionRank: number;
}

type Observe = (operation: 'token' | 'confirm' | 'metadata', seconds: number, outcome: string) => void;

/** A transport failure (refused, reset, timed out): always worth a retry. */
export class TransportError extends Error {}

/**
 * The three calls the gateway makes to Partner Center. Every message it produces
 * passes through `redact` with the secrets of the call (in every form: raw, URL-encoded,
 * JSON-escaped), so an upstream that echoes a token or the form it was sent cannot push
 * it into an error, a log line or a sync's lastError.
 */
export class PartnerCenterClient {
  constructor(
    private readonly config: PartnerCenterConfig,
    private readonly observe: Observe = () => {},
  ) {}

  tokenUrl(tenantId: string): string {
    return this.config.tokenUrl.replace('{tenantId}', encodeURIComponent(tenantId));
  }

  async token(tenantId: string, creds: Credentials, signal?: AbortSignal): Promise<IssuedToken> {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: creds.refreshToken,
      client_id: creds.clientId,
      client_secret: creds.clientSecret,
      scope: TOKEN_SCOPE,
    });
    const secrets = [creds.clientSecret, creds.refreshToken];
    let answer: UpstreamAnswer;
    try {
      answer = await this.call('token', this.tokenUrl(tenantId), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form.toString() }, signal);
    } catch (err) {
      throw new TokenRequestError(redact(`The token endpoint could not be reached: ${(err as Error).message}`, secrets), false);
    }
    const body = (answer.body ?? {}) as { access_token?: unknown; expires_in?: unknown; refresh_token?: unknown; error?: unknown };
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
    const message = redact(upstreamMessage(answer.status, answer.body, answer.text, { secrets }).replace('Partner Center', 'The token endpoint'), secrets);
    // 4xx: the credentials were refused (invalid_grant, invalid_client); 429 and 5xx are passing trouble.
    throw new TokenRequestError(oauthError ? `${message} [${oauthError}]` : message, answer.status >= 400 && answer.status < 500 && answer.status !== 429, oauthError);
  }

  async confirmAgreement(customerTenantId: string, body: AgreementBody, auth: { accessToken: string; requestId: string; correlationId: string }, signal?: AbortSignal): Promise<UpstreamAnswer> {
    const url = `${this.config.url}/v1/customers/${encodeURIComponent(customerTenantId)}/agreements`;
    const answer = await this.call(
      'confirm',
      url,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${auth.accessToken}`,
          'content-type': 'application/json',
          accept: 'application/json',
          'ms-requestid': auth.requestId,
          'ms-correlationid': auth.correlationId,
        },
        body: JSON.stringify(body),
      },
      signal,
    ).catch((err: Error) => {
      throw new TransportError(redact(`Partner Center could not be reached: ${err.message}`, [auth.accessToken]));
    });
    return { ...answer, text: redact(answer.text, [auth.accessToken]) };
  }

  async agreementTemplates(accessToken: string, correlationId: string, signal?: AbortSignal): Promise<AgreementMetadata[]> {
    const url = `${this.config.url}/v1/agreements?agreementType=MicrosoftCloudAgreement`;
    const answer = await this.call('metadata', url, { method: 'GET', headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json', 'ms-correlationid': correlationId } }, signal).catch(
      (err: Error) => {
        throw new TransportError(redact(`Partner Center could not be reached: ${err.message}`, [accessToken]));
      },
    );
    if (answer.status !== 200) throw new TransportError(upstreamMessage(answer.status, answer.body, answer.text, { secrets: [accessToken] }));
    const items = (answer.body as { items?: unknown })?.items;
    if (!Array.isArray(items)) throw new TransportError('Partner Center answered agreement metadata without items');
    return items
      .filter((i): i is AgreementMetadata => typeof i?.templateId === 'string' && i.templateId.trim() !== '' && typeof i?.agreementLink === 'string' && Number.isInteger(i?.versionRank))
      .map((i) => ({ templateId: i.templateId.trim(), agreementType: String(i.agreementType), agreementLink: i.agreementLink, versionRank: i.versionRank }));
  }

  private async call(operation: 'token' | 'confirm' | 'metadata', url: string, init: RequestInit, signal?: AbortSignal): Promise<UpstreamAnswer> {
    const started = process.hrtime.bigint();
    const timeout = AbortSignal.timeout(this.config.timeoutMs);
    let outcome = 'error';
    try {
      const res = await fetch(url, { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'error' });
      const text = await res.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      outcome = String(res.status);
      return { status: res.status, body, text, retryAfter: res.headers.get('retry-after') };
    } catch (err) {
      if (timeout.aborted) {
        outcome = 'timeout';
        throw new Error(`no answer within ${this.config.timeoutMs} ms`);
      }
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(cause?.code ?? cause?.message ?? (err as Error).message);
    } finally {
      this.observe(operation, Number(process.hrtime.bigint() - started) / 1e9, outcome);
    }
  }
}
