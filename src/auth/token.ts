import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config';
import { Role } from './roles';

/** The claims the gateway trusts, after verification. */
export interface Claims {
  sub: string;
  name: string;
  partnerId?: string;
  roles: Role[];
  /** When the token expires (its `exp`), in milliseconds since the epoch: a live socket closes then. */
  expiresAt: number;
}

export class InvalidTokenError extends Error {}

const KNOWN_ROLES = new Set<string>(Object.values(Role));
const PLATFORM_ROLES = new Set<string>([Role.PLATFORM_ADMIN, Role.ANALYST]);

export function parseClaims(payload: JWTPayload): Claims {
  const { sub, name, partnerId, roles, exp } = payload as Record<string, unknown>;
  if (typeof exp !== 'number') throw new InvalidTokenError('the token has no expiry (exp)');
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) throw new InvalidTokenError('sub is missing');
  if (!Array.isArray(roles) || roles.length === 0 || !roles.every((r) => typeof r === 'string' && KNOWN_ROLES.has(r))) {
    throw new InvalidTokenError('roles must name known roles');
  }
  if (partnerId !== undefined && (typeof partnerId !== 'string' || partnerId.length === 0)) {
    throw new InvalidTokenError('partnerId must be a string');
  }
  const platform = roles.some((r) => PLATFORM_ROLES.has(r));
  if (platform && partnerId) throw new InvalidTokenError('platform roles carry no partnerId');
  if (!platform && !partnerId) throw new InvalidTokenError('partner roles need a partnerId');
  return {
    sub,
    name: typeof name === 'string' && name.trim() ? name.trim().slice(0, 255) : sub,
    partnerId: partnerId as string | undefined,
    roles: roles as Role[],
    expiresAt: exp * 1000,
  };
}

/**
 * A token may live at most `maxSeconds` from when it was issued (or from now, when it
 * says nothing or claims a later issue): a stolen token must not work for months.
 */
function checkLifetime(payload: JWTPayload, maxSeconds: number | undefined, nowSeconds: number): void {
  if (maxSeconds === undefined || typeof payload.exp !== 'number') return;
  const issued = typeof payload.iat === 'number' ? Math.min(payload.iat, nowSeconds) : nowSeconds;
  if (payload.exp - issued > maxSeconds) {
    throw new InvalidTokenError(`the token lives longer than the ${maxSeconds} seconds allowed (JWT_MAX_LIFETIME_SECONDS)`);
  }
}

/** The JWT library's reasons in the gateway's words; an expired token says when it expired. */
function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired && typeof err.payload.exp === 'number') {
    return `the token expired at ${new Date(err.payload.exp * 1000).toISOString()}`;
  }
  return (err as Error).message;
}

/** How long a verified token is taken at its word (never past its `exp`), and how many are kept. */
const VERIFIED_FOR_MS = 60_000;
const VERIFIED_MAX = 10_000;

/** Verifies bearer tokens: HS256 with a shared secret, or RS256 from a JWKS URL. */
export class TokenVerifier {
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(private readonly jwt: Config['jwt']) {
    if (jwt.jwksUrl) {
      this.key = createRemoteJWKSet(new URL(jwt.jwksUrl));
      this.algorithms = ['RS256'];
    } else if (jwt.secret) {
      this.key = new TextEncoder().encode(jwt.secret);
      this.algorithms = ['HS256'];
    } else {
      throw new Error('No JWT verification key configured');
    }
  }

  /**
   * Tokens verified lately, with the claims they carry, until they expire and at most
   * VERIFIED_FOR_MS: a busy client presents the same token on every request, and
   * checking its signature again each time cost a share of a short mutation's CPU.
   * Refused tokens are never kept, so they are checked again every time.
   */
  private readonly verified = new Map<string, { claims: Claims; until: number }>();

  async verify(token: string): Promise<Claims> {
    const now = Date.now();
    const hit = this.verified.get(token);
    if (hit && now < hit.until) return hit.claims;
    try {
      const { payload } = await jwtVerify(token, this.key as Uint8Array, {
        algorithms: this.algorithms,
        issuer: this.jwt.issuer,
        audience: this.jwt.audience,
        requiredClaims: ['exp'],
      });
      checkLifetime(payload, this.jwt.maxLifetimeSeconds, Math.floor(now / 1000));
      const claims = parseClaims(payload);
      Object.freeze(claims.roles);
      const until = Math.min(now + VERIFIED_FOR_MS, claims.expiresAt);
      if (this.verified.size >= VERIFIED_MAX) this.verified.clear();
      this.verified.set(token, { claims: Object.freeze(claims), until });
      return claims;
    } catch (err) {
      if (err instanceof InvalidTokenError) throw err;
      throw new InvalidTokenError(reason(err));
    }
  }
}

/** Development tokens (HS256), for `npm run token`, the demo seed and tests. */
export async function mintToken(
  secret: string,
  claims: { sub: string; name?: string; partnerId?: string; roles: Role[] },
  options: { expiresIn?: string; issuer?: string; audience?: string } = {},
): Promise<string> {
  let jwt = new SignJWT({ name: claims.name ?? claims.sub, roles: claims.roles, ...(claims.partnerId ? { partnerId: claims.partnerId } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub)
    // Expiry first: jose reads the clock for each claim, and a second turning between the two
    // made `exp - iat` one second over the lifetime asked for, which JWT_MAX_LIFETIME_SECONDS
    // then refused (a 30-day token against the 30-day default). Issued after, never longer.
    .setExpirationTime(options.expiresIn ?? '30d')
    .setIssuedAt();
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

export function bearer(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}
