import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { TokenRequestError, type Credentials, type IssuedToken, type PartnerCenterClient } from './client';
import { cipherFor } from './credentials';
import { recordTokenIssued, recordTokenRefused, type ConnectionSecrets } from './partner-center.queries';

/**
 * Access tokens per partner: cached on this instance until a minute before they
 * expire, one request at a time per partner. A new connection (connectedAt)
 * invalidates the cache; a rotated refresh token is stored encrypted.
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
  ) {}

  /** A valid access token for the connection; `fresh` asks for a new one (the cached one was refused). */
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

  /** Seeds the cache with the token a connection check just obtained. */
  remember(partnerId: string, connectedAt: Date, token: IssuedToken): void {
    this.tokens.set(partnerId, { version: connectedAt.getTime(), token });
  }

  forget(partnerId: string): void {
    this.tokens.delete(partnerId);
  }

  private async requestToken(em: EntityManager, secrets: ConnectionSecrets): Promise<string> {
    const cipher = cipherFor(this.credentialsKey);
    const creds: Credentials = {
      clientId: secrets.clientId,
      clientSecret: cipher.decrypt(secrets.clientSecretEnc, secrets.partnerId, 'clientSecret'),
      refreshToken: cipher.decrypt(secrets.refreshTokenEnc, secrets.partnerId, 'refreshToken'),
    };
    try {
      const token = await this.client.token(secrets.partnerTenantId, creds, this.stopping);
      const rotated = token.refreshToken && token.refreshToken !== creds.refreshToken ? cipher.encrypt(token.refreshToken, secrets.partnerId, 'refreshToken') : null;
      await recordTokenIssued(em, secrets, rotated);
      if (rotated) secrets.refreshTokenEnc = rotated;
      this.remember(secrets.partnerId, secrets.connectedAt, token);
      return token.accessToken;
    } catch (err) {
      if (err instanceof TokenRequestError && !this.stopping.aborted) {
        await recordTokenRefused(em, secrets, err.message);
        this.log.warn({ partnerId: secrets.partnerId, error: err.message }, 'partner center token request failed');
      }
      throw err;
    }
  }
}
