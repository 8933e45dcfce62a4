import { aCustomer, aLink, anAgreement, aPartner, aPartnerToken } from '../factories';
import { analystToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { ATTEMPT, CUSTOMER, REVIEW, SUBMISSIONS, SUBMIT, contact, tomorrow, yesterday } from './ops';

/** DESIGN.md section 4: a reseller submits, the provider approves or rejects. */

let gw: TestGateway;
let provider: Partner;
let otherProvider: Partner;
let reseller: Partner;
let secondReseller: Partner;
let strangerReseller: Partner;
let mca: AgreementTemplate;

beforeAll(async () => {
  gw = await startGateway();
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  otherProvider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER, name: 'Fabrikam Reseller' });
  secondReseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  strangerReseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  await aLink(gw, secondReseller, provider);
  await aLink(gw, strangerReseller, otherProvider);
  mca = await anAgreement(gw, { versionRank: 1, effectiveFrom: '2019-01-01' });
});
afterAll(() => gw?.stop());

const indirectCustomer = (resellers: Partner[] = [reseller]) => aCustomer(gw, { partners: [{ partner: provider, resellers }] });
const submitInput = (customer: Customer, over: Record<string, unknown> = {}) => ({
  customerId: customer.id,
  providerId: provider.id,
  templateId: mca.templateId,
  dateAgreed: yesterday(),
  contact,
  ...over,
});

async function submitted(customer: Customer) {
  const res = await gw.gql(SUBMIT, { input: submitInput(customer) }, await aPartnerToken(reseller));
  expect(res.errors).toBeUndefined();
  return res.data.submitAcceptanceToProvider.submission;
}

describe('reseller submissions', () => {
  it('a reseller linked to the provider submits acceptance details: PENDING', async () => {
    const customer = await indirectCustomer();
    const s = await submitted(customer);
    expect(s).toEqual({ id: expect.any(String), status: 'PENDING', submittedAt: expect.any(String), customer: { id: customer.id }, provider: { id: provider.id }, reseller: { id: reseller.id } });
  });

  it('a reseller not linked to that provider is refused: NOT_FOUND on providerId', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: otherProvider, resellers: [strangerReseller] }, { partner: provider, resellers: [reseller] }] });
    const res = await gw.gql(SUBMIT, { input: submitInput(customer) }, await aPartnerToken(strangerReseller));
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'providerId' });
  });

  it('only a reseller submits: a provider or direct-bill partner is FORBIDDEN', async () => {
    const customer = await indirectCustomer();
    const res = await gw.gql(SUBMIT, { input: submitInput(customer) }, await aPartnerToken(provider));
    expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('a submission is validated like a confirmation', async () => {
    const customer = await indirectCustomer();
    const token = await aPartnerToken(reseller);
    const future = await gw.gql(SUBMIT, { input: submitInput(customer, { dateAgreed: tomorrow() }) }, token);
    expect(future.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'dateAgreed' });
    const email = await gw.gql(SUBMIT, { input: submitInput(customer, { contact: { ...contact, email: 'bad' } }) }, token);
    expect(email.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'contact.email' });
  });

  it('acceptanceSubmissions lists what the viewer may see: the provider those made to it, a reseller its own', async () => {
    const customer = await indirectCustomer([reseller, secondReseller]);
    const mine = await submitted(customer);
    const theirs = (await gw.gql(SUBMIT, { input: submitInput(customer) }, await aPartnerToken(secondReseller))).data.submitAcceptanceToProvider.submission;
    const ids = async (token: string, status?: string) =>
      (await gw.gql(SUBMISSIONS, { status, first: 100 }, token)).data.acceptanceSubmissions.edges.map((e: any) => e.node.id);

    const forProvider = await ids(await aPartnerToken(provider, Role.VIEWER));
    expect(forProvider).toEqual(expect.arrayContaining([mine.id, theirs.id]));
    const forReseller = await ids(await aPartnerToken(reseller, Role.VIEWER));
    expect(forReseller).toContain(mine.id);
    expect(forReseller).not.toContain(theirs.id);
    expect(await ids(await aPartnerToken(otherProvider))).toEqual([]);
    expect(await ids(await analystToken())).toEqual(expect.arrayContaining([mine.id, theirs.id]));
    expect(await ids(await aPartnerToken(provider), 'APPROVED')).not.toContain(mine.id);

    const page = await gw.gql(SUBMISSIONS, { first: 100 }, await aPartnerToken(reseller));
    expect(page.data.acceptanceSubmissions.edges.find((e: any) => e.node.id === mine.id).node).toMatchObject({
      customer: { id: customer.id, companyName: customer.companyName },
      reseller: { id: reseller.id, name: reseller.name },
    });
  });
});

