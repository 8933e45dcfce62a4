import WebSocket from 'ws';
import { AttemptTransactionDocument, CustomersDocument, OnBlockedOrderDocument, type OnBlockedOrderSubscription } from '@consent-gateway/client';
import { createApolloGatewayClient } from '../../client/examples/apollo';
import { createUrqlGatewayClient } from '../../client/examples/urql';
import { aCustomer, aPartner, aPartnerToken } from '../factories';
import { startGateway, type TestGateway } from '../support/gateway';
import { subscribersRegistered } from '../alerts/ws';
import { Role } from '../../src/auth/roles';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.stop());

type Alert = OnBlockedOrderSubscription['blockedOrderAlerts'];

/** README's frontend examples (client/examples/), with the package's typed documents, against a live gateway. */
describe('the HTTP + WebSocket split, as frontend teams wire it', () => {
  async function tenant(name: string) {
    const partner = await aPartner(gw, { name });
    const customer = await aCustomer(gw, { companyName: `${name} Customer`, partners: [{ partner }] });
    return { partner, customer, agent: await aPartnerToken(partner, Role.AGENT) };
  }

  it('Apollo Client: a query and a mutation over HTTP, the alert subscription over WebSocket', async () => {
    expect.assertions(4);
    const { customer, agent } = await tenant('Apollo Partner');
    const { apollo, close } = createApolloGatewayClient({ url: gw.url, token: () => agent, webSocketImpl: WebSocket });
    try {
      const { data } = await apollo.query({ query: CustomersDocument, variables: { first: 10 } });
      expect(data?.customers.edges.map((e) => e.node.companyName)).toEqual(['Apollo Partner Customer']);

      const alerts: Alert[] = [];
      const first = new Promise<void>((resolve) => {
        apollo.subscribe({ query: OnBlockedOrderDocument, variables: { after: '0' } }).subscribe((result) => {
          if (result.data) alerts.push(result.data.blockedOrderAlerts);
          resolve();
        });
      });
      await subscribersRegistered(gw, 1);
      const { data: attempt } = await apollo.mutate({
        mutation: AttemptTransactionDocument,
        variables: { input: { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'apollo-offer', quantity: 2, idempotencyKey: 'apollo-1' } },
      });
      expect(attempt?.attemptTransaction.order.outcome).toBe('BLOCKED');
      await first;
      expect(alerts[0].reasons).toEqual(['ACCEPTANCE_NOT_CONFIRMED']);
      expect(alerts[0].cursor).toBe(attempt?.attemptTransaction.alert?.cursor);
    } finally {
      apollo.stop();
      await close();
    }
  });

  it('urql: a query and a mutation over HTTP POST, the alert subscription over WebSocket', async () => {
    expect.assertions(4);
    const { customer, agent } = await tenant('Urql Partner');
    const { urql, close } = createUrqlGatewayClient({ url: gw.url, token: () => agent, webSocketImpl: WebSocket });
    try {
      const customers = await urql.query(CustomersDocument, { first: 10 }).toPromise();
      expect(customers.data?.customers.edges.map((e) => e.node.companyName)).toEqual(['Urql Partner Customer']);

      const alerts: Alert[] = [];
      let subscription: { unsubscribe(): void } | undefined;
      const first = new Promise<void>((resolve) => {
        subscription = urql.subscription(OnBlockedOrderDocument, { after: '0' }).subscribe((result) => {
          if (result.data) alerts.push(result.data.blockedOrderAlerts);
          resolve();
        });
      });
      // From cursor 0 (replay, then live): whether or not the previous test's socket has gone yet.
      const attempt = await urql
        .mutation(AttemptTransactionDocument, { input: { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'urql-offer', quantity: 2, idempotencyKey: 'urql-1' } })
        .toPromise();
      expect(attempt.data?.attemptTransaction.order.outcome).toBe('BLOCKED');
      await first;
      subscription?.unsubscribe();
      expect(alerts[0].reasons).toEqual(['ACCEPTANCE_NOT_CONFIRMED']);
      expect(alerts[0].cursor).toBe(attempt.data?.attemptTransaction.alert?.cursor);
    } finally {
      await close();
    }
  });
});
