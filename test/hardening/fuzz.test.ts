import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  buildSchema,
  getNamedType,
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLScalarType,
  isObjectType,
  type GraphQLField,
  type GraphQLInputType,
} from 'graphql';
import { aCustomer, anAcceptance, anAgreement, aBlockedOrder, aLink, aPartner, aPartnerToken, aSubscription } from '../factories';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { gatewaySchema } from '../../src/gateway';
import { PartnerType, Role } from '../../src/auth/roles';

/**
 * Property: whatever a client sends as a mutation's input (arbitrary unicode, control
 * characters, very long strings, extreme numbers, malformed dates and ids, or valid
 * ids of existing records), the answer is data or coded errors, never a 500 or
 * INTERNAL_SERVER_ERROR, and a refused mutation leaves every table's row count as it was.
 * Inputs are generated from the schema itself, so mutations added later are covered too.
 */

jest.setTimeout(180_000);

const RUNS = Number(process.env.FUZZ_RUNS ?? 50);

let gw: TestGateway;
let tokens: string[];
const ids: string[] = [];
const templateIds: string[] = [];

beforeAll(async () => {
  // A generous budget: the property is about input handling, not rate limits.
  gw = await startGateway({ rateLimit: { mutationsPerMinute: 1_000_000 } });
  const direct = await aPartner(gw);
  const provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  const template = await anAgreement(gw);
  const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
  const indirect = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
  const acceptance = await anAcceptance(gw, { customer, partner: direct, template });
  const subscription = await aSubscription(gw, { customer, partner: direct });
  await aBlockedOrder(gw, { customer: indirect, partner: provider });
  ids.push(direct.id, provider.id, reseller.id, customer.id, indirect.id, acceptance.id, subscription.id);
  const alerts = await gw.orm.em.getConnection().execute<{ id: string }[]>('select id::text as id from blocked_order_alerts');
  ids.push(...alerts.map((a) => a.id));
  const partners = [direct.id, provider.id, reseller.id];
  Object.assign(idsByName, {
    customerid: [customer.id, indirect.id],
    partnerid: partners,
    providerid: partners,
    resellerid: partners,
    acceptanceid: [acceptance.id],
    subscriptionid: [subscription.id],
    id: alerts.map((a) => a.id),
  });
  templateIds.push(template.templateId);
  tokens = [
    await platformAdminToken(),
    await aPartnerToken(direct, Role.ADMIN),
    await aPartnerToken(provider, Role.AGENT),
    await aPartnerToken(reseller, Role.ADMIN),
  ];
  // Every caller is recorded once up front, so the users table only changes by mutations.
  for (const token of tokens) await gw.gql('{ viewer { userId } }', {}, token);
});
afterAll(() => gw?.stop());

/** Strings a hostile or careless client sends, among plausible ones so inputs also get past validation. */
const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 30 }) },
  { weight: 4, arbitrary: hostile() },
);

function hostile(): fc.Arbitrary<string> {
  return fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 31 }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  fc.constantFrom('', ' ', '\u0000', 'a\u0000b', '\ud800', '😀'.repeat(100), "'; drop table customers; --", '<script>alert(1)</script>', '%s%n', '../../etc/passwd', 'null', 'NaN', '-0', '1e309'),
  fc.integer({ min: 256, max: 300_000 }).map((n) => 'x'.repeat(n)),
  );
}

const dateLike = fc.oneof(
  fc.date({ min: new Date('0001-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  fc.constantFrom('2019-02-29', '2020-13-01', '2020-00-10', '1900-01-01', '2999-01-01', '20200101', '2020-1-1', '0000-00-00', ''),
  hostileString,
);

const dateTimeLike = fc.oneof(
  fc.date({ min: new Date('0001-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2020-01-01T25:00:00Z', '2020-01-01', 'yesterday', '+275760-09-13T00:00:00.000Z'),
  hostileString,
);

const idLike = () =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ids, ...templateIds) },
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: fc.constantFrom('00000000-0000-0000-0000-000000000000', '1', '-1', '9223372036854775808', 'ffffffff-ffff-ffff-ffff-ffffffffffff') },
    { weight: 1, arbitrary: hostileString },
  );

const intLike = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 1, 2_147_483_647, -2_147_483_648, 2_147_483_648, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e308, 0.5),
  fc.constantFrom('12', 'NaN', null),
);

