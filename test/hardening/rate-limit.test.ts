import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import type { Client } from 'graphql-ws';
import { aPartner, aPartnerToken } from '../factories';
import { startGateway, tokenFor, type TestGateway } from '../support/gateway';
import { wsClient, wsOnce } from './ws-client';
import { rateLimiterOf } from '../../src/server/rate-limit';
import { Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';

/** Per-partner rate limiting of mutations: RATE_LIMITED with retryAfter, memory by default, Redis when configured. */

const REGISTER = `mutation ($input: RegisterPartnerInput!) { registerPartner(input: $input) { partner { id } } }`;
const CREATE_CUSTOMER = `mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }`;
const BUDGET = 3;

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
const register = (gw: TestGateway, token: string) => gw.gql(REGISTER, { input: { name: unique('Limited'), tenantId: unique('limited'), type: 'DIRECT_BILL' } }, token);
const createCustomer = (gw: TestGateway, token: string) =>
  gw.gql(
    CREATE_CUSTOMER,
    {
      input: {
        companyName: unique('Contoso'),
        domain: `${unique('contoso')}.example.com`,
        country: 'US',
        primaryContact: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' },
      },
    },
    token,
  );
/** A platform admin of its own: platform users are limited per user. */
const anAdmin = () => tokenFor({ sub: unique('rl-admin'), name: 'Admin', roles: [Role.PLATFORM_ADMIN] });

const count = async (gw: TestGateway, table: string) => Number((await gw.orm.em.getConnection().execute(`select count(*)::int as n from ${table}`))[0].n);

function redisReachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.connect(6379, '127.0.0.1');
  });
}

async function untilShared(gw: TestGateway): Promise<boolean> {
  for (let i = 0; i < 50 && !rateLimiterOf(gw.services)!.shared; i++) await new Promise((r) => setTimeout(r, 50));
  return rateLimiterOf(gw.services)!.shared;
}

describe('in memory (the default)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ rateLimit: { mutationsPerMinute: BUDGET } });
  });
  afterAll(() => gw?.stop());

  it('a platform user gets the budget, then RATE_LIMITED with retryAfter, and the refused mutation writes nothing', async () => {
    expect(rateLimiterOf(gw.services)!.store).toBe('memory');
    const admin = await anAdmin();
    for (let i = 0; i < BUDGET; i++) expect((await register(gw, admin)).errors).toBeUndefined();
    const before = await count(gw, 'partners');
    const refused = await register(gw, admin);
    expect(refused.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    const retryAfter = refused.errors?.[0].extensions?.retryAfter as number;
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await count(gw, 'partners')).toBe(before);
    // Another platform user has a budget of its own.
    expect((await register(gw, await anAdmin())).errors).toBeUndefined();
  });

  it('users of one partner share its budget; another partner is unaffected; queries are not limited', async () => {
    const partner: Partner = await aPartner(gw);
    const alice = await aPartnerToken(partner, Role.AGENT, unique('alice'));
    const bob = await aPartnerToken(partner, Role.ADMIN, unique('bob'));
    expect((await createCustomer(gw, alice)).errors).toBeUndefined();
    expect((await createCustomer(gw, alice)).errors).toBeUndefined();
    expect((await createCustomer(gw, bob)).errors).toBeUndefined();
    const refused = await createCustomer(gw, bob);
    expect(refused.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    expect((await gw.gql('{ viewer { userId } }', {}, bob)).errors).toBeUndefined();

    const other = await aPartner(gw);
    expect((await createCustomer(gw, await aPartnerToken(other, Role.AGENT))).errors).toBeUndefined();
  });

  it('each aliased mutation in one document counts', async () => {
    const admin = await anAdmin();
    const fields = Array.from({ length: BUDGET + 1 }, (_, i) => `r${i}: registerPartner(input: { name: "Alias ${i}", tenantId: "${unique('alias')}", type: DIRECT_BILL }) { partner { id } }`);
    const res = await gw.gql(`mutation { ${fields.join(' ')} }`, {}, admin);
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED']);
  });

  it('mutations over graphql-ws count against the same budget', async () => {
    const admin = await anAdmin();
    for (let i = 0; i < BUDGET; i++) expect((await register(gw, admin)).errors).toBeUndefined();
    const client: Client = wsClient(gw.url, admin);
    try {
      const res = await wsOnce(client, REGISTER, { input: { name: 'Over WS', tenantId: unique('ws'), type: 'DIRECT_BILL' } });
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
    } finally {
      await client.dispose();
    }
  });

  it('refusals are counted in /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${gw.port}/metrics`)).text();
    expect(Number(/^rate_limited_mutations_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(3);
  });
});

describe('with REDIS_URL', () => {
  it('while Redis is unreachable the in-memory limiter stands in', async () => {
    const gw = await startGateway({ rateLimit: { mutationsPerMinute: BUDGET, redisUrl: 'redis://127.0.0.1:1' } });
    try {
      expect(rateLimiterOf(gw.services)!.store).toBe('redis');
      expect(rateLimiterOf(gw.services)!.shared).toBe(false);
      const admin = await anAdmin();
      for (let i = 0; i < BUDGET; i++) expect((await register(gw, admin)).errors).toBeUndefined();
      expect((await register(gw, admin)).errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    } finally {
      await gw.stop();
    }
  });

  it('two instances share one budget through Redis at 127.0.0.1:6379 (or, when it is not running, each falls back to memory)', async () => {
    const reachable = await redisReachable();
    const a = await startGateway({ rateLimit: { mutationsPerMinute: BUDGET, redisUrl: 'redis://127.0.0.1:6379' } });
    const b = await startGateway({ rateLimit: { mutationsPerMinute: BUDGET, redisUrl: 'redis://127.0.0.1:6379' } }, a.databaseUrl);
    try {
      expect(await untilShared(a)).toBe(reachable);
      expect(await untilShared(b)).toBe(reachable);
      const admin = await anAdmin();
      for (let i = 0; i < BUDGET - 1; i++) expect((await register(a, admin)).errors).toBeUndefined();
      expect((await register(b, admin)).errors).toBeUndefined();
      if (reachable) {
        // The budget is spent across both instances.
        expect((await register(a, admin)).errors?.[0].extensions?.code).toBe('RATE_LIMITED');
        expect((await register(b, admin)).errors?.[0].extensions?.code).toBe('RATE_LIMITED');
      } else {
        // Without Redis each instance limits on its own: b has spent one of its three.
        expect((await register(b, admin)).errors).toBeUndefined();
        expect((await register(b, admin)).errors).toBeUndefined();
        expect((await register(b, admin)).errors?.[0].extensions?.code).toBe('RATE_LIMITED');
      }
    } finally {
      await b.stop();
      await a.stop();
    }
  });
});
