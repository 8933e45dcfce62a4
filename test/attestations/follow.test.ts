import type { EntityManager } from '@mikro-orm/postgresql';
import { analystToken, startGateway, type TestGateway } from '../support/gateway';
import { aCustomer, aLink, aPartner, aPartnerToken } from '../factories';
import { PartnerType, Role } from '../../src/auth/roles';
import { queryRows } from '../../src/db/query';
import { UpstreamRefusal, UpstreamUnavailable } from '../../src/attestations/attestation.upstream';
import { SUBMIT } from '../acceptance/ops';
import { connect, disposeAll, subscribe } from '../alerts/ws';
import { anAttestWorld, CANCEL, eventually, FAST, FakeUpstream, markConnected, ON_UPDATE, ONE, REQUEST, signatory, useUpstream, type AttestWorld } from './support';

/**
 * Following an attestation (DESIGN.md section 11) against an in-memory Partner Center:
 * REQUESTED → LINK_ISSUED → CUSTOMER_ACCEPTED → RECORDED with the confirmation; EXPIRED,
 * CANCELLED, FAILED; retries with the same MS-RequestId; live status changes. The real
 * HTTP calls against the simulator are test/attestations/simulator.test.ts's.
 */

let gw: TestGateway;
const upstream = new FakeUpstream();

beforeAll(async () => {
  gw = await startGateway(FAST);
  useUpstream(gw, upstream);
});
afterAll(async () => {
  await disposeAll();
  await gw?.stop();
});

const em = () => gw.orm.em.fork() as EntityManager;
const input = (w: AttestWorld, extra: Record<string, unknown> = {}) => ({ customerId: w.customer.id, signatory, language: 'en-US', ...extra });

async function requested(w: AttestWorld, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await gw.gql(REQUEST, { input: input(w, extra) }, w.admin);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.requestAttestation.attestation.id;
}

const read = async (w: AttestWorld, id: string) => (await gw.gql(ONE, { id }, w.admin)).data.attestation;
const until = (w: AttestWorld, id: string, status: string) =>
  eventually(
    () => read(w, id),
    (a) => a.status === status,
  );

