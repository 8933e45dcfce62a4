import { aCustomer, anAcceptance, anAgreement, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { Role } from '../../src/auth/roles';
import { ACCEPTANCE_AUDIT, buildStory, type AuditWorld } from './fixture';

/** DESIGN.md section 9: the audit trail of a customer's acceptance with a partner. */

let gw: TestGateway;
let w: AuditWorld;
beforeAll(async () => {
  gw = await startGateway();
  w = await buildStory(gw);
});
afterAll(() => gw?.stop());

const trail = async (token: string, customerId = w.customer.id, partnerId?: string) => {
  const res = await gw.gql(ACCEPTANCE_AUDIT, { customerId, partnerId }, token);
  expect(res.errors).toBeUndefined();
  return res.data.customer?.auditTrail ?? null;
};

describe('Customer.auditTrail', () => {
  it('lists every event of the acceptance with the partner, oldest first, with actor, acceptance and details', async () => {
    const events = await trail(await aPartnerToken(w.provider, Role.AGENT));
    const { resellerAgent, providerAgent, providerAdmin } = w.users;
    expect(events.map((e: any) => [e.event, e.actor.id, e.field, e.oldValue, e.newValue, e.note])).toEqual([
      ['SUBMITTED', resellerAgent, null, null, null, null],
      ['REJECTED', providerAgent, null, null, null, 'The phone number is the reception desk'],
      ['SUBMITTED', resellerAgent, null, null, null, null],
      ['APPROVED', providerAgent, null, null, null, null],
      ['CONFIRMED', providerAgent, null, null, null, w.reseller.name],
      ['CONFIRMED', providerAdmin, null, null, null, 'j.smith@provider.example'],
      ['SUPERSEDED', providerAdmin, null, null, null, null],
      ['CORRECTED', providerAgent, 'lastName', 'Lovelace', 'King', null],
      ['CORRECTED', providerAgent, 'email', 'ada@example.com', 'ada.king@example.com', null],
      ['WITHDRAWN', providerAdmin, null, null, null, 'The customer asked to withdraw'],
    ]);
    const at = events.map((e: any) => Date.parse(e.at));
    expect(at).toEqual([...at].sort((a, b) => a - b));
    // The approval's confirmation is the one superseded; the provider's own is the one corrected and withdrawn.
    const [, rejected, , approved, approvedConfirmation, own, superseded, corrected, , withdrawn] = events;
    expect(rejected.acceptance).toBeNull();
    expect(approved.acceptance.id).toBe(approvedConfirmation.acceptance.id);
    expect(superseded.acceptance.id).toBe(approvedConfirmation.acceptance.id);
    expect([corrected.acceptance.id, withdrawn.acceptance.id]).toEqual([own.acceptance.id, own.acceptance.id]);
    expect(events[0].actor.displayName).toBe(`${w.reseller.name} AGENT`);
  });

  it('each partner has its own trail: the other partner sees only its own confirmation', async () => {
    const events = await trail(await aPartnerToken(w.other, Role.VIEWER));
    expect(events.map((e: any) => e.event)).toEqual(['CONFIRMED']);
    expect(await trail(await platformAdminToken(), w.customer.id, w.other.id)).toEqual(events);
  });

  it('a reseller reads the trail of the provider it serves the customer through', async () => {
    const provider = await trail(await aPartnerToken(w.provider));
    expect(await trail(await aPartnerToken(w.reseller), w.customer.id, w.provider.id)).toEqual(provider);
    expect(await trail(await aPartnerToken(w.reseller))).toEqual(provider);
  });

  it('analysts see it with contact values masked', async () => {
    const events = await trail(await analystToken(), w.customer.id, w.provider.id);
    expect(events.filter((e: any) => e.event === 'CORRECTED').map((e: any) => [e.field, e.oldValue, e.newValue])).toEqual([
      ['lastName', 'L***', 'K***'],
      ['email', 'a***@example.com', 'a***@example.com'],
    ]);
    expect(events.length).toBe(10);
  });

  it("tenancy: another tenant's customer is not found, another partner's id yields no events", async () => {
    const stranger = await aPartnerToken(w.other);
    expect(await trail(stranger, w.second.id)).toBeNull();
    expect(await trail(stranger, w.customer.id, w.provider.id)).toEqual([]);
  });

  it('one statement for the trails of a page of customers (DataLoader), the same for 2 and 20 customers', async () => {
    // Every customer of the page has events, actors and acceptances to load.
    const template = await anAgreement(gw, { versionRank: 1 });
    for (let i = 0; i < 20; i++) {
      const customer = await aCustomer(gw, { partners: [{ partner: w.provider }] });
      await anAcceptance(gw, { customer, partner: w.provider, template });
    }
    const token = await aPartnerToken(w.provider, Role.VIEWER);
    const query = `query ($first: Int) { customers(first: $first) { edges { node { id auditTrail { event at actor { id } acceptance { id } } } } } }`;
    await gw.gql(query, { first: 1 }, token);
    const count = (first: number) =>
      gw.countStatements(async () => {
        const res = await gw.gql(query, { first }, token);
        expect(res.errors).toBeUndefined();
        expect(res.data.customers.edges.length).toBe(first);
      });
    expect(await count(20)).toBe(await count(2));
  });
});

describe('Partner Center sync in the trail', () => {
  it('SYNCED (with the MS-RequestId) and SYNC_FAILED (with the error) appear where sync data exists, with no actor', async () => {
    const token = await aPartnerToken(w.provider);
    const before = await trail(token);
    const [approved, own] = before.filter((e: any) => e.event === 'CONFIRMED').map((e: any) => e.acceptance.id);
    const db = gw.orm.em.fork().getConnection();
    const requestId = '6f1c1b1e-9d7a-4e53-9a43-3c1f2f8d2a10';
    const syncedAt = new Date(Date.parse(before[4].at) + 1).toISOString();
    await db.execute(`update acceptance_syncs set status = 'SYNCED', synced_at = ?, request_id = ? where acceptance_id = ?`, [syncedAt, requestId, approved]);
    await db.execute(`update acceptance_syncs set status = 'FAILED', last_attempt_at = now(), last_error = 'Partner Center answered 500' where acceptance_id = ?`, [own]);
    const after = await trail(token);
    const synced = after.find((e: any) => e.event === 'SYNCED');
    expect(synced).toMatchObject({ at: syncedAt, actor: null, acceptance: { id: approved }, note: requestId });
    expect(after.indexOf(synced)).toBe(5); // right after the confirmation it delivered
    expect(after[after.length - 1]).toMatchObject({ event: 'SYNC_FAILED', actor: null, acceptance: { id: own }, note: 'Partner Center answered 500' });
    expect(after.length).toBe(before.length + 2);
  });
});
