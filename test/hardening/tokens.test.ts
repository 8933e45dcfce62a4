import { generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { aPartner } from '../factories';
import { startGateway, TEST_SECRET, type TestGateway } from '../support/gateway';
import { wsCloseCode } from './ws-client';
import { loadConfig } from '../../src/config';
import type { Partner } from '../../src/partners/partner.entity';

/** Every kind of bad token is UNAUTHENTICATED over HTTP and closes the WebSocket with 4403. */

const ISSUER = 'https://idp.example.com/';
const AUDIENCE = 'consent-gateway';
const secret = new TextEncoder().encode(TEST_SECRET);
const now = () => Math.floor(Date.now() / 1000);

let gw: TestGateway;
let partner: Partner;
beforeAll(async () => {
  const base = loadConfig({ JWT_SECRET: TEST_SECRET, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  gw = await startGateway({ jwt: base.jwt });
  partner = await aPartner(gw);
});
afterAll(() => gw?.stop());

interface Options {
  claims?: JWTPayload;
  alg?: string;
  key?: Uint8Array | CryptoKey;
  iss?: string | null;
  aud?: string | null;
  exp?: number;
  nbf?: number;
}

async function token(o: Options = {}): Promise<string> {
  const claims = o.claims ?? { name: 'Agent', roles: ['AGENT'], partnerId: partner.id };
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: o.alg ?? 'HS256' })
    .setSubject('token-user')
    .setIssuedAt()
    .setExpirationTime(o.exp ?? now() + 600);
  if (o.nbf) jwt = jwt.setNotBefore(o.nbf);
  if (o.iss !== null) jwt = jwt.setIssuer(o.iss ?? ISSUER);
  if (o.aud !== null) jwt = jwt.setAudience(o.aud ?? AUDIENCE);
  return jwt.sign(o.key ?? secret);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`) with otherwise perfect claims. */
const unsigned = () =>
  `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'token-user', name: 'x', roles: ['PLATFORM_ADMIN'], iss: ISSUER, aud: AUDIENCE, exp: now() + 600 })}.`;

async function expectRefused(bad: string) {
  const http = await gw.gql('{ viewer { userId } }', {}, bad);
  expect(http.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  expect(http.data).toBeNull();
  expect((await wsCloseCode(gw.url, { authorization: `Bearer ${bad}` })).code).toBe(4403);
}

describe('tokens', () => {
  it('a valid token with the configured issuer and audience is accepted', async () => {
    const res = await gw.gql('{ viewer { userId partner { id } } }', {}, await token());
    expect(res.errors).toBeUndefined();
    expect(res.data.viewer).toEqual({ userId: 'token-user', partner: { id: partner.id } });
  });

  it('an expired token is UNAUTHENTICATED, and says when it expired', async () => {
    const exp = now() - 60;
    await expectRefused(await token({ exp }));
    const res = await gw.gql('{ viewer { userId } }', {}, await token({ exp }));
    expect(res.errors?.[0].message).toBe(`Invalid token: the token expired at ${new Date(exp * 1000).toISOString()}`);
  });

  it('a token without exp is UNAUTHENTICATED', async () => {
    const noExp = await new SignJWT({ name: 'Agent', roles: ['AGENT'], partnerId: partner.id })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('token-user')
      .setIssuedAt()
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(secret);
    await expectRefused(noExp);
  });

  it('a token not yet valid (nbf in the future) is UNAUTHENTICATED', async () => {
    await expectRefused(await token({ nbf: now() + 600 }));
  });

  it('a token with a wrong signature is UNAUTHENTICATED', async () => {
    await expectRefused(await token({ key: new TextEncoder().encode('another-secret-of-more-than-32-characters') }));
    const valid = await token();
    await expectRefused(valid.slice(0, -4) + (valid.endsWith('AAAA') ? 'BBBB' : 'AAAA'));
  });

  it('an unsigned token (alg: none) is UNAUTHENTICATED', async () => {
    await expectRefused(unsigned());
  });

  it('a token of another algorithm (RS256 for an HS256 gateway, HS512) is UNAUTHENTICATED', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    await expectRefused(await token({ alg: 'RS256', key: privateKey }));
    await expectRefused(await token({ alg: 'HS512' }));
  });

  it('a wrong or missing audience is UNAUTHENTICATED', async () => {
    await expectRefused(await token({ aud: 'another-api' }));
    await expectRefused(await token({ aud: null }));
  });

  it('a wrong or missing issuer is UNAUTHENTICATED', async () => {
    await expectRefused(await token({ iss: 'https://evil.example.net/' }));
    await expectRefused(await token({ iss: null }));
  });

  it('an unknown role is UNAUTHENTICATED', async () => {
    await expectRefused(await token({ claims: { name: 'x', roles: ['SUPERUSER'], partnerId: partner.id } }));
    await expectRefused(await token({ claims: { name: 'x', roles: [], partnerId: partner.id } }));
  });

  it('a partner role without partnerId is UNAUTHENTICATED', async () => {
    await expectRefused(await token({ claims: { name: 'x', roles: ['ADMIN'] } }));
  });

  it('a partnerId naming no partner is UNAUTHENTICATED', async () => {
    await expectRefused(await token({ claims: { name: 'x', roles: ['ADMIN'], partnerId: '00000000-0000-4000-8000-000000000000' } }));
    await expectRefused(await token({ claims: { name: 'x', roles: ['ADMIN'], partnerId: 'not-a-uuid' } }));
  });

  it('a platform role carrying a partnerId is UNAUTHENTICATED', async () => {
    await expectRefused(await token({ claims: { name: 'x', roles: ['PLATFORM_ADMIN'], partnerId: partner.id } }));
  });

  it('a missing token is UNAUTHENTICATED, and a socket without one is closed with 4403', async () => {
    expect((await gw.gql('{ viewer { userId } }')).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect((await wsCloseCode(gw.url, {})).code).toBe(4403);
  });
});