describe('following an attestation', () => {
  it('REQUESTED → LINK_ISSUED: created upstream with the signatory, country, language and link lifetime; upstream id, acceptanceUrl and linkExpiresAt kept', async () => {
    const w = await anAttestWorld(gw);
    const id = await requested(w, { linkLifetimeMinutes: 30, companyName: 'Contoso Ltd' });
    const a = await until(w, id, 'LINK_ISSUED');
    const up = upstream.attestations.get(a.upstreamId)!;
    expect(up.body).toEqual({
      customerTenantId: w.customer.tenantId,
      country: 'US',
      language: 'en-US',
      companyName: 'Contoso Ltd',
      signatoryFirstName: 'Sam',
      signatoryLastName: 'Signer',
      signatoryEmail: 'sam.signer@example.com',
      signatoryPhoneNumber: '+14255550123',
      expirationTimeInMinutes: 30,
    });
    expect(a.acceptanceUrl).toBe(up.acceptanceLink);
    expect(new Date(a.linkExpiresAt).getTime()).toBe(up.expirationTime!.getTime());
    expect(upstream.calls.find((c) => c.op === 'create' && c.scope.attestationId === id)?.scope).toEqual({ partnerId: w.partner.id, attestationId: id, customerId: w.customer.id });
  });

  it('CUSTOMER_ACCEPTED → RECORDED: the agreement is created upstream with the attestation id, and the confirmation recorded once (source ATTESTATION, dated the acceptance upstream, signed by the signatory, already SYNCED)', async () => {
    const w = await anAttestWorld(gw);
    const id = await requested(w);
    const issued = await until(w, id, 'LINK_ISSUED');
    const acceptedAt = new Date(Date.now() - 3 * 86_400_000);
    upstream.accept(issued.upstreamId, acceptedAt);
    const a = await until(w, id, 'RECORDED');
    expect(a.acceptance).toMatchObject({ dateAgreed: acceptedAt.toISOString().slice(0, 10), agreement: { type: 'MICROSOFT_CUSTOMER_AGREEMENT' } });
    const agreement = upstream.agreements.find((g) => g.body.attestationId === issued.upstreamId)!;
    expect(agreement.body).toMatchObject({ type: 'MicrosoftCustomerAgreement', attestationId: issued.upstreamId, primaryContact: { firstName: 'Sam', lastName: 'Signer', email: 'sam.signer@example.com', phoneNumber: '+14255550123' } });
    const [row] = await queryRows<{ agreement_request_id: string; recorded_at: string; job_id: string | null }>(em(), 'select agreement_request_id, recorded_at, job_id from attestations where id = ?', [id]);
    expect(agreement.requestId).toBe(row.agreement_request_id);
    expect(row.job_id).toBeNull();
    const acceptances = await queryRows(
      em(),
      `select a.source, a.attestation_id, a.status, a.contact_first_name, a.contact_email, a.contact_phone_number, s.status as sync
         from acceptances a join acceptance_syncs s on s.acceptance_id = a.id where a.customer_id = ?`,
      [w.customer.id],
    );
    expect(acceptances).toEqual([
      { source: 'ATTESTATION', attestation_id: id, status: 'ACTIVE', contact_first_name: 'Sam', contact_email: 'sam.signer@example.com', contact_phone_number: '+14255550123', sync: 'SYNCED' },
    ]);
    const updates = await queryRows<{ status: string }>(em(), 'select status from attestation_updates where attestation_id = ? order by id', [id]);
    expect(updates.map((u) => u.status)).toEqual(['REQUESTED', 'LINK_ISSUED', 'CUSTOMER_ACCEPTED', 'RECORDED']);
  });

  it('the audit trail shows ATTESTATION_REQUESTED (by the requester) and ATTESTED, then the confirmation it recorded', async () => {
    const w = await anAttestWorld(gw);
    const id = await requested(w);
    upstream.accept((await until(w, id, 'LINK_ISSUED')).upstreamId);
    await until(w, id, 'RECORDED');
    const trail = await gw.gql(
      'query ($id: ID!) { customer(id: $id) { auditTrail { event actor { id } note } } }',
      { id: w.customer.id },
      w.admin,
    );
    expect(trail.errors).toBeUndefined();
    const events = trail.data.customer.auditTrail as { event: string; actor: { id: string } | null; note: string | null }[];
    expect(events.map((e) => e.event)).toEqual(['ATTESTATION_REQUESTED', 'ATTESTED', 'CONFIRMED', 'SYNCED']);
    expect(events[0]).toMatchObject({ actor: { id: `admin-${w.partner.id}` }, note: id });
  });

  it('the MS-RequestId of the agreement call is stored BEFORE the call, and a retried call sends the same one', async () => {
    const w = await anAttestWorld(gw);
    const id = await requested(w);
    upstream.cues.set('createAgreement', new UpstreamUnavailable('Partner Center answered 503'));
    upstream.accept((await until(w, id, 'LINK_ISSUED')).upstreamId);
    const failed = await eventually(
      () => queryRows<{ agreement_request_id: string | null; status: string; last_error: string | null }>(em(), 'select agreement_request_id, status, last_error from attestations where id = ?', [id]),
      ([r]) => r.last_error !== null,
    );
    expect(failed[0]).toMatchObject({ status: 'CUSTOMER_ACCEPTED', last_error: 'Partner Center answered 503' });
    expect(failed[0].agreement_request_id).toMatch(/^[0-9a-f-]{36}$/);
    await until(w, id, 'RECORDED');
    const calls = upstream.calls.filter((c) => c.op === 'createAgreement' && c.scope.attestationId === id);
    expect(calls.length).toBe(2);
    expect(new Set(calls.map((c) => c.requestId))).toEqual(new Set([failed[0].agreement_request_id]));
  });

  it('passing trouble on create is tried again with the same MS-RequestId', async () => {
    const w = await anAttestWorld(gw);
    upstream.cues.set('create', new Error('no answer within 2000 ms'));
    const id = await requested(w);
    await until(w, id, 'LINK_ISSUED');
    const ids = upstream.calls.filter((c) => c.op === 'create' && c.scope.attestationId === id).map((c) => c.requestId);
    expect(ids.length).toBe(2);
    expect(ids[0]).toBe(ids[1]);
  });

  it('a link that expires before the customer accepts → EXPIRED; a new attestation may then start', async () => {
    const w = await anAttestWorld(gw);
    const id = await requested(w);
    upstream.expire((await until(w, id, 'LINK_ISSUED')).upstreamId);
    await until(w, id, 'EXPIRED');
    expect((await gw.gql(REQUEST, { input: input(w) }, w.admin)).data?.requestAttestation.attestation.status).toBe('REQUESTED');
  });

  it('a link past its expiry time upstream still unaccepted → EXPIRED', async () => {
    const w = await anAttestWorld(gw);
    const id = await requested(w);
    const issued = await until(w, id, 'LINK_ISSUED');
    upstream.attestations.get(issued.upstreamId)!.expirationTime = new Date(Date.now() - 1000);
    await until(w, id, 'EXPIRED');
  });

  it('an upstream 4xx → FAILED with the upstream code in lastError; nothing recorded', async () => {
    const w = await anAttestWorld(gw);
    upstream.cues.set('create', new UpstreamRefusal(400, '600003', 'signatoryEmail is not a valid email address'));
    const id = await requested(w);
    const a = await until(w, id, 'FAILED');
    expect(a.lastError).toBe('600003: signatoryEmail is not a valid email address');
    const w2 = await anAttestWorld(gw);
    upstream.cues.set('createAgreement', new UpstreamRefusal(400, '600061', 'A partner confirmed agreement already exists'));
    const id2 = await requested(w2);
    upstream.accept((await until(w2, id2, 'LINK_ISSUED')).upstreamId);
    expect((await until(w2, id2, 'FAILED')).lastError).toMatch(/^600061: /);
    expect(await queryRows(em(), 'select 1 from acceptances where customer_id = ?', [w2.customer.id])).toEqual([]);
    const [row] = await queryRows(em(), 'select error_code from attestations where id = ?', [id2]);
    expect(row).toEqual({ error_code: '600061' });
  });

  it('cancelling an issued link cancels it upstream too; a stale poll job changes nothing after', async () => {
    const w = await anAttestWorld(gw);
    const id = await requested(w);
    const issued = await until(w, id, 'LINK_ISSUED');
    expect((await gw.gql(CANCEL, { id }, w.agent)).data.cancelAttestation.attestation.status).toBe('CANCELLED');
    await eventually(
      async () => upstream.attestations.get(issued.upstreamId)!.status,
      (s) => s === 'Cancelled',
    );
    // The customer accepting the old link now changes nothing here.
    upstream.accept(issued.upstreamId);
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await read(w, id)).status).toBe('CANCELLED');
    expect(await queryRows(em(), 'select 1 from acceptances where customer_id = ?', [w.customer.id])).toEqual([]);
  });

  it("a provider attests from its reseller's PENDING submission: the signatory is the submission's, and the submission is approved when RECORDED", async () => {
    const provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
    const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    await aLink(gw, reseller, provider);
    await markConnected(gw, provider);
    const customer = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
    const w = { ...(await anAttestWorld(gw)), partner: provider, customer, admin: await aPartnerToken(provider, Role.ADMIN) };
    const resellerToken = await aPartnerToken(reseller, Role.AGENT);
    const submitted = await gw.gql(
      SUBMIT,
      { input: { customerId: customer.id, providerId: provider.id, templateId: w.templateId, dateAgreed: '2025-01-10', contact: { firstName: 'Rita', lastName: 'Reseller', email: 'rita@example.com' } } },
      resellerToken,
    );
    expect(submitted.errors).toBeUndefined();
    const submissionId = submitted.data.submitAcceptanceToProvider.submission.id;
    // A reseller cannot start one from its own submission.
    expect((await gw.gql(REQUEST, { input: { customerId: customer.id, partnerId: provider.id, signatory, language: 'en-US', submissionId } }, resellerToken)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    // Another provider's view of the submission: as missing.
    const otherProvider = await anAttestWorld(gw, { type: PartnerType.INDIRECT_PROVIDER });
    expect((await gw.gql(REQUEST, { input: { ...input(otherProvider), submissionId } }, otherProvider.admin)).errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'submissionId' });
    // The reseller follows its submission's attestation live too (without the link).
    const sub = subscribe(connect(gw, resellerToken).client, ON_UPDATE, {}, (d) => d.attestationUpdates);
    await new Promise((r) => setTimeout(r, 300));
    const res = await gw.gql(REQUEST, { input: { customerId: customer.id, signatory, language: 'en-US', submissionId } }, w.admin);
    expect(res.errors).toBeUndefined();
    const id = res.data.requestAttestation.attestation.id;
    expect(res.data.requestAttestation.attestation.signatory).toEqual({ firstName: 'Rita', lastName: 'Reseller', email: 'rita@example.com', phoneNumber: null });
    upstream.accept((await until(w, id, 'LINK_ISSUED')).upstreamId);
    await until(w, id, 'RECORDED');
    const [s] = await queryRows<{ status: string; acceptance_id: string; reviewed_by_id: string }>(em(), 'select status, acceptance_id, reviewed_by_id from acceptance_submissions where id = ?', [submissionId]);
    const [a] = await queryRows<{ id: string; on_behalf_of: string; source: string }>(em(), 'select id, on_behalf_of, source from acceptances where customer_id = ?', [customer.id]);
    expect(s).toEqual({ status: 'APPROVED', acceptance_id: a.id, reviewed_by_id: `admin-${provider.id}` });
    expect(a).toMatchObject({ on_behalf_of: reseller.name, source: 'ATTESTATION' });
    const seen = await sub.until((r) => r.some((u: any) => u.status === 'RECORDED'));
    expect(seen.filter((u: any) => u.id === id).map((u: any) => u.status)).toEqual(['REQUESTED', 'LINK_ISSUED', 'CUSTOMER_ACCEPTED', 'RECORDED']);
    // A submission already reviewed cannot start another.
    expect((await gw.gql(REQUEST, { input: { customerId: customer.id, signatory, language: 'en-US', submissionId } }, w.admin)).errors?.[0].extensions?.code).toBe('CONFLICT');
  });
});

