import {
  AttemptTransactionDocument,
  ConfirmCustomerAcceptanceDocument,
  CreateCustomerDocument,
  CustomerDocument,
  PreflightTransactionDocument,
  RegisterPartnerDocument,
  GatewayError,
  request,
  ViewerDocument,
} from '@consent-gateway/client'; // the workspace package (client/), as a frontend project imports it
import { anAgreement } from '../factories';
import { platformAdminToken, startGateway, tokenFor, type TestGateway } from '../support/gateway';
import { Role } from '../../src/auth/roles';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.stop());

/** The contract operations, compiled by codegen into typed documents, run against a live gateway. */
describe('typed client from the contract', () => {
  it('registers a partner, creates a customer, confirms acceptance and transacts with generated documents', async () => {
    const admin = await platformAdminToken();
    const template = await anAgreement(gw, { versionRank: 1, effectiveFrom: '2019-01-01' });

    const { registerPartner } = await request(gw.url, RegisterPartnerDocument, { input: { name: 'Typed Partner', tenantId: 'typed-1', type: 'DIRECT_BILL' } }, admin);
    const partnerId = registerPartner.partner.id;
    const agent = await tokenFor({ sub: 'typed-agent', partnerId, roles: [Role.AGENT] });

    const viewer = await request(gw.url, ViewerDocument, {}, agent);
    expect(viewer.viewer.partner?.name).toBe('Typed Partner');

    const { createCustomer } = await request(
      gw.url,
      CreateCustomerDocument,
      { input: { companyName: 'Typed Co', domain: 'typed.example', country: 'US', primaryContact: { firstName: 'Tia', lastName: 'Type', email: 'tia@typed.example' } } },
      agent,
    );
    const customerId = createCustomer.customer.id;

    const preflight = await request(gw.url, PreflightTransactionDocument, { input: { customerId, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 1, idempotencyKey: 'p' } }, agent);
    expect(preflight.preflightTransaction).toMatchObject({ allowed: false, blockReasons: ['ACCEPTANCE_NOT_CONFIRMED'] });

    const { confirmCustomerAcceptance } = await request(
      gw.url,
      ConfirmCustomerAcceptanceDocument,
      { input: { customerId, templateId: template.templateId, dateAgreed: '2024-05-01', contact: { firstName: 'Tia', lastName: 'Type', email: 'tia@typed.example' } } },
      agent,
    );
    expect(confirmCustomerAcceptance.acceptance.status).toBe('ACTIVE');

    const { attemptTransaction } = await request(
      gw.url,
      AttemptTransactionDocument,
      { input: { customerId, kind: 'NEW_PURCHASE', offerId: 'offer-typed', quantity: 3, idempotencyKey: 'typed-order-1' } },
      agent,
    );
    expect(attemptTransaction.order).toMatchObject({ outcome: 'COMPLETED', blockReasons: [], quantity: 3 });
    expect(attemptTransaction.alert).toBeNull();

    const { customer } = await request(gw.url, CustomerDocument, { id: customerId }, agent);
    expect(customer?.complianceStatus).toBe('CONFIRMED');
    expect(customer?.subscriptions).toEqual([{ id: attemptTransaction.order.subscription!.id, offerId: 'offer-typed', seats: 3, status: 'ACTIVE' }]);
  });

  it('surfaces coded errors as GatewayError', async () => {
    const err = await request(gw.url, ViewerDocument, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).errors[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});
