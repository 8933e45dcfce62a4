import { readFileSync } from 'node:fs';
import { getIntrospectionQuery } from 'graphql';
import { join } from 'node:path';
import { aBlockedOrder, aCustomer, anAcceptance, anAgreement, aPartner, aPartnerToken, aSubscription } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { Role } from '../../src/auth/roles';
import type { Customer } from '../../src/customers/customer.entity';
import type { Partner } from '../../src/partners/partner.entity';

/**
 * HTTP operations run compiled by graphql-jit (GRAPHQL_JIT, on by default). The rest of
 * the suite runs through it; here two gateways on one database, one compiled and one on
 * graphql-js's execute, must answer every query of the contract byte for byte alike, for
 * each kind of caller, and their errors alike too.
 */
let jit: TestGateway;
let plain: TestGateway;
let partner: Partner;
let other: Partner;
let customer: Customer;
let tokens: Record<string, string>;

const contract = (file: string) => readFileSync(join(__dirname, '../../operations', file), 'utf8');

async function both(query: string, variables: Record<string, unknown>, token: string, operationName?: string) {
  const post = (gw: TestGateway) =>
    fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables, operationName }),
    }).then(async (res) => ({ status: res.status, text: await res.text() }));
  const [compiled, interpreted] = await Promise.all([post(jit), post(plain)]);
  // Request ids differ by design, and so do the async frames of development stack traces; nothing else may.
  const same = (t: string) => JSON.stringify(JSON.parse(t), (k, v) => (k === 'stacktrace' ? undefined : k === 'requestId' ? '…' : v));
  return { compiled: { ...compiled, text: same(compiled.text) }, interpreted: { ...interpreted, text: same(interpreted.text) } };
}

beforeAll(async () => {
  jit = await startGateway({ graphqlJit: true });
  plain = await startGateway({ graphqlJit: false }, jit.databaseUrl);
  partner = await aPartner(jit, { name: 'Contoso Partner' });
  other = await aPartner(jit, { name: 'Fabrikam Partner' });
  const current = await anAgreement(jit, { versionRank: 2, effectiveFrom: '2024-01-01' });
  const older = await anAgreement(jit, { versionRank: 1 });
  customer = await aCustomer(jit, { companyName: 'Alpine "Ski" House', partners: [{ partner }, { partner: other }] });
  const second = await aCustomer(jit, { companyName: 'Blue Yonder', country: 'DE', partners: [{ partner }] });
  await aCustomer(jit, { companyName: 'Coho Winery', partners: [{ partner: other }] });
  await anAcceptance(jit, { customer, partner, template: current });
  await anAcceptance(jit, { customer: second, partner, template: older });
  await aSubscription(jit, { customer, partner, renewsOn: '2026-12-20' });
  await aSubscription(jit, { customer: second, partner, renewsOn: '2026-12-10' });
  await aBlockedOrder(jit, { customer: second, partner });
  tokens = {
    admin: await platformAdminToken(),
    analyst: await analystToken(),
    agent: await aPartnerToken(partner, Role.AGENT),
    foreign: await aPartnerToken(other, Role.VIEWER),
  };
});

afterAll(async () => {
  await plain?.stop();
  await jit?.stop();
});

