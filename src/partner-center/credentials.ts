import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { NotApplicableError } from '../errors';
import { redactSecrets } from './untrusted';

/**
 * Client secrets and refresh tokens at rest: AES-256-GCM under a key derived
 * (HKDF-SHA256) from CREDENTIALS_KEY. Each value is bound to its partner and field
 * as associated data, so a ciphertext copied to another row does not decrypt.
 * Format: `v1.<iv>.<tag>.<ciphertext>`, base64url.
 */
export class CredentialCipher {
  private readonly key: Buffer;

  constructor(material: string) {
    this.key = Buffer.from(hkdfSync('sha256', material, 'consent-gateway', 'partner-center-credentials/v1', 32));
  }

  encrypt(plain: string, partnerId: string, field: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`${partnerId}:${field}`));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), body].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  decrypt(stored: string, partnerId: string, field: string): string {
    const [version, iv, tag, body] = stored.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined) throw new CredentialsUnreadableError();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(`${partnerId}:${field}`));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // A changed CREDENTIALS_KEY or a tampered row: the partner must connect again.
      throw new CredentialsUnreadableError();
    }
  }
}

export class CredentialsUnreadableError extends Error {
  constructor() {
    super('The stored Partner Center credentials cannot be decrypted (was CREDENTIALS_KEY changed?); connect the partner again');
  }
}

/** The cipher, or a coded refusal: without CREDENTIALS_KEY the gateway stores no credentials. */
export function cipherFor(material: string | undefined): CredentialCipher {
  if (!material) throw new NotApplicableError('Partner Center credentials cannot be stored: the gateway has no CREDENTIALS_KEY configured');
  return new CredentialCipher(material);
}

/** Replaces every occurrence of the given secrets, in every form an echo may take, in a text meant for people (errors, logs). */
export function redact(text: string, secrets: (string | null | undefined)[]): string {
  return redactSecrets(text, secrets);
}
