import { aCustomer, anAgreement, aPartner, aPartnerToken, aSubscription } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { ATTEMPT, CONFIRM, CORRECT, CUSTOMER, WITHDRAW, contact, yesterday } from './ops';

/** DESIGN.md section 4: corrections keep an audit trail; withdrawal cancels subscriptions. */

let gw: TestGateway;
let direct: Partner;
let other: Partner;
let mca: AgreementTemplate;

beforeAll(async () => {
  gw = await startGateway();
  direct = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  other = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  mca = await anAgreement(gw, { versionRank: 1, effectiveFrom: '2019-01-01' });
});
afterAll(() => gw?.stop());

async function confirmed(partners: Partner[] = [direct]) {
  const customer = await aCustomer(gw, { partners: partners.map((partner) => ({ partner })) });
  const ids: string[] = [];
  for (const p of partners) {
    const res = await gw.gql(CONFIRM, { input: { customerId: customer.id, templateId: mca.templateId, dateAgreed: yesterday(), contact } }, await aPartnerToken(p));
    ids.push(res.data.confirmCustomerAcceptance.acceptance.id);
  }
  return { customer, acceptanceId: ids[0] };
}

describe('corrections', () => {
  it('every changed contact field is recorded with who, when, old and new value, visible in corrections', async () => {
    const { acceptanceId } = await confirmed();
    const token = await aPartnerToken(direct, Role.AGENT, 'corrector');
    const res = await gw.gql(CORRECT, { input: { acceptanceId, contact: { ...contact, email: 'ada.l@example.com', phoneNumber: null } } }, token);
    expect(res.errors).toBeUndefined();
    const a = res.data.correctAcceptanceContact.acceptance;
    expect(a.contact).toEqual({ ...contact, email: 'ada.l@example.com', phoneNumber: null });
    expect(a.corrections).toEqual([
      { correctedAt: expect.any(String), correctedBy: { id: 'corrector' }, field: 'email', oldValue: 'ada@example.com', newValue: 'ada.l@example.com' },
      { correctedAt: expect.any(String), correctedBy: { id: 'corrector' }, field: 'phoneNumber', oldValue: '+14255550100', newValue: null },
    ]);

    // A second correction adds to the trail; an unchanged contact adds nothing.
    await gw.gql(CORRECT, { input: { acceptanceId, contact: { ...contact, email: 'ada.l@example.com', phoneNumber: null, lastName: 'King' } } }, token);
    const again = await gw.gql(CORRECT, { input: { acceptanceId, contact: { ...contact, email: 'ada.l@example.com', phoneNumber: null, lastName: 'King' } } }, token);
    expect(again.data.correctAcceptanceContact.acceptance.corrections.map((c: any) => c.field)).toEqual(['email', 'phoneNumber', 'lastName']);
  });

  it('corrected contacts are validated like confirmations', async () => {
    const { acceptanceId } = await confirmed();
    const res = await gw.gql(CORRECT, { input: { acceptanceId, contact: { ...contact, firstName: ' ' } } }, await aPartnerToken(direct));
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'contact.firstName' });
  });

  it("analysts see the corrections' contact values masked", async () => {
    const { customer, acceptanceId } = await confirmed();
    await gw.gql(CORRECT, { input: { acceptanceId, contact: { ...contact, email: 'new@example.com' } } }, await aPartnerToken(direct));
    const q = `query ($id: ID!) { customer(id: $id) { acceptance { corrections { field oldValue newValue } } } }`;
    const res = await gw.gql(q, { id: customer.id }, await analystToken());
    expect(res.data.customer.acceptance.corrections).toEqual([{ field: 'email', oldValue: 'a***@example.com', newValue: 'n***@example.com' }]);
  });

  it("another partner's acceptance cannot be corrected: NOT_FOUND; a VIEWER may not correct: FORBIDDEN", async () => {
    const { acceptanceId } = await confirmed();
    const foreign = await gw.gql(CORRECT, { input: { acceptanceId, contact } }, await aPartnerToken(other));
    expect(foreign.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'acceptanceId' });
    const viewer = await gw.gql(CORRECT, { input: { acceptanceId, contact } }, await aPartnerToken(direct, Role.VIEWER));
    expect(viewer.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe('withdrawal', () => {
  it("withdrawal marks the acceptance WITHDRAWN and cancels the partner's active subscriptions of that customer, returning them", async () => {
    const { customer, acceptanceId } = await confirmed([direct, other]);
    const mine = await aSubscription(gw, { customer, partner: direct, offerId: 'office', seats: 5 });
    const theirs = await aSubscription(gw, { customer, partner: other, offerId: 'teams', seats: 3 });
    const res = await gw.gql(WITHDRAW, { input: { customerId: customer.id, reason: 'The customer no longer agrees' } }, await aPartnerToken(direct));
    expect(res.errors).toBeUndefined();
    expect(res.data.withdrawCustomerAcceptance).toEqual({
      acceptance: { id: acceptanceId, status: 'WITHDRAWN', withdrawnAt: expect.any(String) },
      cancelledSubscriptions: [{ id: mine.id, offerId: 'office', seats: 5, status: 'CANCELLED' }],
    });
    const admin = await platformAdminToken();
    const forDirect = await gw.gql(CUSTOMER, { id: customer.id, partnerId: direct.id }, admin);
    expect(forDirect.data.customer.complianceStatus).toBe('WITHDRAWN');
    expect(forDirect.data.customer.acceptance).toMatchObject({ id: acceptanceId, status: 'WITHDRAWN' });
    const forOther = await gw.gql(CUSTOMER, { id: customer.id, partnerId: other.id }, admin);
    expect(forOther.data.customer.complianceStatus).toBe('CONFIRMED');
    expect(forOther.data.customer.subscriptions.find((s: any) => s.id === theirs.id).status).toBe('ACTIVE');
  });

  it('after a withdrawal, orders are BLOCKED ACCEPTANCE_WITHDRAWN until a new confirmation', async () => {
    const { customer } = await confirmed();
    const token = await aPartnerToken(direct);
    await gw.gql(WITHDRAW, { input: { customerId: customer.id, reason: 'no longer agrees' } }, token);
    const order = (key: string) => ({ input: { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'office', quantity: 1, idempotencyKey: key } });
    const blocked = await gw.gql(ATTEMPT, order('after-withdrawal'), token);
    expect(blocked.data.attemptTransaction.order).toMatchObject({ outcome: 'BLOCKED', blockReasons: ['ACCEPTANCE_WITHDRAWN'] });

    await gw.gql(CONFIRM, { input: { customerId: customer.id, templateId: mca.templateId, dateAgreed: yesterday(), contact } }, token);
    const completed = await gw.gql(ATTEMPT, order('after-reconfirmation'), token);
    expect(completed.data.attemptTransaction.order).toMatchObject({ outcome: 'COMPLETED', blockReasons: [] });
  });

  it('withdrawal needs an active acceptance (NOT_FOUND) and a reason (BAD_USER_INPUT), and writes nothing otherwise', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    const sub = await aSubscription(gw, { customer, partner: direct });
    const token = await aPartnerToken(direct);
    const none = await gw.gql(WITHDRAW, { input: { customerId: customer.id, reason: 'x' } }, token);
    expect(none.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const { customer: c2 } = await confirmed();
    const blank = await gw.gql(WITHDRAW, { input: { customerId: c2.id, reason: '  ' } }, token);
    expect(blank.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reason' });
    const rows = await gw.orm.em.getConnection().execute('select status from subscriptions where id = ?', [sub.id]);
    expect(rows).toEqual([{ status: 'ACTIVE' }]);
  });

  it('a reseller cannot withdraw: FORBIDDEN', async () => {
    const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    const { customer } = await confirmed();
    const res = await gw.gql(WITHDRAW, { input: { customerId: customer.id, partnerId: direct.id, reason: 'x' } }, await aPartnerToken(reseller));
    expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});