function scalarArbitrary(type: GraphQLScalarType, name: string): fc.Arbitrary<unknown> {
  switch (type.name) {
    case 'ID':
      return idLike();
    case 'Int':
      return intLike;
    case 'Float':
      return fc.oneof(fc.double(), intLike);
    case 'Boolean':
      return fc.oneof(fc.boolean(), fc.constantFrom('true', 0, null));
    case 'Date':
      return dateLike;
    case 'DateTime':
      return dateTimeLike;
    case 'EmailAddress':
      return fc.oneof(fc.emailAddress(), hostileString);
    case 'PhoneNumber':
      return fc.oneof(fc.constantFrom('+14255550100', '+4930123456', '+1', '+999999999999999999'), hostileString);
    default:
      if (/country/i.test(name)) return fc.oneof(fc.constantFrom('US', 'de', 'GLOBAL', 'XX', 'USA'), hostileString);
      if (/templateId/.test(name)) return fc.oneof(fc.constantFrom(...templateIds), hostileString);
      return hostileString;
  }
}

/** Ids of existing records by the argument's name, so inputs reach past "not found". */
const idsByName: Record<string, string[]> = {};

/** A value the feature should accept, by scalar and field name. */
function plausibleScalar(type: GraphQLScalarType, name: string): fc.Arbitrary<unknown> {
  const word = fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,19}$/);
  const key = name.toLowerCase();
  switch (type.name) {
    case 'ID': {
      const known = idsByName[key] ?? ids;
      return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.uuid() });
    }
    case 'Int':
      return /rank/.test(key) ? fc.integer({ min: 1, max: 20 }) : fc.integer({ min: 1, max: 50 });
    case 'Float':
      return fc.double({ min: 0, max: 1000, noNaN: true });
    case 'Boolean':
      return fc.boolean();
    case 'Date':
      return fc.date({ min: new Date('2019-04-01'), max: new Date('2024-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    case 'DateTime':
      return fc.date({ min: new Date('2018-01-01'), max: new Date('2025-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
    case 'EmailAddress':
      return fc.constantFrom('ada@example.com', 'grace.hopper@contoso.example');
    case 'PhoneNumber':
      return fc.constantFrom('+14255550100', '+442079460000');
    default:
      if (key === 'country') return fc.constantFrom('US', 'DE', 'GLOBAL');
      if (key === 'language') return fc.constantFrom('en-US', 'de-DE');
      if (key === 'domain') return word.map((w) => `${w.replace(/[^A-Za-z0-9]/g, '') || 'x'}${Math.random().toString(36).slice(2, 8)}.example.com`);
      if (/uri|url/.test(key)) return fc.constant('https://example.com/agreement.pdf');
      if (key === 'templateid') return fc.constantFrom(...templateIds);
      if (/tenantid|idempotencykey/.test(key)) return fc.uuid();
      return word;
  }
}

/** Any value for a type: mostly ones a feature accepts, each field now and then hostile. */
function valueFor(type: GraphQLInputType, name: string, depth = 0): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 7, arbitrary: plausibleFor(type, name, depth) }, { weight: 1, arbitrary: hostileFor(type, name, depth) });
}

function plausibleFor(type: GraphQLInputType, name: string, depth: number): fc.Arbitrary<unknown> {
  if (type instanceof GraphQLNonNull) return plausibleFor(type.ofType, name, depth);
  if (type instanceof GraphQLList) return fc.array(valueFor(type.ofType, name, depth + 1), { maxLength: 3 });
  if (type instanceof GraphQLEnumType) return fc.constantFrom(...type.getValues().map((v) => v.name));
  if (type instanceof GraphQLInputObjectType) {
    if (depth > 4) return fc.constant({});
    const fields = Object.values(type.getFields());
    return fc.record(Object.fromEntries(fields.map((f) => [f.name, valueFor(f.type, f.name, depth + 1)])), {
      requiredKeys: fields.filter((f) => f.type instanceof GraphQLNonNull).map((f) => f.name),
    });
  }
  return plausibleScalar(type as GraphQLScalarType, name);
}

/** An arbitrary value for a type, valid or not, built from the schema. */
function hostileFor(type: GraphQLInputType, name: string, depth: number): fc.Arbitrary<unknown> {
  if (type instanceof GraphQLNonNull) return fc.oneof({ weight: 9, arbitrary: hostileFor(type.ofType, name, depth) }, { weight: 1, arbitrary: fc.constant(null) });
  const value = (() => {
    if (type instanceof GraphQLList) return fc.array(hostileFor(type.ofType, name, depth + 1), { maxLength: 3 });
    if (type instanceof GraphQLEnumType) return fc.oneof(fc.constantFrom(...type.getValues().map((v) => v.name)), hostileString);
    if (type instanceof GraphQLInputObjectType) {
      if (depth > 4) return fc.constant({});
      const fields = Object.values(type.getFields());
      return fc.record(Object.fromEntries(fields.map((f) => [f.name, hostileFor(f.type, f.name, depth + 1)])), { requiredKeys: [] });
    }
    return scalarArbitrary(type as GraphQLScalarType, name);
  })();
  return fc.oneof({ weight: 9, arbitrary: value }, { weight: 1, arbitrary: fc.constant(null) });
}

function operationFor(field: GraphQLField<unknown, unknown>): string {
  const vars = field.args.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
  const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isObjectType(getNamedType(field.type)) ? ' { __typename }' : '';
  return `mutation Fuzz${vars ? `(${vars})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection} }`;
}

/**
 * Tables derived from the others (src/kernel/derived.ts): the scheduler may rebuild them in the
 * background at any moment (their striped counters then fold into fewer rows). A refusal must
 * leave every base table as it was; the derived tables follow the base tables.
 */
const DERIVED_TABLES = ['derived_epochs', 'customer_compliance', 'customer_compliance_counts', 'blocked_reason_counts', 'blocked_order_counts', 'renewal_facts', 'renewal_fact_sets', 'renewal_fact_counts'];

async function rowCounts(): Promise<Record<string, number>> {
  const conn = gw.orm.em.getConnection();
  const tables = (
    await conn.execute<{ name: string }[]>(
      `select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'mikro_orm_migrations' order by 1`,
    )
  ).filter((t) => !DERIVED_TABLES.includes(t.name));
  const sql = tables.map((t) => `select '${t.name}' as name, count(*)::int as n from "${t.name}"`).join(' union all ');
  const rows = await conn.execute<{ name: string; n: number }[]>(sql);
  return Object.fromEntries(rows.map((r) => [r.name, r.n]));
}

const ALLOWED = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT', 'CONFLICT', 'NOT_APPLICABLE', 'RATE_LIMITED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'QUERY_TOO_COMPLEX']);

/** Mutation names from the committed schema (kept in step with the code by test/schema), one test each. */
const MUTATIONS = Object.keys(buildSchema(readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8')).getMutationType()?.getFields() ?? {});

describe('fuzzed mutation inputs: data or coded errors, never a 500, and a refusal writes nothing', () => {
  it('covers the mutations', () => {
    expect(MUTATIONS.length).toBeGreaterThan(5);
  });

  it.each(MUTATIONS)('%s', async (name) => {
    const field = (await gatewaySchema()).getMutationType()!.getFields()[name];
    expect(field).toBeDefined();
    const query = operationFor(field);
    const variables = fc.record(Object.fromEntries(field.args.map((a) => [a.name, valueFor(a.type, a.name)])), { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(variables, fc.constantFrom(...tokens), async (vars, token) => {
        const before = await rowCounts();
        const res = await gw.gql(query, vars, token);
        const codes = (res.errors ?? []).map((e) => e.extensions?.code);
        const context = { status: res.status, errors: res.errors?.map((e) => `${e.extensions?.code}: ${e.message}`.slice(0, 300)) };
        expect({ ...context, serverError: res.status >= 500 }).toEqual({ ...context, serverError: false });
        for (const code of codes) expect({ ...context, code, allowed: ALLOWED.has(code as string) }).toEqual({ ...context, code, allowed: true });
        if (res.errors?.length) expect({ ...context, counts: await rowCounts() }).toEqual({ ...context, counts: before });
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  });
});
