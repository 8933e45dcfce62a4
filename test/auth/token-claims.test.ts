import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { InvalidTokenError, mintToken, TokenVerifier } from '../../src/auth/token';
import { loadConfig } from '../../src/config';
import { Role } from '../../src/auth/roles';

/** Every token must say when it expires, and may not live longer than the configured maximum. */

const SECRET = 'token-claims-test-secret-long-enough-for-hs256';
const now = () => Math.floor(Date.now() / 1000);
const claims = { name: 'Claims Tester', roles: [Role.ANALYST] };

function hs256(set: (jwt: SignJWT) => SignJWT = (j) => j): Promise<string> {
  return set(new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('claims-tester')).sign(new TextEncoder().encode(SECRET));
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (err) => (err instanceof InvalidTokenError ? err.message : `unexpected: ${err}`),
  );

describe('HS256 tokens', () => {
  const verifier = new TokenVerifier({ secret: SECRET, maxLifetimeSeconds: 24 * 3600 });

  it('a token without exp is refused', async () => {
    expect(await refusal(verifier.verify(await hs256((j) => j.setIssuedAt())))).toMatch(/exp/);
  });

  it('a token living longer than the maximum is refused, one within it accepted', async () => {
    expect(await refusal(verifier.verify(await hs256((j) => j.setIssuedAt().setExpirationTime('25h'))))).toMatch(/longer than the 86400 seconds/);
    // Without iat, the lifetime counts from now.
    expect(await refusal(verifier.verify(await hs256((j) => j.setExpirationTime('30d'))))).toMatch(/longer than/);
    // An iat in the future does not stretch it either.
    expect(await refusal(verifier.verify(await hs256((j) => j.setIssuedAt(now() + 20 * 3600).setExpirationTime(now() + 40 * 3600))))).toMatch(/longer than/);
    await expect(verifier.verify(await hs256((j) => j.setIssuedAt().setExpirationTime('23h')))).resolves.toMatchObject({ sub: 'claims-tester' });
  });

  it('an expired token says when it expired, in the gateway’s words', async () => {
    const exp = now() - 90;
    const message = await refusal(verifier.verify(await hs256((j) => j.setIssuedAt(exp - 60).setExpirationTime(exp))));
    expect(message).toBe(`the token expired at ${new Date(exp * 1000).toISOString()}`);
  });

  it('the verified claims carry the expiry', async () => {
    const exp = now() + 600;
    expect((await verifier.verify(await hs256((j) => j.setExpirationTime(exp)))).expiresAt).toBe(exp * 1000);
  });
});

describe('development tokens (mintToken)', () => {
  it('live no longer than asked when a second turns while they are made, so the 30-day default maximum accepts a 30-day token', async () => {
    // A clock that moves a second at every reading of it: the second turns between any two claims.
    const RealDate = Date;
    let readings = 0;
    let ahead = 0;
    class TickingDate extends RealDate {
      constructor(...args: unknown[]) {
        if (args.length) super(...(args as [number]));
        else super(RealDate.now() + (ahead = ++readings * 1000));
      }
      static override now() {
        return RealDate.now() + ahead;
      }
    }
    global.Date = TickingDate as DateConstructor;
    let token: string;
    let verified: unknown;
    try {
      token = await mintToken(SECRET, { sub: 'minted', roles: [Role.ANALYST] }, { expiresIn: '30d' });
      verified = await new TokenVerifier({ secret: SECRET, maxLifetimeSeconds: 30 * 24 * 3600 }).verify(token);
    } catch (err) {
      verified = err;
    } finally {
      global.Date = RealDate;
    }
    expect(readings).toBeGreaterThanOrEqual(2);
    const { iat, exp } = decodeJwt(token!);
    expect(exp! - iat!).toBeLessThanOrEqual(30 * 24 * 3600);
    expect(verified).toMatchObject({ sub: 'minted' });
  });
});

describe('RS256 tokens from a key set', () => {
  let server: Server;
  let sign: (payload: JWTPayload, set: (jwt: SignJWT) => SignJWT) => Promise<string>;
  let verifier: TokenVerifier;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    verifier = new TokenVerifier({ jwksUrl: url, maxLifetimeSeconds: 3600 });
    sign = (payload, set) => set(new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('claims-tester')).sign(privateKey);
  });
  afterAll(() => new Promise((resolve) => server?.close(resolve)));

  it('a token without exp is refused, one with exp within the maximum accepted', async () => {
    expect(await refusal(verifier.verify(await sign(claims, (j) => j.setIssuedAt())))).toMatch(/exp/);
    expect(await refusal(verifier.verify(await sign(claims, (j) => j.setIssuedAt().setExpirationTime('2h'))))).toMatch(/longer than the 3600 seconds/);
    await expect(verifier.verify(await sign(claims, (j) => j.setIssuedAt().setExpirationTime('30m')))).resolves.toMatchObject({ sub: 'claims-tester' });
  });
});

describe('the maximum lifetime by configuration', () => {
  it('is 24 hours in production and 30 days otherwise, and JWT_MAX_LIFETIME_SECONDS sets it', () => {
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET }).jwt.maxLifetimeSeconds).toBe(86_400);
    expect(loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET }).jwt.maxLifetimeSeconds).toBe(30 * 86_400);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, JWT_MAX_LIFETIME_SECONDS: '3600' }).jwt.maxLifetimeSeconds).toBe(3600);
    expect(() => loadConfig({ JWT_SECRET: SECRET, JWT_MAX_LIFETIME_SECONDS: 'forever' })).toThrow(/JWT_MAX_LIFETIME_SECONDS/);
  });
});
