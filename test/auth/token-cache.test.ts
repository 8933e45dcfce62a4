import { SignJWT } from 'jose';
import { InvalidTokenError, TokenVerifier } from '../../src/auth/token';
import { Role } from '../../src/auth/roles';

/** Verified tokens are kept for a while, but never past their expiry and never when refused. */

const SECRET = 'token-cache-test-secret-long-enough-for-hs256';
const verifier = () => new TokenVerifier({ secret: SECRET, jwksUrl: undefined, issuer: undefined, audience: undefined });
const sign = (exp: number, secret = SECRET) =>
  new SignJWT({ name: 'Cache Tester', roles: [Role.ANALYST] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('cache-tester')
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));

describe('verified tokens', () => {
  it('a token accepted once is refused once it expires', async () => {
    const tokens = verifier();
    // Expiring 3 s from now (whole seconds): 1 s left it 0 to 1 s, and a loaded run verified it too late.
    const exp = Math.floor(Date.now() / 1000) + 3;
    const token = await sign(exp);
    await expect(tokens.verify(token)).resolves.toMatchObject({ sub: 'cache-tester', roles: [Role.ANALYST] });
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 1_100));
    await expect(tokens.verify(token)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('a refused token stays refused, and the claims handed out cannot be changed by a caller', async () => {
    const tokens = verifier();
    const forged = await sign(Math.floor(Date.now() / 1000) + 600, 'another-secret-that-is-long-enough-for-hs256');
    await expect(tokens.verify(forged)).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(tokens.verify(forged)).rejects.toBeInstanceOf(InvalidTokenError);
    const token = await sign(Math.floor(Date.now() / 1000) + 600);
    const claims = await tokens.verify(token);
    expect(() => (claims.roles as Role[]).push(Role.PLATFORM_ADMIN)).toThrow(TypeError);
    expect((await tokens.verify(token)).roles).toEqual([Role.ANALYST]);
  });
});
