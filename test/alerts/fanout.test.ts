import { aBlockedOrder, aCustomer, aLink, aPartner, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, startGateway, tokenFor, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Customer } from '../../src/customers/customer.entity';
import type { Partner } from '../../src/partners/partner.entity';
import { connect, disposeAll, hubOf, reached, subscribe, subscribersRegistered, type Subscriber } from './ws';

/**
 * Fan-out cost: the subscribers of one hub read share its EntityManager and its
 * lookups by id, so one alert costs the same statements however many receive it,
 * while masking stays per subscriber.
 */

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await disposeAll();
  await gw?.stop();
});

const WITH_CONTACT = `subscription OnBlockedOrder {
  blockedOrderAlerts {
    id cursor reasons
    order { id kind channel }
    customer { id companyName primaryContact { firstName lastName email phoneNumber } }
    partner { id name }
    reseller { id name }
  }
}`;

interface Tenancy {
  provider: Partner;
  reseller: Partner;
  customer: Customer;
}

async function aTenancy(): Promise<Tenancy> {
  const provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  const customer = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
  return { provider, reseller, customer };
}

let serial = 0;
/** n subscribers across tenants entitled to the tenancy's alerts: analysts, platform admins, the provider's and the reseller's users. */
async function subscribers(t: Tenancy, n: number): Promise<{ role: string; sub: Subscriber }[]> {
  const kinds = [
    { role: 'analyst', token: () => tokenFor({ sub: `fan-analyst-${++serial}`, name: 'Analyst', roles: [Role.ANALYST] }) },
    { role: 'provider', token: () => aPartnerToken(t.provider, Role.AGENT, `fan-provider-${++serial}`) },
    { role: 'reseller', token: () => aPartnerToken(t.reseller, Role.ADMIN, `fan-reseller-${++serial}`) },
    { role: 'platform', token: () => tokenFor({ sub: `fan-platform-${++serial}`, name: 'Platform Admin', roles: [Role.PLATFORM_ADMIN] }) },
  ];
  const before = hubOf(gw).subscriberCount();
  const out: { role: string; sub: Subscriber }[] = [];
  for (let i = 0; i < n; i++) {
    const kind = kinds[i % kinds.length];
    const { client } = connect(gw, await kind.token());
    out.push({ role: kind.role, sub: subscribe(client, WITH_CONTACT) });
  }
  await subscribersRegistered(gw, before + n);
  return out;
}

/** Statements from raising one alert until every subscriber has it; the fewest of three, since the hub's safety timer may read once inside a window. */
async function statementsPerAlert(t: Tenancy, subs: { sub: Subscriber }[]): Promise<number> {
  const counts: number[] = [];
  for (let round = 0; round < 3; round++) {
    counts.push(
      await gw.countStatements(async () => {
        const cursor = await aBlockedOrder(gw, { customer: t.customer, partner: t.provider, reseller: t.reseller });
        await Promise.all(subs.map(({ sub }) => sub.until(reached(cursor))));
      }),
    );
  }
  return Math.min(...counts);
}

describe('fan-out cost', () => {
  it('subscribers of different tenants receiving one alert share its lookups: the SQL statements per alert do not grow with the subscribers (2 vs 10)', async () => {
    expect.assertions(4);
    const t = await aTenancy();
    const two = await subscribers(t, 2);
    const withTwo = await statementsPerAlert(t, two);

    const ten = [...two, ...(await subscribers(t, 8))];
    const withTen = await statementsPerAlert(t, ten);
    expect(withTen).toBe(withTwo);
    // The alert's order, customer, partner and reseller each once at most, plus the fixture's own writes.
    expect(withTen).toBeLessThan(20);
    expect(ten.every(({ sub }) => sub.received.length >= 3 && sub.errors.length === 0)).toBe(true);
    expect(new Set(ten.flatMap(({ sub }) => sub.received.map((a) => a.reseller?.id)))).toEqual(new Set([t.reseller.id]));
  });

  it('in one shared batch, an analyst still receives the customer contact masked while a partner user of the alert receives it unmasked', async () => {
    expect.assertions(4);
    const t = await aTenancy();
    const before = hubOf(gw).subscriberCount();
    const analyst = subscribe(connect(gw, await analystToken()).client, WITH_CONTACT);
    const provider = subscribe(connect(gw, await aPartnerToken(t.provider, Role.AGENT)).client, WITH_CONTACT);
    const admin = subscribe(connect(gw, await platformAdminToken()).client, WITH_CONTACT);
    await subscribersRegistered(gw, before + 3);

    const cursor = await aBlockedOrder(gw, { customer: t.customer, partner: t.provider, reseller: t.reseller });
    const [[seenByAnalyst], [seenByProvider], [seenByAdmin]] = await Promise.all([analyst, provider, admin].map((s) => s.until(reached(cursor))));
    expect(seenByAnalyst.customer.primaryContact).toEqual({ firstName: 'J***', lastName: 'D***', email: 'j***@example.com', phoneNumber: '**********00' });
    expect(seenByProvider.customer.primaryContact).toEqual({ firstName: 'Jane', lastName: 'Doe', email: 'jane.doe@example.com', phoneNumber: '+14255550100' });
    expect(seenByAdmin.customer.primaryContact.email).toBe('jane.doe@example.com');
    expect([analyst, provider, admin].every((s) => s.errors.length === 0)).toBe(true);
  });
});
