import { aBlockedOrder, aCustomer, anAcceptance, anAgreement, aLink, aPartner, aPartnerToken, aSubscription } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { gatewaySchema } from '../../src/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import { Acceptance, AcceptanceSubmission } from '../../src/acceptance/acceptance.entity';
import { Customer } from '../../src/customers/customer.entity';
import { Partner, User } from '../../src/partners/partner.entity';
import { AgreementTemplate } from '../../src/agreements/agreement.entity';
import type { EntityManager } from '@mikro-orm/postgresql';
import { getNamedType, isInputObjectType, type GraphQLObjectType } from 'graphql';
import { aUser } from '../factories';
import { queryRows } from '../../src/db/query';
import { AgreementType } from '../../src/agreements/agreement.enums';

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
  /** An open attestation of the partner, for another customer of its (attestationCustomer). */
  attestationId: string;
  /** A subscription of `customer` billed by `partner` (setAutoRenew). */
  subscriptionId: string;
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
  const attestationId = await anAttestationOf(partner);
  const subscription = await aSubscription(gw, { customer, partner });
  return { partner, foreign, provider, reseller, customer, indirectCustomer, template, acceptance, submissionId: submission.id, alertId, attestationId, subscriptionId: subscription.id };
}

/**
 * Attestations (src/attestations): the partner is connected to Partner Center, a Customer
 * Agreement template is current, and an open attestation waits for another of its customers.
 */
