import { aBlockedOrder, aCustomer, aLink, anAcceptance, anAgreement, anOrder, aPartner, aPartnerToken, aSubscription } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import { AcceptanceStatus } from '../../src/acceptance/acceptance.enums';
import { buildContext } from '../../src/kernel/context';
import { renewals } from '../../src/renewals/renewal.runtime';
import { liveEvent, subscribeToAlerts, SubscriptionEnd } from '../../src/alerts/alert.subscription';
import { gatewaySchema } from '../../src/gateway';
import { sharedSubscribe } from '../../src/server/shared-execution';
import { parse, type ExecutionResult } from 'graphql';
import { dayFromToday } from '../renewals/ops';
import { hubOf, ON_BLOCKED_ORDER } from './ws';

/**
 * The subscribe helper both alert subscriptions share (src/alerts/alert.subscription.ts):
 * the viewer is checked again before each delivered batch, and between deliveries the
 * subscription holds no EntityManager, whatever the kind of alert.
 */

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await gw?.stop();
});

const contextOf = async (token: string) => buildContext(gw.services, `Bearer ${token}`);

describe('before each delivery', () => {
  it("a partner user whose partner no longer exists receives UNAUTHENTICATED instead of the alerts already fanned out to it, then the subscription ends; others still receive them", async () => {
    expect.assertions(6);
    const provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
    const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    await aLink(gw, reseller, provider);
    const customer = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
    const order = { customer, partner: provider, reseller };
    const hub = hubOf(gw);
    const resellerEvents = subscribeToAlerts(await contextOf(await aPartnerToken(reseller, Role.ADMIN)), hub, {});
    const analystEvents = subscribeToAlerts(await contextOf(await analystToken()), hub, {});

    const first = await aBlockedOrder(gw, order);
    expect(((await resellerEvents.next()).value as { id: string }).id).toBe(first);
    await analystEvents.next();

    // Fanned out to both subscribers' queues, not yet delivered; then the reseller goes.
    const second = await aBlockedOrder(gw, order);
    await hub.caughtUp(BigInt(second));
    await gw.orm.em.fork().getConnection().execute('delete from partners where id = ?', [reseller.id]);

    const ended = (await resellerEvents.next()).value;
    expect(ended).toBeInstanceOf(SubscriptionEnd);
    let error: any;
    try {
      liveEvent(ended);
    } catch (err) {
      error = err;
    }
    expect(error?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await resellerEvents.next()).toEqual({ done: true, value: undefined });
    expect(((await analystEvents.next()).value as { id: string }).id).toBe(second);
    await analystEvents.return!();
    expect(hub.streams().some((s) => s.scope.viewer.partnerId === reseller.id)).toBe(false);
  });
});

describe('over graphql-ws', () => {
  it('the ended subscription answers one result with UNAUTHENTICATED, then completes', async () => {
    expect.assertions(4);
    const provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
    const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    await aLink(gw, reseller, provider);
    const customer = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
    const order = { customer, partner: provider, reseller };
    // The execution graphql-ws runs for each subscription (src/server/ws.ts).
    const results = (await sharedSubscribe({
      schema: await gatewaySchema(),
      document: parse(ON_BLOCKED_ORDER),
      contextValue: await contextOf(await aPartnerToken(reseller, Role.AGENT)),
    })) as AsyncIterableIterator<ExecutionResult<any>>;

    const first = await aBlockedOrder(gw, order);
    expect((await results.next()).value.data.blockedOrderAlerts.cursor).toBe(first);
    const second = await aBlockedOrder(gw, order);
    await hubOf(gw).caughtUp(BigInt(second));
    await gw.orm.em.fork().getConnection().execute('delete from partners where id = ?', [reseller.id]);

    const last = (await results.next()).value;
    expect(last.data).toBeNull();
    expect(last.errors?.map((e: { extensions?: { code?: unknown } }) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect((await results.next()).done).toBe(true);
  });
});

describe('between deliveries', () => {
  it('a renewal-risk subscription reads each batch through a fresh EntityManager and keeps none while it waits', async () => {
    expect.assertions(3);
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const old = await anAgreement(gw, { country: 'GLOBAL', versionRank: 1, effectiveFrom: '2018-01-01' });
    await anAgreement(gw, { country: 'GLOBAL', versionRank: 2, effectiveFrom: '2020-01-01' });
    const customer = await aCustomer(gw, { partners: [{ partner }] });
    await anAcceptance(gw, { customer, partner, template: old, status: AcceptanceStatus.ACTIVE });
    await anOrder(gw, { customer, partner });
    const subscription = await aSubscription(gw, { customer, partner, renewsOn: dayFromToday(10) });

    const context = await contextOf(await platformAdminToken());
    const runtime = renewals(gw.services);
    const events = subscribeToAlerts(context, runtime.alerts, {});
    const delivery = events.next();
    expect(await runtime.scan(60)).toBeGreaterThan(0);
    const alert = (await delivery).value as { subscription: { id: string } };
    expect(alert.subscription.id).toBe(subscription.id);
    const whileDelivering = context.em;

    // Asking for the next one finds nothing queued: the stream waits, holding nothing.
    void events.next();
    expect(context.em).not.toBe(whileDelivering);
    await events.return!();
  });
});
