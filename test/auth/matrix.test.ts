import { aBlockedOrder, aCustomer, anAcceptance, anAgreement, aLink, aPartner, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { gatewaySchema } from '../../src/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import { Acceptance, AcceptanceSubmission } from '../../src/acceptance/acceptance.entity';
import { Customer } from '../../src/customers/customer.entity';
import { Partner, User } from '../../src/partners/partner.entity';
import { AgreementTemplate } from '../../src/agreements/agreement.entity';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * The authorization matrix, probed from outside: every root field, every role, and a
 * foreign partner's user aiming at this partner's ids. Each cell gets a fresh world,
 * so a mutation in one cell cannot change another's answer.
 *
 * Outcomes: `ok` (data), `null` (answered as missing), or an error code.
 */
type Caller = 'admin' | 'analyst' | 'ADMIN' | 'AGENT' | 'VIEWER' | 'foreign';
const CALLERS: Caller[] = ['admin', 'analyst', 'ADMIN', 'AGENT', 'VIEWER', 'foreign'];

interface World {
  partner: Partner; // a direct-bill partner: the "own" tenant of ADMIN/AGENT/VIEWER
  foreign: Partner;
  provider: Partner;
  reseller: Partner;
  customer: Customer;
  indirectCustomer: Customer;
  template: AgreementTemplate;
  acceptance: Acceptance;
  submissionId: string;
  alertId: string;
}

let gw: TestGateway;
let tokens: Record<Caller, string>;
let counter = 0;

async function aWorld(): Promise<World> {
  const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  const foreign = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  const provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  const template = await anAgreement(gw, { versionRank: 1, effectiveFrom: '2018-11-07' });
  const customer = await aCustomer(gw, { partners: [{ partner }] });
  const indirectCustomer = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
  const acceptance = await anAcceptance(gw, { customer, partner, template });
  const alertId = await aBlockedOrder(gw, { customer, partner });
  const em = gw.orm.em.fork() as EntityManager;
  const submitter = em.create(User, { id: `submitter-${++counter}-${reseller.id}`, displayName: 'Submitter', partner: em.getReference(Partner, reseller.id), roles: [Role.AGENT] });
  const submission = em.create(AcceptanceSubmission, {
    customer: em.getReference(Customer, indirectCustomer.id),
    provider: em.getReference(Partner, provider.id),
    reseller: em.getReference(Partner, reseller.id),
    template: em.getReference(AgreementTemplate, template.templateId as never) as AgreementTemplate,
    dateAgreed: '2024-01-10',
    contact: { firstName: 'Sue', lastName: 'Mitter', email: 'sue@example.com', phoneNumber: null },
    submittedBy: submitter,
  });
  await em.flush();
  return { partner, foreign, provider, reseller, customer, indirectCustomer, template, acceptance, submissionId: submission.id, alertId };
}

async function tokensFor(w: World): Promise<Record<Caller, string>> {
  return {
    admin: await platformAdminToken(),
    analyst: await analystToken(),
    ADMIN: await aPartnerToken(w.partner, Role.ADMIN),
    AGENT: await aPartnerToken(w.partner, Role.AGENT),
    VIEWER: await aPartnerToken(w.partner, Role.VIEWER),
    foreign: await aPartnerToken(w.foreign, Role.ADMIN),
  };
}

const contact = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' };

interface Case {
  field: string;
  query: string;
  variables: (w: World, caller: Caller) => Record<string, unknown>;
  expected: Record<Caller, string>;
}

/** Platform callers have no partner: where a partner is needed they name the world's. */
const own = (w: World, caller: Caller) => (caller === 'admin' || caller === 'analyst' || caller === 'foreign' ? w.partner.id : undefined);

const CASES: Case[] = [
  { field: 'viewer', query: '{ viewer { userId } }', variables: () => ({}), expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'ok' } },
  { field: 'partners', query: '{ partners { totalCount } }', variables: () => ({}), expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'ok' } },
  { field: 'partner', query: 'query ($id: ID!) { partner(id: $id) { id } }', variables: (w) => ({ id: w.partner.id }), expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'null' } },
  {
    field: 'registerPartner',
    query: 'mutation ($input: RegisterPartnerInput!) { registerPartner(input: $input) { partner { id } } }',
    variables: () => ({ input: { name: 'New', tenantId: `matrix-${++counter}`, type: 'DIRECT_BILL' } }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'FORBIDDEN', AGENT: 'FORBIDDEN', VIEWER: 'FORBIDDEN', foreign: 'FORBIDDEN' },
  },
  {
    field: 'linkResellerToProvider',
    query: 'mutation ($input: LinkResellerInput!) { linkResellerToProvider(input: $input) { reseller { id } } }',
    variables: (w) => ({ input: { resellerId: w.reseller.id, providerId: w.provider.id } }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'NOT_FOUND', AGENT: 'FORBIDDEN', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  { field: 'customers', query: '{ customers { totalCount } }', variables: () => ({}), expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'ok' } },
  { field: 'customer', query: 'query ($id: ID!) { customer(id: $id) { id } }', variables: (w) => ({ id: w.customer.id }), expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'null' } },
  {
    field: 'createCustomer',
    query: 'mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }',
    variables: (w, caller) => ({ input: { companyName: 'Matrix Co', domain: 'matrix.example', country: 'US', primaryContact: contact, partnerId: own(w, caller) } }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  {
    field: 'addCustomerRelationship',
    query: 'mutation ($input: AddCustomerRelationshipInput!) { addCustomerRelationship(input: $input) { customer { id } } }',
    variables: (w) => ({ input: { customerId: w.indirectCustomer.id, partnerId: w.provider.id, resellerId: w.reseller.id } }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'NOT_FOUND', AGENT: 'NOT_FOUND', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  { field: 'agreements', query: '{ agreements { templateId } }', variables: () => ({}), expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'ok' } },
  {
    field: 'currentAgreement',
    query: '{ currentAgreement(type: MICROSOFT_CLOUD_AGREEMENT, country: "US") { templateId } }',
    variables: () => ({}),
    expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'ok' },
  },
  {
    field: 'publishAgreement',
    query: 'mutation ($input: PublishAgreementInput!) { publishAgreement(input: $input) { agreement { templateId } } }',
    variables: () => ({ input: { type: 'MICROSOFT_CLOUD_AGREEMENT', version: 'v9', versionRank: 9 + ++counter, country: 'GLOBAL', language: 'en-US', displayUri: 'https://example.com/a.pdf', effectiveFrom: '2020-01-01' } }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'FORBIDDEN', AGENT: 'FORBIDDEN', VIEWER: 'FORBIDDEN', foreign: 'FORBIDDEN' },
  },
  {
    field: 'confirmCustomerAcceptance',
    query: 'mutation ($input: ConfirmCustomerAcceptanceInput!) { confirmCustomerAcceptance(input: $input) { acceptance { id } } }',
    variables: (w, caller) => ({ input: { customerId: w.customer.id, partnerId: own(w, caller), templateId: w.template.templateId, dateAgreed: '2024-01-10', contact } }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  {
    field: 'correctAcceptanceContact',
    query: 'mutation ($input: CorrectAcceptanceContactInput!) { correctAcceptanceContact(input: $input) { acceptance { id } } }',
    variables: (w) => ({ input: { acceptanceId: w.acceptance.id, contact: { ...contact, firstName: 'Augusta' } } }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  {
    field: 'withdrawCustomerAcceptance',
    query: 'mutation ($input: WithdrawCustomerAcceptanceInput!) { withdrawCustomerAcceptance(input: $input) { acceptance { id } } }',
    variables: (w, caller) => ({ input: { customerId: w.customer.id, partnerId: own(w, caller), reason: 'customer asked' } }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  {
    field: 'submitAcceptanceToProvider',
    query: 'mutation ($input: SubmitAcceptanceInput!) { submitAcceptanceToProvider(input: $input) { submission { id } } }',
    variables: (w) => ({ input: { customerId: w.indirectCustomer.id, providerId: w.provider.id, templateId: w.template.templateId, dateAgreed: '2024-01-10', contact } }),
    // Only a reseller submits: a direct-bill partner is refused whatever ids it sends.
    expected: { admin: 'FORBIDDEN', analyst: 'FORBIDDEN', ADMIN: 'FORBIDDEN', AGENT: 'FORBIDDEN', VIEWER: 'FORBIDDEN', foreign: 'FORBIDDEN' },
  },
  {
    field: 'reviewAcceptanceSubmission',
    query: 'mutation ($input: ReviewAcceptanceSubmissionInput!) { reviewAcceptanceSubmission(input: $input) { submission { id } } }',
    variables: (w) => ({ input: { submissionId: w.submissionId, decision: 'REJECT', note: 'no' } }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'NOT_FOUND', AGENT: 'NOT_FOUND', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  { field: 'acceptanceSubmissions', query: '{ acceptanceSubmissions { totalCount } }', variables: () => ({}), expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'ok' } },
  {
    field: 'attemptTransaction',
    query: 'mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { id } } }',
    variables: (w, caller) => ({ input: { customerId: w.customer.id, partnerId: own(w, caller), kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: `k-${++counter}` } }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  {
    field: 'preflightTransaction',
    query: 'query ($input: TransactionInput!) { preflightTransaction(input: $input) { allowed } }',
    variables: (w, caller) => ({ input: { customerId: w.customer.id, partnerId: own(w, caller), kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: 'pre' } }),
    expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'NOT_FOUND' },
  },
  { field: 'orders', query: '{ orders { totalCount } }', variables: () => ({}), expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'ok' } },
  { field: 'blockedOrderAlerts', query: '{ blockedOrderAlerts { totalCount } }', variables: () => ({}), expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'ok' } },
  {
    field: 'acknowledgeAlert',
    query: 'mutation ($id: ID!) { acknowledgeAlert(id: $id) { alert { id } } }',
    variables: (w) => ({ id: w.alertId }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  {
    field: 'complianceSummary',
    query: 'query ($partnerId: ID) { complianceSummary(partnerId: $partnerId) { customers } }',
    variables: (w) => ({ partnerId: w.partner.id }),
    expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'NOT_FOUND' },
  },
  {
    field: 'renewalRisks',
    query: 'query ($partnerId: ID) { renewalRisks(partnerId: $partnerId) { totalCount } }',
    variables: (w) => ({ partnerId: w.partner.id }),
    expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'NOT_FOUND' },
  },
  {
    field: 'scanRenewalRisks',
    query: 'mutation { scanRenewalRisks { raised } }',
    variables: () => ({}),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'FORBIDDEN', AGENT: 'FORBIDDEN', VIEWER: 'FORBIDDEN', foreign: 'FORBIDDEN' },
  },
];

function outcome(res: { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] }, field: string): string {
  if (res.errors?.length) return res.errors[0].extensions?.code ?? 'ERROR';
  return res.data?.[field] === null ? 'null' : 'ok';
}

beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.stop());

describe('authorization matrix', () => {
  it.each(CASES.map((c) => [c.field, c] as const))('%s: every role, and a foreign partner aiming at this partner’s ids', async (_name, c) => {
    const actual: Record<string, string> = {};
    for (const caller of CALLERS) {
      const world = await aWorld();
      tokens = await tokensFor(world);
      actual[caller] = outcome(await gw.gql(c.query, c.variables(world, caller), tokens[caller]), c.field);
    }
    expect(actual).toEqual(c.expected);
  });

  it('without a token every root field is UNAUTHENTICATED', async () => {
    const world = await aWorld();
    const codes = new Set<string>();
    for (const c of CASES) codes.add(outcome(await gw.gql(c.query, c.variables(world, 'admin')), c.field));
    expect([...codes]).toEqual(['UNAUTHENTICATED']);
  });

  it('covers every query and mutation of the schema', async () => {
    const schema = await gatewaySchema();
    const roots = [schema.getQueryType(), schema.getMutationType()].flatMap((t) => (t ? Object.keys(t.getFields()) : []));
    const covered = new Set(CASES.map((c) => c.field).concat(EXTRA_COVERAGE));
    expect(roots.filter((f) => !covered.has(f))).toEqual([]);
  });
});

/** Root fields whose matrix lives with their feature's tests (listed there by role). */
const EXTRA_COVERAGE: string[] = [
  // test/partner-center/authorization.test.ts (they need the fake Partner Center).
  'partnerCenterConnection',
  'acceptanceSyncs',
  'importAgreementTemplates',
  'retryAcceptanceSync',
  'connectPartnerCenter',
  'disconnectPartnerCenter',
];
