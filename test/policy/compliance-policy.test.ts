import { AgreementType } from '../../src/agreements/agreement.enums';
import { Channel } from '../../src/acceptance/acceptance.enums';
import { PartnerType } from '../../src/auth/roles';
import { policyRules } from '../../src/policy/policy.queries';
import { ruleInForce } from '../../src/policy/policy.rules';
import type { Customer } from '../../src/customers/customer.entity';
import type { Partner } from '../../src/partners/partner.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { aCustomer, anAcceptance, anAgreement, aPartner } from '../factories';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { DEFAULT_TIMELINE } from './timeline';

/** complianceStatus under today's default rules (DESIGN.md section 10), with the filter and the summary agreeing. */

let gw: TestGateway;
let a: Partner;
let b: Partner;
let cloud: AgreementTemplate;
let customerV1: AgreementTemplate;
let customerV2: AgreementTemplate;
beforeAll(async () => {
  gw = await startGateway({}, undefined, { foundingRules: false });
  a = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  b = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  cloud = await anAgreement(gw, { country: 'IS', type: AgreementType.MICROSOFT_CLOUD_AGREEMENT, effectiveFrom: '2018-01-01' });
  customerV1 = await anAgreement(gw, { country: 'IS', type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, versionRank: 1, effectiveFrom: '2019-10-01' });
  customerV2 = await anAgreement(gw, { country: 'IS', type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, versionRank: 2, effectiveFrom: '2024-01-01' });
});
afterAll(() => gw?.stop());

const STATUS = `query ($id: ID!, $partnerId: ID) { customer(id: $id) { complianceStatus(partnerId: $partnerId) } }`;
const FILTER = `query ($filter: CustomerFilter) { customers(filter: $filter, first: 100) { edges { node { id } } } }`;
const SUMMARY = `query ($partnerId: ID) { complianceSummary(partnerId: $partnerId) { customers confirmed outdated missing withdrawn reacceptanceRequired } }`;

const statusOf = async (c: Customer, partnerId?: string) =>
  (await gw.gql(STATUS, { id: c.id, partnerId }, await platformAdminToken())).data.customer.complianceStatus as string;

describe('compliance under the requirement policy', () => {
  it('REACCEPTANCE_REQUIRED: an active confirmation today\'s rule no longer accepts (a Cloud Agreement, a Customer Agreement from 2022); the filter and the summary agree', async () => {
    const onlyCloud = await aCustomer(gw, { country: 'IS', partners: [{ partner: a }] });
    await anAcceptance(gw, { customer: onlyCloud, partner: a, template: cloud, dateAgreed: '2019-01-10' });
    const old = await aCustomer(gw, { country: 'IS', partners: [{ partner: a }] });
    await anAcceptance(gw, { customer: old, partner: a, template: customerV2, dateAgreed: '2024-01-01' });
    const accepted2022 = await aCustomer(gw, { country: 'IS', partners: [{ partner: a }] });
    await anAcceptance(gw, { customer: accepted2022, partner: a, template: customerV1, dateAgreed: '2022-06-01' });
    const outdated = await aCustomer(gw, { country: 'IS', partners: [{ partner: a }] });
    await anAcceptance(gw, { customer: outdated, partner: a, template: customerV1, dateAgreed: '2023-06-01' });
    const none = await aCustomer(gw, { country: 'IS', partners: [{ partner: a }] });

    expect(await statusOf(onlyCloud, a.id)).toBe('REACCEPTANCE_REQUIRED');
    expect(await statusOf(accepted2022, a.id)).toBe('REACCEPTANCE_REQUIRED');
    expect(await statusOf(old, a.id)).toBe('CONFIRMED');
    expect(await statusOf(outdated, a.id)).toBe('OUTDATED');
    expect(await statusOf(none, a.id)).toBe('MISSING');

    const filtered = await gw.gql(FILTER, { filter: { partnerId: a.id, complianceStatus: 'REACCEPTANCE_REQUIRED' } }, await platformAdminToken());
    expect(filtered.data.customers.edges.map((e: { node: { id: string } }) => e.node.id).sort()).toEqual([onlyCloud.id, accepted2022.id].sort());
    const summary = await gw.gql(SUMMARY, { partnerId: a.id }, await platformAdminToken());
    expect(summary.data.complianceSummary).toMatchObject({ customers: 5, confirmed: 1, outdated: 1, missing: 1, withdrawn: 0, reacceptanceRequired: 2 });
  });

  it('the least compliant order is MISSING, WITHDRAWN, REACCEPTANCE_REQUIRED, OUTDATED, CONFIRMED', async () => {
    const both = await aCustomer(gw, { country: 'IS', partners: [{ partner: a }, { partner: b }] });
    await anAcceptance(gw, { customer: both, partner: a, template: cloud, dateAgreed: '2019-01-10' });
    await anAcceptance(gw, { customer: both, partner: b, template: customerV1, dateAgreed: '2023-06-01' });
    expect(await statusOf(both)).toBe('REACCEPTANCE_REQUIRED');
    const missingToo = await aCustomer(gw, { country: 'IS', partners: [{ partner: a }, { partner: b }] });
    await anAcceptance(gw, { customer: missingToo, partner: a, template: cloud, dateAgreed: '2019-01-10' });
    expect(await statusOf(missingToo)).toBe('MISSING');
  });

  it("a direct acceptance counts as every partner's confirmation: CONFIRMED when today's rule accepts it, REACCEPTANCE_REQUIRED when too old", async () => {
    const direct = await aCustomer(gw, { country: 'IS', partners: [{ partner: a }, { partner: b }] });
    const tooOld = await aCustomer(gw, { country: 'IS', partners: [{ partner: a }] });
    await gw.orm.em.getConnection().execute(
      `update customers set direct_acceptance_type = 'MICROSOFT_CUSTOMER_AGREEMENT', direct_accepted_on = case when id = ? then '2024-02-01'::date else '2022-02-01'::date end,
              direct_acceptance_source = 'PLATFORM_ADMIN' where id in (?, ?)`,
      [direct.id, direct.id, tooOld.id],
    );
    expect(await statusOf(direct)).toBe('CONFIRMED');
    expect(await statusOf(tooOld, a.id)).toBe('REACCEPTANCE_REQUIRED');
  });

  it('acceptance_policy_in_force (the compliance statements\' rule in force) answers as ruleInForce, on both sides of every date, on both channels', async () => {
    const rules = await policyRules(gw.orm.em.fork());
    const days = DEFAULT_TIMELINE.flatMap((r) => {
      const d = new Date(`${r.effectiveFrom}T00:00:00Z`);
      return [new Date(d.getTime() - 86_400_000), d].map((x) => x.toISOString().slice(0, 10));
    });
    for (const channel of [Channel.DASHBOARD, Channel.API]) {
      for (const day of days) {
        const rows = await gw.orm.em.getConnection().execute<{ id: string }[]>('select id from acceptance_policy_in_force(?, ?::date)', [channel, day]);
        expect([channel, day, rows[0]?.id ?? null]).toEqual([channel, day, ruleInForce(rules, channel, new Date(`${day}T12:00:00Z`))?.id ?? null]);
      }
    }
  });
});
