import { randomUUID } from 'node:crypto';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { todayUtc } from '../../src/agreements/current';
import { PartnerType, Role } from '../../src/auth/roles';
import type { PolicyRule } from '../../src/policy/policy.rules';
import { policyRules } from '../../src/policy/policy.queries';
import { aCustomer, anAcceptance, anAgreement, aPartner, aPartnerToken } from '../factories';
import { platformAdminToken, startGateway, type TestGateway, requestStatements } from '../support/gateway';
import { DEFAULT_TIMELINE } from './timeline';

/** The requirement policy through the API, on a database with only the default rules. */

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({}, undefined, { foundingRules: false });
});
afterAll(() => gw?.stop());

/** What decides, without the generated id, the time added and the description. */
const decisive = (r: PolicyRule) => ({
  effectiveFrom: r.effectiveFrom,
  channel: r.channel,
  acceptedTypes: r.acceptedTypes,
  minimumDateAgreed: r.minimumDateAgreed,
  minimumAppliesTo: r.minimumAppliesTo,
  attestationRequired: r.attestationRequired,
});

const POLICY = `{ acceptancePolicy { id effectiveFrom channel acceptedTypes minimumDateAgreed minimumAppliesTo attestationRequired description createdAt } }`;
const ADD = `mutation ($input: AcceptancePolicyRuleInput!) { addAcceptancePolicyRule(input: $input) { rule { id effectiveFrom acceptedTypes minimumAppliesTo attestationRequired description } } }`;
const PREFLIGHT = `query ($input: TransactionInput!) { preflightTransaction(input: $input) {
  allowed blockReasons warnings requiredAgreement { templateId type } policyRule { id effectiveFrom acceptedTypes description } } }`;
const ATTEMPT = `mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { outcome blockReasons warnings } } }`;

const statementsDuring = (work: () => Promise<unknown>) => requestStatements(gw, work);

