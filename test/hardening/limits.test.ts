import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse } from 'graphql';
import WebSocket from 'ws';
import type { Client } from 'graphql-ws';
import { aPartner } from '../factories';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { wsClient, wsOnce, wsOversizedMessage } from './ws-client';
import { checkOperation } from '../../src/server/limits';
import { gatewaySchema } from '../../src/gateway';
import { loadConfig } from '../../src/config';

/** The hostile-query corpus: each attack is refused with a code before any resolver runs, on HTTP and WebSocket. */

const DEFAULTS = loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32) }).limits;

/** partners → edges → node, then `levels` alternating providers/resellers: depth 3 + levels + 1. */
function deepQuery(levels: number): string {
  let inner = 'id';
  for (let i = 0; i < levels; i++) inner = `${i % 2 ? 'resellers' : 'providers'} { ${inner} }`;
  return `{ partners(first: 1) { edges { node { ${inner} } } } }`;
}

const aliasQuery = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { userId }`).join(' ')} }`;

const FRAGMENT_CYCLE = `
  query { partners(first: 1) { edges { node { ...A } } } }
  fragment A on Partner { providers { ...B } }
  fragment B on Partner { resellers { ...A } }`;

/** 20 aliases of a 4-deep list, under a page of 100: about 100 × 20 × 9, over the cost limit. */
const EXPENSIVE = `{ partners(first: 100) { edges { node { ${Array.from(
  { length: 20 },
  (_, i) => `p${i}: providers { resellers { providers { resellers { id name tenantId type createdAt } } } }`,
).join(' ')} } } } }`;

const LONG_DOCUMENT = `{ viewer { userId ${' __typename'.repeat(DEFAULTS.tokens)} } }`;

let gw: TestGateway;
let admin: string;
let ws: Client;
beforeAll(async () => {
  gw = await startGateway();
  admin = await platformAdminToken();
  ws = wsClient(gw.url, admin);
});
afterAll(async () => {
  await ws?.dispose();
  await gw?.stop();
});

const partnerCount = async () => Number((await gw.orm.em.getConnection().execute('select count(*)::int as n from partners'))[0].n);