describe('graphql-jit answers as graphql-js does', () => {
  const queries: [file: string, operation: string, variables: () => Record<string, unknown>][] = [
    ['partners.graphql', 'Viewer', () => ({})],
    ['partners.graphql', 'Partners', () => ({ first: 10 })],
    ['partners.graphql', 'Partner', () => ({ id: partner.id })],
    ['customers.graphql', 'Customers', () => ({ first: 2 })],
    ['customers.graphql', 'Customers', () => ({ first: 50, filter: { complianceStatus: 'OUTDATED' } })],
    ['customers.graphql', 'Customer', () => ({ id: customer.id, partnerId: partner.id })],
    ['agreements.graphql', 'Agreements', () => ({})],
    ['agreements.graphql', 'CurrentAgreement', () => ({ type: 'MICROSOFT_CLOUD_AGREEMENT', country: 'DE' })],
    ['alerts.graphql', 'BlockedOrderAlerts', () => ({ first: 10 })],
    ['alerts.graphql', 'ComplianceSummary', () => ({})],
    ['acceptance.graphql', 'AcceptanceSubmissions', () => ({ first: 10 })],
    ['transactions.graphql', 'Orders', () => ({ first: 10 })],
    [
      'transactions.graphql',
      'PreflightTransaction',
      () => ({ input: { customerId: customer.id, partnerId: partner.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: 'k' } }),
    ],
    ['renewals.graphql', 'RenewalRisks', () => ({ partnerId: partner.id, withinDays: 366, first: 10 })],
    ['renewals.graphql', 'AcceptanceAudit', () => ({ customerId: customer.id, partnerId: partner.id })],
    ['partner-center.graphql', 'AcceptanceSync', () => ({ customerId: customer.id, partnerId: partner.id })],
    ['partner-center.graphql', 'SyncBacklog', () => ({ first: 10 })],
  ];

  queries.forEach(([file, operation, variables], i) => {
    it(`${operation} (case ${i + 1}) for every kind of caller`, async () => {
      for (const [caller, token] of Object.entries(tokens)) {
        const { compiled, interpreted } = await both(contract(file), variables(), token, operation);
        expect({ caller, ...compiled }).toEqual({ caller, ...interpreted });
        expect(compiled.status).toBe(200);
        // The platform admin may read everything: a real answer is compared, not two errors.
        if (caller === 'admin') expect(JSON.parse(compiled.text).errors).toBeUndefined();
      }
    });
  });

  it('bad variables, a resolver error, a refused caller and a partial result are answered alike', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      // Coercion of a variable: BAD_USER_INPUT naming the field.
      ['query ($input: TransactionInput!) { preflightTransaction(input: $input) { allowed } }', { input: { customerId: customer.id, partnerId: partner.id, kind: 'NOPE', offerId: 'o', quantity: 1, idempotencyKey: 'k' } }, tokens.agent],
      ['query ($first: Int) { customers(first: $first) { totalCount } }', { first: 'many' }, tokens.admin],
      // A coded error thrown in a resolver.
      ['query ($first: Int) { customers(first: $first) { totalCount } }', { first: 1000 }, tokens.admin],
      // FORBIDDEN for a partner user on a platform field, beside a field it may read.
      ['{ viewer { userId } partners { totalCount } syncBacklog(first: 1) { totalCount } }', {}, tokens.foreign],
      // A subscription sent over HTTP instead of graphql-ws.
      ['subscription { blockedOrderAlerts { id cursor } }', {}, tokens.admin],
      // NOT_FOUND on another tenant's id in an input.
      ['query ($input: TransactionInput!) { preflightTransaction(input: $input) { allowed } }', { input: { customerId: customer.id, partnerId: partner.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: 'k' } }, tokens.foreign],
    ];
    for (const [query, variables, token] of cases) {
      const { compiled, interpreted } = await both(query, variables, token);
      expect(compiled).toEqual(interpreted);
      expect(JSON.parse(compiled.text).errors?.length).toBeGreaterThan(0);
    }
  });

  it('introspection (GraphiQL and codegen ask it over HTTP) is answered alike', async () => {
    const { compiled, interpreted } = await both(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }), {}, tokens.analyst);
    expect(compiled).toEqual(interpreted);
    expect(JSON.parse(compiled.text).data.__schema.queryType.name).toBe('Query');
  });

  it('an unexpected failure is masked the same way, with the request id', async () => {
    const conn = jit.orm.em.getConnection();
    await conn.execute('alter table agreement_templates rename to agreement_templates_hidden');
    try {
      const { compiled, interpreted } = await both('{ agreements { templateId } }', {}, tokens.admin);
      expect(compiled).toEqual(interpreted);
      expect(JSON.parse(compiled.text).errors[0].extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: '…' });
    } finally {
      await conn.execute('alter table agreement_templates_hidden rename to agreement_templates');
    }
  });
});