describe("the provider's review", () => {
  it("approval records the provider's acceptance with onBehalfOf naming the reseller", async () => {
    const customer = await indirectCustomer();
    const s = await submitted(customer);
    const res = await gw.gql(REVIEW, { input: { submissionId: s.id, decision: 'APPROVE' } }, await aPartnerToken(provider));
    expect(res.errors).toBeUndefined();
    expect(res.data.reviewAcceptanceSubmission).toEqual({
      submission: { id: s.id, status: 'APPROVED', reviewNote: null },
      acceptance: { id: expect.any(String), status: 'ACTIVE', onBehalfOf: 'Fabrikam Reseller' },
    });
    const view = await gw.gql(CUSTOMER, { id: customer.id }, await aPartnerToken(provider));
    expect(view.data.customer).toMatchObject({ complianceStatus: 'CONFIRMED', acceptance: { partner: { id: provider.id }, onBehalfOf: 'Fabrikam Reseller' } });
  });

  it('approval supersedes the active acceptance as usual', async () => {
    const customer = await indirectCustomer();
    const first = await submitted(customer);
    const second = await submitted(customer);
    const token = await aPartnerToken(provider);
    const a1 = (await gw.gql(REVIEW, { input: { submissionId: first.id, decision: 'APPROVE' } }, token)).data.reviewAcceptanceSubmission.acceptance;
    await gw.gql(REVIEW, { input: { submissionId: second.id, decision: 'APPROVE' } }, token);
    const view = await gw.gql(CUSTOMER, { id: customer.id }, token);
    expect(view.data.customer.acceptanceHistory.map((a: any) => [a.id === a1.id, a.status])).toEqual([[false, 'ACTIVE'], [true, 'SUPERSEDED']]);
  });

  it('one provider acceptance covers every reseller of that customer', async () => {
    const customer = await indirectCustomer([reseller, secondReseller]);
    const s = await submitted(customer);
    await gw.gql(REVIEW, { input: { submissionId: s.id, decision: 'APPROVE' } }, await aPartnerToken(provider));
    const res = await gw.gql(
      ATTEMPT,
      { input: { customerId: customer.id, kind: 'NEW_PURCHASE', partnerId: provider.id, offerId: 'o', quantity: 1, idempotencyKey: 'second-reseller' } },
      await aPartnerToken(secondReseller),
    );
    expect(res.data.attemptTransaction.order).toMatchObject({ outcome: 'COMPLETED', reseller: { id: secondReseller.id } });
  });

  it('rejection needs a note and records no acceptance', async () => {
    const customer = await indirectCustomer();
    const s = await submitted(customer);
    const token = await aPartnerToken(provider);
    const noNote = await gw.gql(REVIEW, { input: { submissionId: s.id, decision: 'REJECT' } }, token);
    expect(noNote.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'note' });
    const res = await gw.gql(REVIEW, { input: { submissionId: s.id, decision: 'REJECT', note: 'Wrong contact' } }, token);
    expect(res.data.reviewAcceptanceSubmission).toEqual({ submission: { id: s.id, status: 'REJECTED', reviewNote: 'Wrong contact' }, acceptance: null });
    const view = await gw.gql(CUSTOMER, { id: customer.id }, token);
    expect(view.data.customer.complianceStatus).toBe('MISSING');
  });

  it('a reviewed submission cannot be reviewed again: CONFLICT', async () => {
    const customer = await indirectCustomer();
    const s = await submitted(customer);
    const token = await aPartnerToken(provider);
    await gw.gql(REVIEW, { input: { submissionId: s.id, decision: 'APPROVE' } }, token);
    const again = await gw.gql(REVIEW, { input: { submissionId: s.id, decision: 'REJECT', note: 'changed my mind' } }, token);
    expect(again.errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  it("only the provider reviews: another provider NOT_FOUND, the reseller FORBIDDEN, a VIEWER FORBIDDEN", async () => {
    const customer = await indirectCustomer();
    const s = await submitted(customer);
    const input = { submissionId: s.id, decision: 'APPROVE' };
    expect((await gw.gql(REVIEW, { input }, await aPartnerToken(otherProvider))).errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'submissionId' });
    expect((await gw.gql(REVIEW, { input }, await aPartnerToken(reseller))).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await gw.gql(REVIEW, { input }, await aPartnerToken(provider, Role.VIEWER))).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});