describe('query limits over HTTP', () => {
  it('deep nesting is QUERY_TOO_COMPLEX (depth) with status 400', async () => {
    const ok = await gw.gql(deepQuery(DEFAULTS.depth - 4), {}, admin);
    expect(ok.errors).toBeUndefined();
    const res = await gw.gql(deepQuery(DEFAULTS.depth), {}, admin);
    expect(res.status).toBe(400);
    expect(res.data).toBeUndefined();
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'depth', maximum: DEFAULTS.depth, actual: DEFAULTS.depth + 4 });
  });

  it('alias overloading is QUERY_TOO_COMPLEX (aliases)', async () => {
    expect((await gw.gql(aliasQuery(DEFAULTS.aliases), {}, admin)).errors).toBeUndefined();
    const res = await gw.gql(aliasQuery(DEFAULTS.aliases + 1), {}, admin);
    expect(res.status).toBe(400);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'aliases', actual: DEFAULTS.aliases + 1 });
  });

  it('a brute force of aliased mutations in one document runs none of them', async () => {
    const before = await partnerCount();
    const attempts = Array.from({ length: 40 }, (_, i) => `m${i}: registerPartner(input: { name: "Brute ${i}", tenantId: "brute-${i}", type: DIRECT_BILL }) { partner { id } }`);
    const res = await gw.gql(`mutation { ${attempts.join(' ')} }`, {}, admin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'aliases' });
    expect(await partnerCount()).toBe(before);
  });

  it('a fragment cycle is GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await gw.gql(FRAGMENT_CYCLE, {}, admin);
    expect(res.status).toBe(400);
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0].message).toMatch(/Cannot spread fragment "A" within itself/);
  });

  it('a huge page (first: 100000) is BAD_USER_INPUT on first, literal or variable', async () => {
    const literal = await gw.gql('{ partners(first: 100000) { totalCount } }', {}, admin);
    expect(literal.status).toBe(400);
    expect(literal.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    const variable = await gw.gql('query ($n: Int) { partners(first: $n) { totalCount } }', { n: 100000 }, admin);
    expect(variable.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    const zero = await gw.gql('query ($n: Int = 0) { partners(first: $n) { totalCount } }', {}, admin);
    expect(zero.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('first given as a string ("10") says the type is wrong, not that the number is out of range', async () => {
    const res = await gw.gql('query ($first: Int) { partners(first: $first) { totalCount } }', { first: '10' }, admin);
    expect(res.errors?.[0]).toMatchObject({
      message: 'first must be an Int (a whole number from 1 to 100), not a string: "10"',
      extensions: { code: 'BAD_USER_INPUT', field: 'first' },
    });
    const fraction = await gw.gql('query ($first: Int) { partners(first: $first) { totalCount } }', { first: 2.5 }, admin);
    expect(fraction.errors?.[0].message).toBe('first must be an Int (a whole number from 1 to 100), not a fraction: 2.5');
    const outOfRange = await gw.gql('query ($first: Int) { partners(first: $first) { totalCount } }', { first: 101 }, admin);
    expect(outOfRange.errors?.[0].message).toBe('first must be between 1 and 100');
  });

  it('a NUL character in any string, variable or literal, is BAD_USER_INPUT naming it, and writes nothing', async () => {
    // PostgreSQL refuses NUL in text, and in a statement's text it is a protocol violation.
    const before = await partnerCount();
    const variable = await gw.gql(
      'mutation ($input: RegisterPartnerInput!) { registerPartner(input: $input) { partner { id } } }',
      { input: { name: 'Nul Ltd', tenantId: 'nul\u0000tenant', type: 'DIRECT_BILL' } },
      admin,
    );
    expect(variable.status).toBe(400);
    expect(variable.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tenantId' });
    const literal = await gw.gql('mutation { registerPartner(input: { name: "Nul\\u0000 Ltd", tenantId: "nul-literal", type: DIRECT_BILL }) { partner { id } } }', {}, admin);
    expect(literal.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    const nested = await gw.gql('query ($f: CustomerFilter) { customers(filter: $f) { totalCount } }', { f: { search: 'a\u0000b' } }, admin);
    expect(nested.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'search' });
    expect(await partnerCount()).toBe(before);
  });

  it('a costly query (a page of 100 of many nested lists) is QUERY_TOO_COMPLEX (cost)', async () => {
    await aPartner(gw);
    const res = await gw.gql(EXPENSIVE, {}, admin);
    expect(res.status).toBe(400);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost', maximum: DEFAULTS.cost });
    expect(res.errors?.[0].extensions?.actual).toBeGreaterThan(DEFAULTS.cost);
  });

  it('an over-long document is QUERY_TOO_COMPLEX (tokens)', async () => {
    const res = await gw.gql(LONG_DOCUMENT, {}, admin);
    expect(res.status).toBe(400);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'tokens' });
  });

  it('a batched request (JSON array) is BAD_REQUEST with status 400', async () => {
    const batch = Array.from({ length: 50 }, () => ({ query: '{ viewer { userId } }' }));
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify(batch),
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(body.errors[0].message).toMatch(/Batched operations/);
  });

  it('a body over 1 MB is refused with status 413', async () => {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query: '{ viewer { userId } }', variables: { pad: 'x'.repeat(1_100_000) } }),
    });
    expect(res.status).toBe(413);
    expect((await res.json()).errors[0].extensions.code).toBe('BAD_REQUEST');
  });
});