describe('attestationUpdates', () => {
  it("delivers each status change live to the billing partner's users (and platform roles), never to another tenant", async () => {
    expect.assertions(4);
    const w = await anAttestWorld(gw);
    const other = await anAttestWorld(gw);
    const mine = subscribe(connect(gw, w.viewer).client, ON_UPDATE, {}, (d) => d.attestationUpdates);
    const platform = subscribe(connect(gw, await analystToken()).client, ON_UPDATE, { partnerId: w.partner.id }, (d) => d.attestationUpdates);
    const foreign = subscribe(connect(gw, other.admin).client, ON_UPDATE, {}, (d) => d.attestationUpdates);
    const narrowed = subscribe(connect(gw, w.admin).client, ON_UPDATE, { partnerId: other.partner.id }, (d) => d.attestationUpdates);
    await new Promise((r) => setTimeout(r, 300));
    const id = await requested(w);
    upstream.accept((await until(w, id, 'LINK_ISSUED')).upstreamId);
    const got = await mine.until((r) => r.some((u: any) => u.id === id && u.status === 'RECORDED'));
    expect(got.filter((u: any) => u.id === id)).toEqual(
      ['REQUESTED', 'LINK_ISSUED', 'CUSTOMER_ACCEPTED', 'RECORDED'].map((status) => ({ id, status, customer: { id: w.customer.id }, lastError: null })),
    );
    expect((await platform.until((r) => r.some((u: any) => u.id === id && u.status === 'RECORDED'))).filter((u: any) => u.id === id)).toHaveLength(4);
    expect(foreign.received.filter((u: any) => u.id === id)).toEqual([]);
    expect(narrowed.received.filter((u: any) => u.id === id)).toEqual([]);
  });

  it('a change made on one gateway instance reaches subscribers on another (PostgreSQL NOTIFY)', async () => {
    const second = await startGateway(FAST, gw.databaseUrl);
    try {
      useUpstream(second, upstream);
      const w = await anAttestWorld(gw);
      const there = subscribe(connect(second, w.admin).client, ON_UPDATE, {}, (d) => d.attestationUpdates);
      await new Promise((r) => setTimeout(r, 300));
      const id = await requested(w);
      upstream.accept((await until(w, id, 'LINK_ISSUED')).upstreamId);
      const got = await there.until((r) => r.some((u: any) => u.id === id && u.status === 'RECORDED'));
      expect(got.filter((u: any) => u.id === id).map((u: any) => u.status)).toEqual(['REQUESTED', 'LINK_ISSUED', 'CUSTOMER_ACCEPTED', 'RECORDED']);
    } finally {
      await disposeAll();
      await second.stop();
    }
  });
});

describe('recording refused locally', () => {
  it('a customer the partner no longer bills when the agreement comes back → FAILED with FORBIDDEN, nothing recorded', async () => {
    const w = await anAttestWorld(gw);
    const id = await requested(w);
    const issued = await until(w, id, 'LINK_ISSUED');
    await queryRows(em(), 'delete from customer_relationships where customer_id = ? and partner_id = ?', [w.customer.id, w.partner.id]);
    upstream.accept(issued.upstreamId);
    const failed = await eventually(
      async () => (await queryRows<{ status: string; last_error: string }>(em(), 'select status, last_error from attestations where id = ?', [id]))[0],
      (r) => r.status === 'FAILED',
    );
    expect(failed.last_error).toMatch(/^FORBIDDEN: /);
    expect(await queryRows(em(), 'select 1 from acceptances where customer_id = ?', [w.customer.id])).toEqual([]);
  });
});
