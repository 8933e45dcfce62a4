import type { Client } from 'graphql-ws';
import { aPartner } from '../factories';
import { tokenFor, TEST_SECRET } from '../support/gateway';
import { Role } from '../../src/auth/roles';
import { startLoggedGateway, type HardeningGateway } from './support';
import { wsClient, wsOnce } from './ws-client';

/** Production-mode answers to malformed requests: coded, on both transports alike, and telling nothing of the schema. */

let gw: HardeningGateway;
let admin: string;
let ws: Client;

beforeAll(async () => {
  gw = await startLoggedGateway({}, { NODE_ENV: 'production', JWT_SECRET: TEST_SECRET });
  admin = await tokenFor({ sub: 'transport-admin', name: 'Platform Admin', roles: [Role.PLATFORM_ADMIN] }, { expiresIn: '1h' });
  ws = wsClient(gw.url, admin);
});
afterAll(async () => {
  await ws?.dispose();
  await gw?.stop();
});

const ON_BLOCKED_ORDER = `subscription OnBlockedOrder($partnerId: ID, $customerId: ID, $after: String) {
  blockedOrderAlerts(partnerId: $partnerId, customerId: $customerId, after: $after) { id }
}`;

describe('a wrongly typed variable over WebSocket', () => {
  it('answers BAD_USER_INPUT naming the variable, as HTTP does, and logs no unexpected error', async () => {
    const res = await wsOnce(ws, ON_BLOCKED_ORDER, { after: 123 });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    expect(res.errors?.[0].message).toMatch(/^Variable "\$after" got invalid value 123/);
    expect(gw.log.find((l) => l.msg === 'unexpected error')).toBeUndefined();
  });
});

describe('no "did you mean" suggestions in production', () => {
  const PREFLIGHT = 'query ($input: TransactionInput!) { preflightTransaction(input: $input) { allowed } }';

  it('over HTTP, in variable errors: an enum value and an input field', async () => {
    const partner = await aPartner(gw);
    const input = { customerId: partner.id, partnerId: partner.id, kind: 'NEW_PURCHAS', offerId: 'o', quantity: 1, idempotencyKey: 'k' };
    const badEnum = await gw.gql(PREFLIGHT, { input }, admin);
    expect(badEnum.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(badEnum.errors?.[0].message).toMatch(/Value "NEW_PURCHAS" does not exist in "TransactionKind" enum\.$/);
    const { kind: _kind, ...rest } = input;
    const badField = await gw.gql(PREFLIGHT, { input: { ...rest, kind: 'NEW_PURCHASE', customerI: partner.id } }, admin);
    expect(badField.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(badField.errors?.[0].message).toMatch(/Field "customerI" is not defined by type "TransactionInput"\.$/);
    expect(JSON.stringify([badEnum, badField])).not.toMatch(/Did you mean|NEW_PURCHASE"|customerId"/);
  });

  it('over WebSocket, in validation errors', async () => {
    const res = await wsOnce(ws, 'subscription { blockedOrderAlert { id } }');
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0].message).toBe('Cannot query field "blockedOrderAlert" on type "Subscription".');
  });
});

describe('automatic persisted queries', () => {
  it('a hash that does not match its query answers 400 PERSISTED_QUERY_HASH_MISMATCH, not an internal error', async () => {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ errors: [{ message: 'provided sha does not match query', extensions: { code: 'PERSISTED_QUERY_HASH_MISMATCH' } }] });
    expect(gw.log.find((l) => l.msg === 'unexpected error')).toBeUndefined();
  });
});