async function anAttestationOf(partner: Partner): Promise<string> {
  const em = gw.orm.em.fork() as EntityManager;
  await queryRows(em, `insert into partner_center_connections (partner_id, client_id, client_secret_enc, refresh_token_enc, connected_at) values (?, 'c', 'x', 'x', now())`, [partner.id]);
  await anAgreement(gw, { type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, versionRank: 1, effectiveFrom: '2018-11-07' });
  const other = await aCustomer(gw, { partners: [{ partner }] });
  const [row] = await queryRows<{ id: string }>(
    em,
    `insert into attestations (id, customer_id, partner_id, requested_by_id, status, link_lifetime_minutes, company_name, country, language,
                               signatory_first_name, signatory_last_name, signatory_email, create_request_id, created_at, updated_at)
     values (gen_random_uuid(), ?, ?, ?, 'LINK_ISSUED', 60, 'Co', 'US', 'en-US', 'Ada', 'Lovelace', 'ada@example.com', gen_random_uuid(), now(), now())
     returning id`,
    [other.id, partner.id, (await aUser(gw, { partner })).id],
  );
  return row.id;
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
  // Issue 20: the evidence of the acceptance and the trail's verification, read with the customer (analysts masked: test/evidence).
  {
    field: 'customer',
    query: `query ($id: ID!, $p: ID) { customer(id: $id) { id acceptance(partnerId: $p) { evidence { source recordedBy { id } signatory { email } document { templateId sha256 } upstream { outcome } } }
      auditVerification(partnerId: $p) { valid events headHash } } }`,
    variables: (w) => ({ id: w.customer.id, p: w.partner.id }),
    expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'null' },
  },
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
  { field: 'acceptancePolicy', query: '{ acceptancePolicy { id } }', variables: () => ({}), expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'ok' } },
  {
    field: 'addAcceptancePolicyRule',
    query: 'mutation ($input: AcceptancePolicyRuleInput!) { addAcceptancePolicyRule(input: $input) { rule { id } } }',
    variables: () => ({ input: { effectiveFrom: '2099-01-01', acceptedTypes: ['MICROSOFT_CUSTOMER_AGREEMENT'], description: `matrix ${++counter}` } }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'FORBIDDEN', AGENT: 'FORBIDDEN', VIEWER: 'FORBIDDEN', foreign: 'FORBIDDEN' },
  },
  {
    field: 'recordDirectAcceptance',
    query: 'mutation ($input: DirectAcceptanceInput!) { recordDirectAcceptance(input: $input) { customer { id } } }',
    variables: (w) => ({ input: { customerId: w.customer.id, acceptedOn: '2024-01-10' } }),
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
    field: 'requestAttestation',
    query: 'mutation ($input: RequestAttestationInput!) { requestAttestation(input: $input) { attestation { id } } }',
    variables: (w, caller) => ({ input: { customerId: w.customer.id, partnerId: own(w, caller), signatory: contact, language: 'en-US' } }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  {
    field: 'cancelAttestation',
    query: 'mutation ($id: ID!) { cancelAttestation(id: $id) { attestation { id } } }',
    variables: (w) => ({ id: w.attestationId }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  {
    field: 'attestation',
    query: 'query ($id: ID!) { attestation(id: $id) { id } }',
    variables: (w) => ({ id: w.attestationId }),
    expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'null' },
  },
  { field: 'attestations', query: '{ attestations { totalCount } }', variables: () => ({}), expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'ok' } },
  {
    field: 'acceptanceDrift',
    query: 'query ($partnerId: ID) { acceptanceDrift(partnerId: $partnerId) { totalCount } }',
    variables: (w) => ({ partnerId: w.partner.id }),
    expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'NOT_FOUND' },
  },
  {
    field: 'endingSubscriptions',
    query: 'query ($partnerId: ID) { endingSubscriptions(partnerId: $partnerId) { id } }',
    variables: (w) => ({ partnerId: w.partner.id }),
    expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'NOT_FOUND' },
  },
  {
    // The world's partner is connected (attestations need it) but this gateway has no CREDENTIALS_KEY: whoever may
    // reconcile it gets past authorization and is told the credentials cannot be read (test/reconciliation has the working cases).
    field: 'reconcilePartnerCenter',
    query: 'mutation ($partnerId: ID) { reconcilePartnerCenter(partnerId: $partnerId) { checked } }',
    variables: (w) => ({ partnerId: w.partner.id }),
    expected: { admin: 'NOT_APPLICABLE', analyst: 'FORBIDDEN', ADMIN: 'NOT_APPLICABLE', AGENT: 'FORBIDDEN', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  {
    field: 'setAutoRenew',
    query: 'mutation ($id: ID!) { setAutoRenew(subscriptionId: $id, autoRenew: false) { subscription { id status } } }',
    variables: (w) => ({ id: w.subscriptionId }),
    // The billing partner's ADMIN or AGENT (and platform admins); another tenant's subscription looks missing.
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
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

/**
 * Every argument that names a partner, probed by each partner user with another
 * tenant's partner: the answer must be exactly the one an unknown partner id gets, so
 * naming another tenant learns nothing. The world's `shared` customer is served by
 * the partner, the foreign partner and the provider (through the reseller), each
 * with a confirmed acceptance and a blocked order, so a leak would show.
 */
type PartnerCaller = 'ADMIN' | 'AGENT' | 'VIEWER' | 'foreign' | 'provider' | 'reseller';
const PARTNER_CALLERS: PartnerCaller[] = ['ADMIN', 'AGENT', 'VIEWER', 'foreign', 'provider', 'reseller'];
const UNKNOWN_PARTNER = '7b0c6c5e-1d2f-4c3b-9a8e-5f6d7c8b9a0e';

interface SharedWorld extends World {
  shared: Customer;
}

async function aSharedWorld(): Promise<SharedWorld> {
  const w = await aWorld();
  const shared = await aCustomer(gw, { partners: [{ partner: w.partner }, { partner: w.foreign }, { partner: w.provider, resellers: [w.reseller] }] });
  for (const partner of [w.partner, w.foreign, w.provider]) {
    await anAcceptance(gw, { customer: shared, partner, template: w.template });
    await aBlockedOrder(gw, { customer: shared, partner, ...(partner === w.provider ? { reseller: w.reseller } : {}) });
  }
  return { ...w, shared };
}

async function partnerCallerTokens(w: World): Promise<Record<PartnerCaller, string>> {
  return {
    ADMIN: await aPartnerToken(w.partner, Role.ADMIN),
    AGENT: await aPartnerToken(w.partner, Role.AGENT),
    VIEWER: await aPartnerToken(w.partner, Role.VIEWER),
    foreign: await aPartnerToken(w.foreign, Role.ADMIN),
    provider: await aPartnerToken(w.provider, Role.ADMIN),
    reseller: await aPartnerToken(w.reseller, Role.AGENT),
  };
}

/** The other tenant each caller names: the foreign partner, or (for the foreign partner's user) the world's partner. */
const otherTenant = (w: World, caller: PartnerCaller) => (caller === 'foreign' ? w.partner.id : w.foreign.id);

interface ArgumentCase {
  argument: string;
  query: string;
  variables: (w: SharedWorld, partnerId: string) => Record<string, unknown>;
}

const customerField = (field: string, selection = '') => ({
  argument: `Customer.${field}(partnerId)`,
  query: `query ($id: ID!, $partnerId: ID) { customer(id: $id) { ${field}(partnerId: $partnerId) ${selection} } }`,
  variables: (w: SharedWorld, partnerId: string) => ({ id: w.shared.id, partnerId }),
});

const transaction = (w: SharedWorld, names: Record<string, string>) => ({
  input: { customerId: w.shared.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: `arg-${++counter}`, ...names },
});

const ARGUMENT_CASES: ArgumentCase[] = [
  customerField('complianceStatus'),
  customerField('acceptance', '{ id }'),
  customerField('acceptanceHistory', '{ id }'),
  customerField('auditTrail', '{ event }'),
  customerField('auditVerification', '{ valid events headHash }'),
  { ...customerField('acceptance', '{ id evidence { source upstream { outcome } } }'), argument: 'Customer.acceptance(partnerId) with its evidence' },
  { argument: 'partner(id)', query: 'query ($id: ID!) { partner(id: $id) { id } }', variables: (_w, id) => ({ id }) },
  { argument: 'customers(filter.partnerId)', query: 'query ($f: CustomerFilter) { customers(filter: $f) { totalCount } }', variables: (_w, partnerId) => ({ f: { partnerId } }) },
  {
    argument: 'customers(filter.partnerId, complianceStatus)',
    query: 'query ($f: CustomerFilter) { customers(filter: $f) { totalCount } }',
    variables: (_w, partnerId) => ({ f: { partnerId, complianceStatus: 'CONFIRMED' } }),
  },
  { argument: 'orders(filter.partnerId)', query: 'query ($f: OrderFilter) { orders(filter: $f) { totalCount } }', variables: (_w, partnerId) => ({ f: { partnerId } }) },
  {
    argument: 'blockedOrderAlerts(filter.partnerId)',
    query: 'query ($f: AlertFilter) { blockedOrderAlerts(filter: $f) { totalCount } }',
    variables: (_w, partnerId) => ({ f: { partnerId } }),
  },
  { argument: 'complianceSummary(partnerId)', query: 'query ($p: ID) { complianceSummary(partnerId: $p) { customers } }', variables: (_w, p) => ({ p }) },
  { argument: 'renewalRisks(partnerId)', query: 'query ($p: ID) { renewalRisks(partnerId: $p) { totalCount } }', variables: (_w, p) => ({ p }) },
  { argument: 'endingSubscriptions(partnerId)', query: 'query ($p: ID) { endingSubscriptions(partnerId: $p) { id } }', variables: (_w, p) => ({ p }) },
  { argument: 'acceptanceSyncs(partnerId)', query: 'query ($p: ID) { acceptanceSyncs(partnerId: $p) { totalCount } }', variables: (_w, p) => ({ p }) },
  { argument: 'partnerCenterConnection(partnerId)', query: 'query ($p: ID) { partnerCenterConnection(partnerId: $p) { status } }', variables: (_w, p) => ({ p }) },
  {
    argument: 'preflightTransaction(input.partnerId)',
    query: 'query ($input: TransactionInput!) { preflightTransaction(input: $input) { allowed } }',
    variables: (w, partnerId) => transaction(w, { partnerId }),
  },
  {
    argument: 'preflightTransaction(input.resellerId)',
    query: 'query ($input: TransactionInput!) { preflightTransaction(input: $input) { allowed } }',
    variables: (w, resellerId) => transaction(w, { partnerId: w.provider.id, resellerId }),
  },
  {
    argument: 'attemptTransaction(input.partnerId)',
    query: 'mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { id } } }',
    variables: (w, partnerId) => transaction(w, { partnerId }),
  },
  {
    argument: 'attemptTransaction(input.resellerId)',
    query: 'mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { id } } }',
    variables: (w, resellerId) => transaction(w, { partnerId: w.provider.id, resellerId }),
  },
  {
    argument: 'confirmCustomerAcceptance(input.partnerId)',
    query: 'mutation ($input: ConfirmCustomerAcceptanceInput!) { confirmCustomerAcceptance(input: $input) { acceptance { id } } }',
    variables: (w, partnerId) => ({ input: { customerId: w.shared.id, partnerId, templateId: w.template.templateId, dateAgreed: '2024-01-10', contact } }),
  },
  {
    argument: 'withdrawCustomerAcceptance(input.partnerId)',
    query: 'mutation ($input: WithdrawCustomerAcceptanceInput!) { withdrawCustomerAcceptance(input: $input) { acceptance { id } } }',
    variables: (w, partnerId) => ({ input: { customerId: w.shared.id, partnerId, reason: 'customer asked' } }),
  },
  {
    argument: 'createCustomer(input.partnerId)',
    query: 'mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }',
    variables: (_w, partnerId) => ({ input: { companyName: 'Arg Co', domain: 'arg.example', country: 'US', primaryContact: contact, partnerId } }),
  },
  {
    argument: 'createCustomer(input.resellerId)',
    query: 'mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }',
    variables: (w, resellerId) => ({ input: { companyName: 'Arg Co', domain: 'arg.example', country: 'US', primaryContact: contact, partnerId: w.provider.id, resellerId } }),
  },
  {
    argument: 'addCustomerRelationship(input.partnerId)',
    query: 'mutation ($input: AddCustomerRelationshipInput!) { addCustomerRelationship(input: $input) { customer { id } } }',
    variables: (w, partnerId) => ({ input: { customerId: w.shared.id, partnerId } }),
  },
  {
    argument: 'addCustomerRelationship(input.resellerId)',
    query: 'mutation ($input: AddCustomerRelationshipInput!) { addCustomerRelationship(input: $input) { customer { id } } }',
    variables: (w, resellerId) => ({ input: { customerId: w.shared.id, partnerId: w.provider.id, resellerId } }),
  },
  {
    argument: 'submitAcceptanceToProvider(input.providerId)',
    query: 'mutation ($input: SubmitAcceptanceInput!) { submitAcceptanceToProvider(input: $input) { submission { id } } }',
    variables: (w, providerId) => ({ input: { customerId: w.shared.id, providerId, templateId: w.template.templateId, dateAgreed: '2024-01-10', contact } }),
  },
  {
    argument: 'linkResellerToProvider(input.providerId)',
    query: 'mutation ($input: LinkResellerInput!) { linkResellerToProvider(input: $input) { reseller { id } } }',
    variables: (w, providerId) => ({ input: { resellerId: w.reseller.id, providerId } }),
  },
  {
    argument: 'linkResellerToProvider(input.resellerId)',
    query: 'mutation ($input: LinkResellerInput!) { linkResellerToProvider(input: $input) { reseller { id } } }',
    variables: (w, resellerId) => ({ input: { resellerId, providerId: w.provider.id } }),
  },
  {
    argument: 'connectPartnerCenter(input.partnerId)',
    query: 'mutation ($input: ConnectPartnerCenterInput!) { connectPartnerCenter(input: $input) { connection { status } } }',
    variables: (_w, partnerId) => ({ input: { partnerId, clientId: 'c', clientSecret: 's', refreshToken: 'r' } }),
  },
  { argument: 'disconnectPartnerCenter(partnerId)', query: 'mutation ($p: ID) { disconnectPartnerCenter(partnerId: $p) { connection { status } } }', variables: (_w, p) => ({ p }) },
  {
    argument: 'requestAttestation(input.partnerId)',
    query: 'mutation ($input: RequestAttestationInput!) { requestAttestation(input: $input) { attestation { id } } }',
    variables: (w, partnerId) => ({ input: { customerId: w.shared.id, partnerId, signatory: contact, language: 'en-US' } }),
  },
  { argument: 'attestations(partnerId)', query: 'query ($p: ID) { attestations(partnerId: $p) { totalCount } }', variables: (_w, p) => ({ p }) },
  { argument: 'importAgreementTemplates(partnerId)', query: 'mutation ($p: ID!) { importAgreementTemplates(partnerId: $p) { imported } }', variables: (_w, p) => ({ p }) },
  { argument: 'acceptanceDrift(partnerId)', query: 'query ($p: ID) { acceptanceDrift(partnerId: $p) { totalCount } }', variables: (_w, p) => ({ p }) },
  { argument: 'reconcilePartnerCenter(partnerId)', query: 'mutation ($p: ID) { reconcilePartnerCenter(partnerId: $p) { checked } }', variables: (_w, p) => ({ p }) },
];

/** The answer with the named id written as PARTNER, so two ids' answers compare. */
const answerNaming = (res: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] }, id: string) =>
  JSON.stringify({ data: res.data ?? null, errors: res.errors?.map((e) => ({ message: e.message, code: e.extensions?.code })) }).split(id).join('PARTNER');

describe('arguments that name a partner', () => {
  it.each(ARGUMENT_CASES.map((c) => [c.argument, c] as const))('%s: another tenant’s partner answers as an unknown one, for every partner role', async (_name, c) => {
    const world = await aSharedWorld();
    const callers = await partnerCallerTokens(world);
    const differing: Record<string, { named: string; unknown: string }> = {};
    for (const caller of PARTNER_CALLERS) {
      const other = otherTenant(world, caller);
      const named = answerNaming(await gw.gql(c.query, c.variables(world, other), callers[caller]), other);
      const unknown = answerNaming(await gw.gql(c.query, c.variables(world, UNKNOWN_PARTNER), callers[caller]), UNKNOWN_PARTNER);
      if (named !== unknown) differing[caller] = { named, unknown };
    }
    expect(differing).toEqual({});
  });

  it('covers every argument of the schema that names a partner', async () => {
    const schema = await gatewaySchema();
    const names = /^(partnerId|providerId|resellerId)$/;
    const found: string[] = [];
    for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType(), schema.getType('Customer')] as GraphQLObjectType[]) {
      for (const field of Object.values(type.getFields())) {
        for (const arg of field.args) {
          if (names.test(arg.name)) found.push(`${field.name}(${arg.name})`);
          const input = getNamedType(arg.type);
          if (isInputObjectType(input)) for (const f of Object.keys(input.getFields())) if (names.test(f)) found.push(`${field.name}(${arg.name}.${f})`);
        }
        if (field.name === 'partner' && type.name === 'Query') found.push('partner(id)');
      }
    }
    const covered = new Set(ARGUMENT_CASES.map((c) => c.argument.replace(/^Customer\./, '').replace(/, complianceStatus\)$/, ')')));
    expect(found.filter((f) => !covered.has(f) && !ARGUMENTS_ELSEWHERE.includes(f))).toEqual([]);
  });
});

/**
 * Partner arguments probed elsewhere: the subscriptions' (over graphql-ws), whose
 * partnerId narrows the stream and never widens it (test/alerts/alerts.test.ts,
 * test/renewals/alerts.test.ts).
 */
const ARGUMENTS_ELSEWHERE: string[] = [
  'blockedOrderAlerts(partnerId)',
  'renewalRiskAlerts(partnerId)',
  'partnerCenterConnectionAlerts(partnerId)',
  'attestationUpdates(partnerId)' /* test/attestations/follow.test.ts */,
];

/** Root fields whose matrix lives with their feature's tests (listed there by role). */
const EXTRA_COVERAGE: string[] = [
  // test/partner-center/authorization.test.ts (they need the fake Partner Center).
  'partnerCenterConnection',
  'acceptanceSyncs',
  'importAgreementTemplates',
  'retryAcceptanceSync',
  'connectPartnerCenter',
  'disconnectPartnerCenter',
  // test/partner-center/authorization.test.ts, over graphql-ws.
  'partnerCenterConnectionAlerts',
];
