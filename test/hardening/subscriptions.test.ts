import { aPartner, aPartnerToken } from '../factories';
import { startGateway, tokenFor, type TestGateway } from '../support/gateway';
import { connect, disposeAll, hubOf, ON_BLOCKED_ORDER, subscribe, subscribersRegistered } from '../alerts/ws';
import { Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';

/** Live subscriptions end with their token, and one caller may hold only so many. */

let gw: TestGateway;
let partner: Partner;
beforeAll(async () => {
  gw = await startGateway({ subscriptions: { perSocket: 3, perUser: 5 } });
  partner = await aPartner(gw);
});
afterAll(async () => {
  await disposeAll();
  await gw?.stop();
});

const firstError = (errors: unknown[]) => (errors[0] as { extensions?: Record<string, unknown> }[] | undefined)?.[0]?.extensions;

describe('a token that expires while its socket is open', () => {
  it('closes the socket with 4403 once its exp passes', async () => {
    const token = await tokenFor({ sub: 'expiring-viewer', partnerId: partner.id, roles: [Role.VIEWER] }, { expiresIn: '2s' });
    const { client, closed } = connect(gw, token);
    const before = hubOf(gw).subscriberCount();
    subscribe(client, ON_BLOCKED_ORDER);
    await subscribersRegistered(gw, before + 1);
    expect(await closed).toEqual({ code: 4403, reason: 'Token expired' });
  });
});

describe('subscription caps (MAX_SUBSCRIPTIONS_PER_SOCKET 3, MAX_SUBSCRIPTIONS_PER_USER 5 here)', () => {
  it('refuses a fourth subscription on one socket with RATE_LIMITED, and accepts one again after another completes', async () => {
    const { client } = connect(gw, await aPartnerToken(partner, Role.VIEWER, 'capped-socket-user'));
    const before = hubOf(gw).subscriberCount();
    const running = [subscribe(client, ON_BLOCKED_ORDER), subscribe(client, ON_BLOCKED_ORDER), subscribe(client, ON_BLOCKED_ORDER)];
    await subscribersRegistered(gw, before + 3);
    const fourth = subscribe(client, ON_BLOCKED_ORDER);
    await fourth.ended;
    expect(firstError(fourth.errors)).toEqual({ code: 'RATE_LIMITED', limit: 'subscriptionsPerSocket', maximum: 3 });
    expect((fourth.errors[0] as { message: string }[])[0].message).toBe('At most 3 subscriptions may run on one connection; complete one before starting another');

    running[0].unsubscribe();
    while (hubOf(gw).subscriberCount() > before + 2) await new Promise((r) => setTimeout(r, 10));
    const again = subscribe(client, ON_BLOCKED_ORDER);
    await subscribersRegistered(gw, before + 3);
    expect(again.errors).toEqual([]);
    running.slice(1).concat(again).forEach((s) => s.unsubscribe());
    // Gone from the hub before the next test counts its own (it reads the count as its baseline).
    while (hubOf(gw).subscriberCount() > before) await new Promise((r) => setTimeout(r, 10));
  });

  it('refuses past the per-user cap across sockets, not for another user, and frees a closed socket’s share', async () => {
    const token = await aPartnerToken(partner, Role.VIEWER, 'capped-user');
    const a = connect(gw, token);
    const b = connect(gw, token);
    const before = hubOf(gw).subscriberCount();
    for (let i = 0; i < 3; i++) subscribe(a.client, ON_BLOCKED_ORDER);
    for (let i = 0; i < 2; i++) subscribe(b.client, ON_BLOCKED_ORDER);
    await subscribersRegistered(gw, before + 5);

    const sixth = subscribe(b.client, ON_BLOCKED_ORDER);
    await sixth.ended;
    expect(firstError(sixth.errors)).toEqual({ code: 'RATE_LIMITED', limit: 'subscriptionsPerUser', maximum: 5 });

    const other = connect(gw, await aPartnerToken(partner, Role.VIEWER, 'another-user'));
    const others = subscribe(other.client, ON_BLOCKED_ORDER);
    await subscribersRegistered(gw, before + 6);
    expect(others.errors).toEqual([]);

    // The closed socket's three go with it: the user may subscribe again.
    await a.client.dispose();
    await a.closed;
    while (hubOf(gw).subscriberCount() > before + 3) await new Promise((r) => setTimeout(r, 10));
    const freed = subscribe(b.client, ON_BLOCKED_ORDER);
    await Promise.race([subscribersRegistered(gw, before + 4), freed.ended]);
    expect(freed.errors).toEqual([]);
  });
});
