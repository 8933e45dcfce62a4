import type { EntityManager } from '@mikro-orm/postgresql';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { aCustomer, aLink, aPartner, aPartnerToken } from '../factories';
import { PartnerType, Role } from '../../src/auth/roles';
import { CloudInstance } from '../../src/customers/customer.enums';
import { queryRows } from '../../src/db/query';
import { ATTESTATION_QUEUE } from '../../src/attestations/attestation.jobs';
import { anAttestWorld, CANCEL, countRows, FAST, FakeUpstream, LIST, markConnected, ONE, REQUEST, signatory, useUpstream, type AttestWorld } from './support';

/**
 * Requesting an attestation (DESIGN.md section 11): who may, what is refused (each with its
 * code, nothing written), what one request writes, and who reads what. The follower is
 * left idle here (an upstream that never answers): test/attestations/follow.test.ts follows.
 */

let gw: TestGateway;
/** Every upstream call waits forever: attestations stay as the mutation left them. */
const idle = new FakeUpstream();
idle.create = () => new Promise(() => undefined);
idle.cancel = () => new Promise(() => undefined);

beforeAll(async () => {
  gw = await startGateway(FAST);
  useUpstream(gw, idle);
});
afterAll(() => gw?.stop());

const em = () => gw.orm.em.fork() as EntityManager;
const input = (w: AttestWorld, extra: Record<string, unknown> = {}) => ({ customerId: w.customer.id, signatory, language: 'en-US', ...extra });

/** Runs `request` and checks that it wrote nothing: no attestation, no status change. */
async function refused(token: string, variables: Record<string, unknown>) {
  const before = [await countRows(gw, 'attestations'), await countRows(gw, 'attestation_updates')];
  const res = await gw.gql(REQUEST, variables, token);
  expect([await countRows(gw, 'attestations'), await countRows(gw, 'attestation_updates')]).toEqual(before);
  expect(res.data?.requestAttestation ?? null).toBeNull();
  return res.errors?.[0];
}