describe('query limits over graphql-ws', () => {
  it('deep nesting is QUERY_TOO_COMPLEX (depth)', async () => {
    const ok = await wsOnce(ws, deepQuery(2));
    expect(ok.errors).toBeUndefined();
    const res = await wsOnce(ws, deepQuery(DEFAULTS.depth));
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'depth' });
  });

  it('alias overloading is QUERY_TOO_COMPLEX (aliases)', async () => {
    const res = await wsOnce(ws, aliasQuery(DEFAULTS.aliases + 1));
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'aliases' });
  });

  it('a brute force of aliased mutations runs none of them', async () => {
    const before = await partnerCount();
    const attempts = Array.from({ length: 40 }, (_, i) => `m${i}: registerPartner(input: { name: "WsBrute ${i}", tenantId: "ws-brute-${i}", type: DIRECT_BILL }) { partner { id } }`);
    const res = await wsOnce(ws, `mutation { ${attempts.join(' ')} }`);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'aliases' });
    expect(await partnerCount()).toBe(before);
  });

  it('a fragment cycle is GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await wsOnce(ws, FRAGMENT_CYCLE);
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('a huge page is BAD_USER_INPUT on first', async () => {
    const res = await wsOnce(ws, 'query ($n: Int) { partners(first: $n) { totalCount } }', { n: 100000 });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('a NUL character in a variable is BAD_USER_INPUT naming it', async () => {
    const res = await wsOnce(ws, 'query ($s: String) { partners(first: 1, after: $s) { totalCount } }', { s: 'x\u0000' });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 's' });
  });

  it('a costly query is QUERY_TOO_COMPLEX (cost)', async () => {
    const res = await wsOnce(ws, EXPENSIVE);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost' });
  });

  it('an over-long document is QUERY_TOO_COMPLEX (tokens)', async () => {
    const res = await wsOnce(ws, LONG_DOCUMENT);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'tokens' });
  });

  it('a message over 1 MB closes the socket with 1009 (message too big)', async () => {
    expect(await wsOversizedMessage(gw.url, admin, 1_100_000)).toBe(1009);
  });

  it('a syntax error is GRAPHQL_PARSE_FAILED and an unknown field GRAPHQL_VALIDATION_FAILED', async () => {
    expect((await wsOnce(ws, '{ viewer { ')).errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect((await wsOnce(ws, '{ nope }')).errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('query cost estimate', () => {
  const costOf = async (query: string, variables = {}) => {
    const schema = await gatewaySchema();
    const refused = checkOperation(schema, parse(query), variables, undefined, { ...DEFAULTS, cost: 1 });
    return refused[0]?.extensions?.actual as number;
  };

  it('a paged list costs first × its children, so nested pages multiply', async () => {
    const one = await costOf('{ partners(first: 1) { edges { node { id name } } } }');
    const hundred = await costOf('{ partners(first: 100) { edges { node { id name } } } }');
    const viaVariable = await costOf('query ($n: Int) { partners(first: $n) { edges { node { id name } } } }', { n: 100 });
    expect(hundred).toBeGreaterThan(one * 50);
    expect(viaVariable).toBe(hundred);
  });
});

describe('the limits refuse no operation of the client contract', () => {
  const dir = join(__dirname, '..', '..', '..', 'shared', 'contract');
  const documents = readdirSync(dir).filter((f) => f.endsWith('.graphql') && f !== 'vocabulary.graphql');

  it.each(documents)('%s', async (file) => {
    const schema = await gatewaySchema();
    const document = parse(readFileSync(join(dir, file), 'utf8'), { maxTokens: DEFAULTS.tokens });
    const names = document.definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION && d.name ? [d.name.value] : []));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      // The largest page everywhere: the worst case a client may ask for.
      expect([name, checkOperation(schema, document, { first: 100 }, name, DEFAULTS)]).toEqual([name, []]);
    }
  });
});

describe('deeply nested variables', () => {
  /** `levels` arrays one inside the other as JSON text (2 bytes a level): JSON.stringify of such a value overflows the stack. */
  const nested = (levels: number) => `${'['.repeat(levels)}"x"${']'.repeat(levels)}`;
  const QUERY = 'query ($f: CustomerFilter) { customers(filter: $f) { totalCount } }';
  const body = (levels: number) => `{"query":${JSON.stringify(QUERY)},"variables":{"f":{"search":${nested(levels)}}}}`;

  async function overHttp(levels: number) {
    const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: body(levels) });
    return { status: res.status, ...((await res.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] }) };
  }

  /** The first answer to one subscribe message sent as raw text over a fresh socket. */
  function overWs(levels: number): Promise<{ type: string; payload: { message: string; extensions?: Record<string, unknown> }[] }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(gw.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${admin}` } })));
      socket.on('message', (data) => {
        const message = JSON.parse(String(data));
        if (message.type === 'connection_ack') socket.send(`{"id":"1","type":"subscribe","payload":${body(levels)}}`);
        else {
          socket.close();
          resolve(message);
        }
      });
      socket.on('error', reject);
    });
  }

  it('5,000 levels in a 10 KB body answer 400 BAD_USER_INPUT naming the variable, over HTTP and WebSocket', async () => {
    expect(body(5_000).length).toBeLessThan(11_000);
    const res = await overHttp(5_000);
    expect(res.status).toBe(400);
    expect(res.errors?.[0]).toMatchObject({ message: 'f: nested deeper than 64 levels', extensions: { code: 'BAD_USER_INPUT', field: 'f' } });
    const ws = await overWs(5_000);
    expect(ws.type).toBe('error');
    expect(ws.payload[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'f' });
  });

  it('nesting within the bound reaches ordinary coercion', async () => {
    const res = await overHttp(10);
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0].message).toMatch(/String cannot represent a non string value/);
  });
});