describe('the requirement policy as data (DESIGN.md section 10)', () => {
  it('the default policy is loaded with the schema: the timeline of section 10, oldest first', async () => {
    const rules = await policyRules(gw.orm.em.fork());
    expect(rules.map(decisive)).toEqual(DEFAULT_TIMELINE.map(decisive));
    expect(rules.every((r) => r.description.length > 0)).toBe(true);
  });

  it('acceptancePolicy lists every rule to any signed-in user', async () => {
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const res = await gw.gql(POLICY, {}, await aPartnerToken(partner, Role.VIEWER));
    expect(res.errors).toBeUndefined();
    expect(res.data.acceptancePolicy.slice(0, 6).map((r: { effectiveFrom: string; channel: string | null }) => [r.effectiveFrom, r.channel])).toEqual(
      DEFAULT_TIMELINE.map((r) => [r.effectiveFrom, r.channel]),
    );
  });

  describe('addAcceptancePolicyRule refuses bad input with BAD_USER_INPUT naming the field', () => {
    const base = { effectiveFrom: '2099-01-01', acceptedTypes: ['MICROSOFT_CUSTOMER_AGREEMENT'], description: 'a later rule' };
    it.each([
      ['no accepted type', { acceptedTypes: [] }, 'acceptedTypes'],
      ['a date in the past', { effectiveFrom: '2020-01-01' }, 'effectiveFrom'],
      ['kinds without a minimum date', { minimumAppliesTo: ['NEW_PURCHASE'] }, 'minimumAppliesTo'],
      ['an empty list of kinds', { minimumDateAgreed: '2023-04-01', minimumAppliesTo: [] }, 'minimumAppliesTo'],
      ['a blank description', { description: '  ' }, 'description'],
    ])('%s', async (_name, over, field) => {
      const before = (await policyRules(gw.orm.em.fork())).length;
      const res = await gw.gql(ADD, { input: { ...base, ...over } }, await platformAdminToken());
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect((await policyRules(gw.orm.em.fork())).length).toBe(before);
    });

    it('an unknown kind', async () => {
      const res = await gw.gql(ADD, { input: { ...base, minimumDateAgreed: '2023-04-01', minimumAppliesTo: ['REFUND'] } }, await platformAdminToken());
      expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    });
  });

  it("today's default rules: a Cloud Agreement alone is AGREEMENT_TYPE_NOT_ACCEPTED, preflight names the rule, the required Customer Agreement, and the stored order agrees", async () => {
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const cloud = await anAgreement(gw, { country: 'SE', type: AgreementType.MICROSOFT_CLOUD_AGREEMENT, effectiveFrom: '2018-01-01' });
    const customerAgreement = await anAgreement(gw, { country: 'SE', type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-10-01' });
    const customer = await aCustomer(gw, { country: 'SE', partners: [{ partner }] });
    await anAcceptance(gw, { customer, partner, template: cloud, dateAgreed: '2019-01-10' });
    const token = await aPartnerToken(partner);
    const input = { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: randomUUID() };
    const pre = await gw.gql(PREFLIGHT, { input }, token);
    expect(pre.errors).toBeUndefined();
    expect(pre.data.preflightTransaction).toMatchObject({
      allowed: false,
      blockReasons: ['AGREEMENT_TYPE_NOT_ACCEPTED'],
      requiredAgreement: { templateId: customerAgreement.templateId, type: 'MICROSOFT_CUSTOMER_AGREEMENT' },
      policyRule: { effectiveFrom: '2026-01-05', acceptedTypes: ['MICROSOFT_CUSTOMER_AGREEMENT'] },
    });
    const stored = await gw.gql(ATTEMPT, { input }, token);
    expect(stored.data.attemptTransaction.order).toMatchObject({ outcome: 'BLOCKED', blockReasons: ['AGREEMENT_TYPE_NOT_ACCEPTED'] });

    // Replaying the founding FAQ's era: the same confirmation satisfies under the 2019 API rule.
    const replay = await gw.gql(PREFLIGHT, { input: { ...input, partnerId: partner.id, requestedAt: '2019-06-01T12:00:00Z' } }, await platformAdminToken());
    expect(replay.data.preflightTransaction).toMatchObject({
      allowed: true, blockReasons: [], warnings: [],
      requiredAgreement: { templateId: cloud.templateId }, policyRule: { effectiveFrom: '2019-03-22' },
    });
  });

  it('a Customer Agreement accepted before 2023-04-01 is REACCEPTANCE_REQUIRED for a new purchase today', async () => {
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const template = await anAgreement(gw, { country: 'NO', type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-10-01' });
    const customer = await aCustomer(gw, { country: 'NO', partners: [{ partner }] });
    await anAcceptance(gw, { customer, partner, template, dateAgreed: '2022-05-01' });
    const token = await aPartnerToken(partner);
    const purchase = await gw.gql(PREFLIGHT, { input: { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: 'p' } }, token);
    expect(purchase.data.preflightTransaction).toMatchObject({ allowed: false, blockReasons: ['REACCEPTANCE_REQUIRED'] });
  });

  it('a stored order names the rule its gate decided by, the same as preflight, in the founding era and today; listing orders reads the rules in one batch', async () => {
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const cloud = await anAgreement(gw, { country: 'DK', type: AgreementType.MICROSOFT_CLOUD_AGREEMENT, effectiveFrom: '2018-01-01' });
    const customer = await aCustomer(gw, { country: 'DK', partners: [{ partner }] });
    await anAcceptance(gw, { customer, partner, template: cloud, dateAgreed: '2019-01-10' });
    const STORED = `mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { id outcome policyRule { id effectiveFrom description } } } }`;
    const eras = [
      { token: await platformAdminToken(), input: { customerId: customer.id, partnerId: partner.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: randomUUID(), requestedAt: '2019-06-01T12:00:00Z' }, effectiveFrom: '2019-03-22', outcome: 'COMPLETED' },
      { token: await aPartnerToken(partner), input: { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: randomUUID() }, effectiveFrom: '2026-01-05', outcome: 'BLOCKED' },
    ];
    const ruleIds: string[] = [];
    for (const era of eras) {
      const pre = await gw.gql(PREFLIGHT, { input: era.input }, era.token);
      expect(pre.errors).toBeUndefined();
      const named = pre.data.preflightTransaction.policyRule;
      expect(named.effectiveFrom).toBe(era.effectiveFrom);
      let stored: any;
      // One statement reads, one writes, the rule included: its answer needs none more.
      expect(await statementsDuring(async () => (stored = await gw.gql(STORED, { input: era.input }, era.token)))).toBe(2);
      expect(stored.errors).toBeUndefined();
      expect(stored.data.attemptTransaction.order).toMatchObject({ outcome: era.outcome, policyRule: { id: named.id, effectiveFrom: era.effectiveFrom, description: named.description } });
      const [row] = await gw.orm.em.getConnection().execute('select policy_rule_id from orders where id = ?', [stored.data.attemptTransaction.order.id]);
      expect(row.policy_rule_id).toBe(named.id);
      ruleIds.push(named.id);
    }

    // Read back: one statement more for every order's rule, not one per order.
    const LIST = (rule: string) => `query ($filter: OrderFilter) { orders(filter: $filter, first: 10) { edges { node { requestedAt ${rule} } } } }`;
    const admin = await platformAdminToken();
    const statementsOf = async (query: string) => {
      let res: any;
      const count = await statementsDuring(async () => (res = await gw.gql(query, { filter: { customerId: customer.id } }, admin)));
      expect(res.errors).toBeUndefined();
      return { count, nodes: res.data.orders.edges.map((e: any) => e.node) };
    };
    await statementsOf(LIST('')); // the viewer is known from here on
    const without = await statementsOf(LIST(''));
    const withRules = await statementsOf(LIST('policyRule { id }'));
    expect(withRules.nodes.map((n: any) => n.policyRule.id)).toEqual(ruleIds);
    expect(withRules.count).toBe(without.count + 1);
  });

  it('an order stored before rules were recorded names none', async () => {
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const customer = await aCustomer(gw, { country: 'DK', partners: [{ partner }] });
    const token = await aPartnerToken(partner);
    const stored = await gw.gql(`mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { id } } }`,
      { input: { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: randomUUID() } }, token);
    // As the migration leaves the orders written before it.
    await gw.orm.em.getConnection().execute('update orders set policy_rule_id = null where id = ?', [stored.data.attemptTransaction.order.id]);
    const listed = await gw.gql(`query ($filter: OrderFilter) { orders(filter: $filter) { edges { node { policyRule { id } } } } }`, { filter: { customerId: customer.id } }, token);
    expect(listed.errors).toBeUndefined();
    expect(listed.data.orders.edges).toEqual([{ node: { policyRule: null } }]);
  });

  it('a permissive rule a platform admin adds for today gives the founding answers today', async () => {
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const cloud = await anAgreement(gw, { country: 'FI', type: AgreementType.MICROSOFT_CLOUD_AGREEMENT, effectiveFrom: '2018-01-01' });
    const customer = await aCustomer(gw, { country: 'FI', partners: [{ partner }] });
    await anAcceptance(gw, { customer, partner, template: cloud, dateAgreed: '2019-01-10' });
    const input = { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: 'p' };
    const token = await aPartnerToken(partner);
    expect((await gw.gql(PREFLIGHT, { input }, token)).data.preflightTransaction.allowed).toBe(false);
    const added = await gw.gql(ADD, { input: { effectiveFrom: todayUtc(), acceptedTypes: ['MICROSOFT_CLOUD_AGREEMENT', 'MICROSOFT_CUSTOMER_AGREEMENT'], description: 'founding rules today' } }, await platformAdminToken());
    expect(added.errors).toBeUndefined();
    const pre = await gw.gql(PREFLIGHT, { input }, token);
    expect(pre.data.preflightTransaction).toMatchObject({ allowed: true, blockReasons: [], policyRule: { id: added.data.addAcceptancePolicyRule.rule.id } });
  });
});