describe('requestAttestation', () => {
  it("a billing partner's ADMIN requests one: REQUESTED, its follow job and its first status change written with it", async () => {
    const w = await anAttestWorld(gw);
    const res = await gw.gql(REQUEST, { input: input(w, { linkLifetimeMinutes: 60 }) }, w.admin);
    expect(res.errors).toBeUndefined();
    const a = res.data.requestAttestation.attestation;
    expect(a).toMatchObject({ status: 'REQUESTED', upstreamId: null, acceptanceUrl: null, customer: { id: w.customer.id }, partner: { id: w.partner.id }, signatory, acceptance: null });
    const [row] = await queryRows<{ job_id: string; link_lifetime_minutes: number; company_name: string; country: string; language: string; create_request_id: string }>(
      em(),
      'select job_id, link_lifetime_minutes, company_name, country, language, create_request_id from attestations where id = ?',
      [a.id],
    );
    expect(row).toMatchObject({ link_lifetime_minutes: 60, company_name: w.customer.companyName, country: 'US', language: 'en-US' });
    expect(row.create_request_id).toMatch(/^[0-9a-f-]{36}$/);
    const jobs = await queryRows<{ name: string; data: { attestationId: string } }>(em(), 'select name, data from pgboss.job where id = ?', [row.job_id]);
    expect(jobs).toEqual([{ name: ATTESTATION_QUEUE, data: { attestationId: a.id, partnerId: w.partner.id } }]);
    const updates = await queryRows<{ status: string }>(em(), 'select status from attestation_updates where attestation_id = ?', [a.id]);
    expect(updates).toEqual([{ status: 'REQUESTED' }]);
  });

  it('an AGENT may request one too; the link lifetime defaults to 3 days; company name and country default to the customer\'s and may be given', async () => {
    const w = await anAttestWorld(gw);
    const res = await gw.gql(REQUEST, { input: input(w, { companyName: ' Contoso GmbH ', country: 'de', language: 'de-de' }) }, w.agent);
    expect(res.errors).toBeUndefined();
    const [row] = await queryRows(em(), 'select link_lifetime_minutes, company_name, country, language from attestations where id = ?', [res.data.requestAttestation.attestation.id]);
    expect(row).toEqual({ link_lifetime_minutes: 4320, company_name: 'Contoso GmbH', country: 'DE', language: 'de-DE' });
  });

  it('a VIEWER and an analyst may not request one (FORBIDDEN)', async () => {
    const w = await anAttestWorld(gw);
    expect((await refused(w.viewer, { input: input(w) }))?.extensions?.code).toBe('FORBIDDEN');
    expect((await refused(await analystToken(), { input: input(w) }))?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a platform admin names the billing partner (BAD_USER_INPUT partnerId without one)', async () => {
    const w = await anAttestWorld(gw);
    expect((await refused(await platformAdminToken(), { input: input(w) }))?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'partnerId' });
    const res = await gw.gql(REQUEST, { input: input(w, { partnerId: w.partner.id }) }, await platformAdminToken());
    expect(res.data?.requestAttestation.attestation.status).toBe('REQUESTED');
  });

  it('linkLifetimeMinutes outside 5..10080 is BAD_USER_INPUT on linkLifetimeMinutes, nothing written', async () => {
    const w = await anAttestWorld(gw);
    for (const minutes of [4, 0, -5, 10081]) {
      expect((await refused(w.admin, { input: input(w, { linkLifetimeMinutes: minutes }) }))?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'linkLifetimeMinutes' });
    }
    for (const minutes of [5, 10080]) {
      const res = await gw.gql(REQUEST, { input: input(w, { linkLifetimeMinutes: minutes }) }, w.admin);
      expect(res.data?.requestAttestation.attestation.status).toBe('REQUESTED');
      await gw.gql(CANCEL, { id: res.data.requestAttestation.attestation.id }, w.admin);
    }
  });

  it('a national-cloud customer is NOT_APPLICABLE, nothing written', async () => {
    const w = await anAttestWorld(gw, { customer: { cloud: CloudInstance.CHINA, country: 'CN' } });
    expect((await refused(w.admin, { input: input(w) }))?.extensions?.code).toBe('NOT_APPLICABLE');
  });

  it("another tenant's customer is NOT_FOUND, and a customer the named partner does not bill is FORBIDDEN, nothing written", async () => {
    const w = await anAttestWorld(gw);
    const other = await anAttestWorld(gw);
    expect((await refused(w.admin, { input: input(other) }))?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'customerId' });
    // A platform admin sees every customer: naming a partner without a relationship is refused as for confirmations.
    expect((await refused(await platformAdminToken(), { input: input(other, { partnerId: w.partner.id }) }))?.extensions?.code).toBe('FORBIDDEN');
    // A partner user naming another partner: as an unknown one.
    expect((await refused(w.admin, { input: input(w, { partnerId: other.partner.id }) }))?.extensions?.code).toBe('NOT_FOUND');
  });

  it('a partner not connected to Partner Center is CONFLICT, nothing written', async () => {
    const w = await anAttestWorld(gw, { connect: false });
    const err = await refused(w.admin, { input: input(w) });
    expect(err?.extensions?.code).toBe('CONFLICT');
    expect(err?.message).toMatch(/not connected to Partner Center/);
  });

  it('an attestation already open for the customer and partner is CONFLICT; concurrent requests open exactly one', async () => {
    const w = await anAttestWorld(gw);
    const results = await Promise.all([1, 2, 3, 4].map(() => gw.gql(REQUEST, { input: input(w) }, w.agent)));
    const ok = results.filter((r) => r.data?.requestAttestation);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => r.errors).map((r) => r.errors![0].extensions?.code)).toEqual(['CONFLICT', 'CONFLICT', 'CONFLICT']);
    expect((await refused(w.admin, { input: input(w) }))?.extensions?.code).toBe('CONFLICT');
    // Once it ends (cancelled), a new one may start.
    await gw.gql(CANCEL, { id: ok[0].data.requestAttestation.attestation.id }, w.admin);
    expect((await gw.gql(REQUEST, { input: input(w) }, w.admin)).data?.requestAttestation.attestation.status).toBe('REQUESTED');
  });

  it('an invalid signatory is BAD_USER_INPUT on its field, as for confirmations; nothing written', async () => {
    const w = await anAttestWorld(gw);
    const cases: [Record<string, unknown>, string][] = [
      [{ ...signatory, firstName: '  ' }, 'signatory.firstName'],
      [{ ...signatory, lastName: '' }, 'signatory.lastName'],
      [{ ...signatory, phoneNumber: '+1 000' }, 'signatory.phoneNumber'],
    ];
    for (const [s, field] of cases) {
      const err = await refused(w.admin, { input: input(w, { signatory: s }) });
      expect(err?.extensions?.code).toBe('BAD_USER_INPUT');
      // The phone scalar refuses some numbers before the service sees them.
      if (err?.extensions?.field !== undefined) expect(err.extensions.field).toBe(field);
    }
    expect((await refused(w.admin, { input: input(w, { signatory: { ...signatory, email: 'not-an-email' } }) }))?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('country must be ISO 3166-1 alpha-2 and language BCP 47 (BAD_USER_INPUT on the field), nothing written', async () => {
    const w = await anAttestWorld(gw);
    expect((await refused(w.admin, { input: input(w, { country: 'Germany' }) }))?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'country' });
    expect((await refused(w.admin, { input: input(w, { country: 'XX' }) }))?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'country' });
    expect((await refused(w.admin, { input: input(w, { language: 'english please' }) }))?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'language' });
    expect((await refused(w.admin, { input: input(w, { companyName: '   ' }) }))?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'companyName' });
  });

  it('a reseller cannot request one (FORBIDDEN), even for a customer it serves', async () => {
    const provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
    const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    await aLink(gw, reseller, provider);
    await markConnected(gw, provider);
    const w = await anAttestWorld(gw, { customer: { partners: [{ partner: provider, resellers: [reseller] }] } });
    const token = await aPartnerToken(reseller, Role.ADMIN);
    expect((await refused(token, { input: input(w) }))?.extensions?.code).toBe('FORBIDDEN');
    expect((await refused(token, { input: input(w, { partnerId: provider.id }) }))?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('reading attestations', () => {
  it("only the billing partner's ADMIN and AGENT read acceptanceUrl: null for its VIEWER, an analyst, a platform admin and a linked reseller", async () => {
    const provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
    const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    await aLink(gw, reseller, provider);
    await markConnected(gw, provider);
    const customer = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
    const w = await anAttestWorld(gw);
    const admin = await aPartnerToken(provider, Role.ADMIN);
    const res = await gw.gql(REQUEST, { input: { customerId: customer.id, signatory, language: 'en-US' } }, admin);
    const id = res.data.requestAttestation.attestation.id;
    await queryRows(em(), `update attestations set acceptance_url = 'https://accept.example/x', status = 'LINK_ISSUED' where id = ?`, [id]);
    const urlFor = async (token: string) => (await gw.gql(ONE, { id }, token)).data?.attestation?.acceptanceUrl;
    expect(await urlFor(admin)).toBe('https://accept.example/x');
    expect(await urlFor(await aPartnerToken(provider, Role.AGENT))).toBe('https://accept.example/x');
    expect(await urlFor(await aPartnerToken(provider, Role.VIEWER))).toBeNull();
    expect(await urlFor(await analystToken())).toBeNull();
    expect(await urlFor(await platformAdminToken())).toBeNull();
    // The reseller reads its provider's attestation of a customer it serves (as it reads the acceptance), without the link.
    const resellerRead = await gw.gql(ONE, { id }, await aPartnerToken(reseller, Role.ADMIN));
    expect(resellerRead.data.attestation).toMatchObject({ id, acceptanceUrl: null });
    // Another tenant reads nothing.
    expect((await gw.gql(ONE, { id }, w.admin)).data.attestation).toBeNull();
  });

  it("an analyst reads the signatory masked", async () => {
    const w = await anAttestWorld(gw);
    const id = (await gw.gql(REQUEST, { input: input(w) }, w.admin)).data.requestAttestation.attestation.id;
    const read = await gw.gql(ONE, { id }, await analystToken());
    expect(read.data.attestation.signatory).toEqual({ firstName: 'S***', lastName: 'S***', email: 's***@example.com', phoneNumber: '**********23' });
  });

  it("attestations lists what the caller may read, narrowed by partner (another tenant's: nothing) and status, with totalCount and cursors", async () => {
    const w = await anAttestWorld(gw);
    const other = await anAttestWorld(gw);
    const c2 = await aCustomer(gw, { partners: [{ partner: w.partner }] });
    const first = (await gw.gql(REQUEST, { input: input(w) }, w.admin)).data.requestAttestation.attestation.id;
    const second = (await gw.gql(REQUEST, { input: { ...input(w), customerId: c2.id } }, w.admin)).data.requestAttestation.attestation.id;
    await gw.gql(REQUEST, { input: input(other) }, other.admin);
    await gw.gql(CANCEL, { id: first }, w.admin);
    const page1 = await gw.gql(LIST, { first: 1 }, w.viewer);
    expect(page1.data.attestations.totalCount).toBe(2);
    expect(page1.data.attestations.edges.map((e: any) => e.node.id)).toEqual([first]);
    expect(page1.data.attestations.pageInfo.hasNextPage).toBe(true);
    const page2 = await gw.gql(LIST, { first: 1, after: page1.data.attestations.pageInfo.endCursor }, w.viewer);
    expect(page2.data.attestations.edges.map((e: any) => e.node.id)).toEqual([second]);
    const cancelled = await gw.gql(LIST, { status: 'CANCELLED' }, w.viewer);
    expect(cancelled.data.attestations.edges.map((e: any) => e.node.id)).toEqual([first]);
    expect((await gw.gql(LIST, { partnerId: other.partner.id }, w.viewer)).data.attestations.totalCount).toBe(0);
    const all = await gw.gql(LIST, { partnerId: w.partner.id }, await platformAdminToken());
    expect(all.data.attestations.totalCount).toBe(2);
  });
});

describe('cancelAttestation', () => {
  it("cancels the partner's open attestation (CANCELLED at once, a status change); a second cancel is CONFLICT; another tenant's id is NOT_FOUND", async () => {
    const w = await anAttestWorld(gw);
    const other = await anAttestWorld(gw);
    const id = (await gw.gql(REQUEST, { input: input(w) }, w.admin)).data.requestAttestation.attestation.id;
    expect((await gw.gql(CANCEL, { id }, other.admin)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await gw.gql(CANCEL, { id }, w.viewer)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const res = await gw.gql(CANCEL, { id }, w.agent);
    expect(res.data.cancelAttestation.attestation).toEqual({ id, status: 'CANCELLED' });
    expect((await gw.gql(CANCEL, { id }, w.agent)).errors?.[0].extensions?.code).toBe('CONFLICT');
    const updates = await queryRows<{ status: string }>(em(), 'select status from attestation_updates where attestation_id = ? order by id', [id]);
    expect(updates.map((u) => u.status)).toEqual(['REQUESTED', 'CANCELLED']);
    expect((await gw.gql(CANCEL, { id: 'not-an-id' }, w.agent)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('an attestation the customer already accepted can no longer be cancelled (CONFLICT)', async () => {
    const w = await anAttestWorld(gw);
    const id = (await gw.gql(REQUEST, { input: input(w) }, w.admin)).data.requestAttestation.attestation.id;
    await queryRows(em(), `update attestations set status = 'CUSTOMER_ACCEPTED' where id = ?`, [id]);
    const err = (await gw.gql(CANCEL, { id }, w.admin)).errors?.[0];
    expect(err?.extensions?.code).toBe('CONFLICT');
    expect(err?.message).toMatch(/already accepted/);
  });
});
