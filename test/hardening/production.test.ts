import type { Client } from 'graphql-ws';
import { ConfigError, loadConfig } from '../../src/config';
import { tokenFor, TEST_SECRET } from '../support/gateway';
import { Role } from '../../src/auth/roles';
import { startLoggedGateway, type HardeningGateway } from './support';
import { wsClient, wsOnce } from './ws-client';

/** Production mode: introspection off, errors masked with a request id, CSRF prevention, CORS by configuration. */

const PORTAL = 'https://portal.example.com';
let gw: HardeningGateway;
let admin: string;
let ws: Client;

beforeAll(async () => {
  // The production configuration as loadConfig builds it, with the explicitly configured secret.
  gw = await startLoggedGateway({}, { NODE_ENV: 'production', JWT_SECRET: TEST_SECRET, CORS_ORIGINS: `${PORTAL}, https://admin.example.com` });
  // Production accepts tokens of at most 24 hours (JWT_MAX_LIFETIME_SECONDS).
  admin = await tokenFor({ sub: 'test-platform-admin', name: 'Platform Admin', roles: [Role.PLATFORM_ADMIN] }, { expiresIn: '1h' });
  ws = wsClient(gw.url, admin);
});
afterAll(async () => {
  await ws?.dispose();
  await gw?.stop();
});

describe('production configuration', () => {
  it('NODE_ENV=production accepts an explicit JWT_SECRET and turns introspection off unless GRAPHQL_INTROSPECTION=true', () => {
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: TEST_SECRET });
    expect(config).toMatchObject({ production: true, introspection: false, jwt: { secret: TEST_SECRET } });
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: TEST_SECRET, GRAPHQL_INTROSPECTION: 'true' }).introspection).toBe(true);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
  });

  it('a token living longer than 24 hours is UNAUTHENTICATED', async () => {
    const month = await tokenFor({ sub: 'test-platform-admin', roles: [Role.PLATFORM_ADMIN] }, { expiresIn: '30d' });
    const res = await gw.gql('{ viewer { userId } }', {}, month);
    expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.errors?.[0].message).toMatch(/longer than the 86400 seconds allowed/);
  });

  it('limits and rate limits are configurable and validated', () => {
    const config = loadConfig({ JWT_SECRET: TEST_SECRET, MAX_QUERY_DEPTH: '7', RATE_LIMIT_MUTATIONS_PER_MINUTE: '5', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(config.limits.depth).toBe(7);
    expect(config.rateLimit).toEqual({ mutationsPerMinute: 5, redisUrl: 'redis://127.0.0.1:6379' });
    expect(() => loadConfig({ JWT_SECRET: TEST_SECRET, MAX_QUERY_COST: 'lots' })).toThrow(/MAX_QUERY_COST/);
    expect(() => loadConfig({ JWT_SECRET: TEST_SECRET, REDIS_URL: 'http://x' })).toThrow(/REDIS_URL/);
  });
});

describe('introspection is off in production', () => {
  it('over HTTP: __schema is GRAPHQL_VALIDATION_FAILED, __typename still answers', async () => {
    const res = await gw.gql('{ __schema { types { name } } }', {}, admin);
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0].message).toMatch(/introspection/i);
    expect((await gw.gql('{ __typename }', {}, admin)).data).toEqual({ __typename: 'Query' });
  });

  it('over graphql-ws: __schema is GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await wsOnce(ws, '{ __type(name: "Partner") { fields { name } } }');
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('validation errors suggest no field names', async () => {
    const res = await gw.gql('{ viewe { userId } }', {}, admin);
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0].message).not.toMatch(/Did you mean/);
  });
});

describe('errors are masked in production', () => {
  it('an SQL failure answers INTERNAL_SERVER_ERROR with the request id, and no SQL, stack or internal message', async () => {
    const conn = gw.orm.em.getConnection();
    await gw.gql('{ viewer { userId } }', {}, admin); // records the user before the table goes
    await conn.execute('alter table partners rename to partners_hidden');
    try {
      const res = await fetch(gw.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({ query: '{ partners(first: 5) { totalCount } }' }),
      });
      const requestId = res.headers.get('x-request-id');
      const body = await res.json();
      const text = JSON.stringify(body);
      expect(body.errors[0].extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId });
      expect(text).not.toMatch(/partners_hidden|select|relation|stacktrace|at .*\.ts/i);
      // The log has what the client was not told, under the same request id.
      const logged = gw.log.find((l) => l.requestId === requestId && l.msg === 'unexpected error');
      expect(logged?.err.message).toMatch(/partners/);
      expect(gw.log.find((l) => l.requestId === requestId && l.msg === 'graphql request')).toMatchObject({ outcome: 'error', errorCodes: ['INTERNAL_SERVER_ERROR'] });
    } finally {
      await conn.execute('alter table partners_hidden rename to partners');
    }
  });

  it('coded errors keep their message and code but carry no stack trace', async () => {
    const res = await gw.gql('{ viewer { userId } }');
    expect(res.errors?.[0].extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });
});

describe("Apollo's CSRF prevention is on", () => {
  it('a GET without a preflight-forcing header is refused with 400', async () => {
    const url = `${gw.url}?query=${encodeURIComponent('{ __typename }')}`;
    const simple = await fetch(url, { headers: { authorization: `Bearer ${admin}` } });
    expect(simple.status).toBe(400);
    expect(await simple.text()).toMatch(/CSRF/);
    const preflighted = await fetch(url, { headers: { authorization: `Bearer ${admin}`, 'apollo-require-preflight': 'true' } });
    expect(preflighted.status).toBe(200);
    expect((await preflighted.json()).data).toEqual({ __typename: 'Query' });
  });

  it('a POST with a simple content type (text/plain) is refused with 400', async () => {
    const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(res.status).toBe(400);
  });
});

describe('CORS by configuration (CORS_ORIGINS)', () => {
  const preflight = (origin: string) =>
    fetch(gw.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });

  it('a preflight from a configured origin is allowed with methods and headers', async () => {
    const res = await preflight(PORTAL);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(PORTAL);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('a preflight from another origin is refused with 403 and no allow-origin header', async () => {
    const res = await preflight('https://evil.example.net');
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('responses name the allowed origin only for configured origins', async () => {
    const post = (origin: string) =>
      fetch(gw.url, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    const allowed = await post(PORTAL);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(PORTAL);
    expect(allowed.headers.get('access-control-expose-headers')).toMatch(/x-request-id/);
    const other = await post('https://evil.example.net');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
