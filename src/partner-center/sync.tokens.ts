import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { TokenRequestError, type Credentials, type IssuedToken, type PartnerCenterClient, type TokenKind } from './client';
import { cipherFor } from './credentials';
import type { ExchangeRow } from './exchange.queries';
import { recordTokenIssued, recordTokenRefused, type ConnectionSecrets } from './partner-center.queries';

/**
 * Access tokens per partner and kind (delegated App+User, app-only client credentials),
 * both from the same encrypted credentials: cached on this instance until a minute
 * before they expire, one request at a time per partner and kind. A new connection
 * (connectedAt) invalidates the cache; a rotated refresh token is stored encrypted.
 * Every token request is one row of the exchange log (operation `token`).
 */
export class TokenCache {
  private readonly tokens = new Map<string, { version: number; token: IssuedToken }>();
  private readonly refreshing = new Map<string, Promise<string>>();

  constructor(
    private readonly client: PartnerCenterClient,
    private readonly credentialsKey: string | undefined,
    private readonly log: Logger,
    /** Aborted when the gateway stops: a token request in flight is abandoned. */
    private readonly stopping: AbortSignal,
    private readonly exchange: (row: ExchangeRow) => Promise<void> = async () => {},
    private readonly observe: (operation: string, seconds: number) => void = () => {},
  ) {}

  /** A valid access token of `kind` for the connection; `fresh` asks for a new one (the cached one was refused). */
  async accessToken(em: EntityManager, secrets: ConnectionSecrets, fresh = false, kind: TokenKind = 'delegated'): Promise<string> {
    const version = secrets.connectedAt.getTime();
    const key = `${secrets.partnerId}:${kind}`;
    const cached = this.tokens.get(key);
    if (!fresh && cached && cached.version === version && cached.token.expiresAt > Date.now()) return cached.token.accessToken;
    const running = this.refreshing.get(key);
    if (running) return running;
    const refresh = this.requestToken(em, secrets, kind).finally(() => this.refreshing.delete(key));
    this.refreshing.set(key, refresh);
    return refresh;
  }

  /** Seeds the cache with the token a connection check just obtained. */
  remember(partnerId: string, connectedAt: Date, token: IssuedToken, kind: TokenKind = 'delegated'): void {
    this.tokens.set(`${partnerId}:${kind}`, { version: connectedAt.getTime(), token });
  }

  forget(partnerId: string): void {
    this.tokens.delete(`${partnerId}:delegated`);
    this.tokens.delete(`${partnerId}:app-only`);
  }

  private async requestToken(em: EntityManager, secrets: ConnectionSecrets, kind: TokenKind): Promise<string> {
    const cipher = cipherFor(this.credentialsKey);
    const creds: Credentials = {
      clientId: secrets.clientId,
      clientSecret: cipher.decrypt(secrets.clientSecretEnc, secrets.partnerId, 'clientSecret'),
      refreshToken: cipher.decrypt(secrets.refreshTokenEnc, secrets.partnerId, 'refreshToken'),
    };
    const path = new URL(this.client.tokenUrl(secrets.partnerTenantId)).pathname;
    const started = process.hrtime.bigint();
    const observe = () => this.observe('token', Number(process.hrtime.bigint() - started) / 1e9);
    try {
      const token = await this.client.token(secrets.partnerTenantId, creds, kind, this.stopping).finally(observe);
      await this.exchange({ partnerId: secrets.partnerId, operation: 'token', method: 'POST', path, httpStatus: 200, outcome: 'ok' });
      const rotated = token.refreshToken && token.refreshToken !== creds.refreshToken ? cipher.encrypt(token.refreshToken, secrets.partnerId, 'refreshToken') : null;
      await recordTokenIssued(em, secrets, rotated, kind);
      if (rotated) secrets.refreshTokenEnc = rotated;
      this.remember(secrets.partnerId, secrets.connectedAt, token, kind);
      return token.accessToken;
    } catch (err) {
      if (err instanceof TokenRequestError && !this.stopping.aborted) {
        await this.exchange({
          partnerId: secrets.partnerId,
          operation: 'token',
          method: 'POST',
          path,
          httpStatus: err.status ?? null,
          code: err.aadsts ?? err.oauthError ?? null,
          outcome: err.status === undefined ? 'transport' : err.status === 429 ? 'throttled' : err.status === 401 ? 'unauthorized' : err.status >= 500 ? 'retry' : 'failed',
        });
        await recordTokenRefused(em, secrets, err.message);
        this.log.warn({ partnerId: secrets.partnerId, kind, error: err.message }, 'partner center token request failed');
      }
      throw err;
    }
  }
}
