import type { EntityManager } from '@mikro-orm/postgresql';
import { aCustomer, anAcceptance, anAgreement, aLink, aPartner, aPartnerToken, aSubscription } from '../factories';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { queryRows } from '../../src/db/query';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { appendAuditChain, backfillAuditChain, canonicalEvent, canonicalJson, GENESIS_HASH, linkHash, sha256Hex, verifyPairs, type DerivedEvent, type Pair } from '../../src/audit/audit.chain';
import { recordFailed, recordSynced } from '../../src/partner-center/partner-center.queries';
import { CONFIRM, CORRECT, REVIEW, SUBMIT, WITHDRAW, contact } from '../acceptance/ops';

/** DESIGN.md section 13: the tamper-evident audit trail (src/audit/audit.chain.ts). */

let gw: TestGateway;
let provider: Partner;
let reseller: Partner;
let template: AgreementTemplate;
const em = () => gw.orm.em.fork() as EntityManager;
const sql = (text: string, values: unknown[] = []) => queryRows<any>(em(), text, values);

beforeAll(async () => {
  gw = await startGateway();
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
  template = await anAgreement(gw, { country: 'GLOBAL', versionRank: 1, effectiveFrom: '2018-01-01' });
});
afterAll(() => gw?.stop());

const send = async (query: string, input: Record<string, unknown>, token: string) => {
  const res = await gw.gql(query, { input }, token);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data;
};
const details = () => ({ templateId: template.templateId, dateAgreed: '2024-05-02', contact });
const verify = async (pair: Pair) => (await verifyPairs(em(), [pair]))[0];
/** The derived trail's events of the pair (the GraphQL field), as event names in order. */
const trail = async (pair: Pair) => {
  const res = await gw.gql(`query($id: ID!, $p: ID) { customer(id: $id) { auditTrail(partnerId: $p) { event at } } }`, { id: pair.customerId, p: pair.partnerId }, await platformAdminToken());
  return res.data.customer.auditTrail.map((e: any) => e.event) as string[];
};
const chained = async (pair: Pair) =>
  (await sql('select event from audit_chain where customer_id = ? and partner_id = ? order by seq', [pair.customerId, pair.partnerId])).map((r) => r.event as string);

/** After a writer: the chain is valid and holds exactly the trail's events (state events may have older links). */
async function expectAgree(pair: Pair) {
  const v = await verify(pair);
  expect(v.firstBroken).toBeNull();
  expect(v.valid).toBe(true);
  const links = await chained(pair);
  const events = await trail(pair);
  expect(links.filter((e) => !['SYNCED', 'SYNC_FAILED', 'DIRECT_ACCEPTANCE'].includes(e)).sort()).toEqual(
    events.filter((e) => !['SYNCED', 'SYNC_FAILED', 'DIRECT_ACCEPTANCE'].includes(e)).sort(),
  );
  for (const e of events) expect(links).toContain(e);
  return v;
}

describe('canonical JSON', () => {
  it('sorts keys by UTF-16 code units at every depth, writes no whitespace, keeps null and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null, 'x'], c: 'é' }, é: 2, Z: undefined, A: null })).toBe('{"A":null,"a":{"c":"é","d":[true,null,"x"]},"b":1,"é":2}');
    expect(canonicalJson('line\nbreak "quoted"')).toBe('"line\\nbreak \\"quoted\\""');
    expect(() => canonicalJson(new Date())).toThrow();
    expect(() => canonicalJson(Number.NaN)).toThrow();
  });

  it("an event's canonical text is the canonical JSON of its object, for any texts, nulls and facts (written out in key order, not sorted per event)", () => {
    const text = fc.option(fc.string({ unit: 'binary' }), { nil: null });
    const facts = fc.option(fc.jsonValue().map((v) => JSON.stringify(v)), { nil: null });
    const event = fc.record({
      customer_id: fc.uuid(),
      partner_id: fc.uuid(),
      event: fc.constantFrom('CONFIRMED', 'SUBMITTED', 'ATTESTATION_REQUESTED', 'CORRECTED', 'SYNCED', 'WITHDRAWN'),
      key: fc.string(),
      at_text: fc.constant('2026-12-03T14:00:00.123456Z'),
      acceptance_id: fc.option(fc.uuid(), { nil: null }),
      actor_id: text,
      field: text,
      old_value: text,
      new_value: text,
      note: text,
      facts,
      event_key: fc.string(),
    });
    fc.assert(
      fc.property(event, (e: DerivedEvent) => {
        const object = {
          v: 1,
          customerId: e.customer_id,
          partnerId: e.partner_id,
          event: e.event,
          at: e.at_text,
          key: e.key,
          acceptanceId: ['SUBMITTED', 'ATTESTATION_REQUESTED'].includes(e.event) ? null : e.acceptance_id,
          actorId: e.actor_id,
          field: e.field,
          oldValue: e.old_value,
          newValue: e.new_value,
          note: e.note,
          facts: e.facts === null ? null : JSON.parse(e.facts),
        };
        expect(canonicalEvent(e)).toBe(canonicalJson(object));
      }),
      { numRuns: 500 },
    );
    // A field the trail SQL never leaves undefined takes the generic form (the key dropped), not the text "undefined".
    const partial = { customer_id: 'c', partner_id: 'p', event: 'CONFIRMED', key: 'k', at_text: 't', acceptance_id: null, actor_id: undefined, field: null, old_value: null, new_value: null, note: null, facts: null, event_key: 'e' };
    expect(canonicalEvent(partial as unknown as DerivedEvent)).toBe('{"acceptanceId":null,"at":"t","customerId":"c","event":"CONFIRMED","facts":null,"field":null,"key":"k","newValue":null,"note":null,"oldValue":null,"partnerId":"p","v":1}');
  });

  it('SHA-256 in hex of the UTF-8 text, as the chain stores it', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    for (const t of ['abc', 'é', '\u{1F600} ünïcode', 'x'.repeat(1000)]) expect(sha256Hex(t)).toBe(createHash('sha256').update(t, 'utf8').digest('hex'));
  });

  it("each link's hash is SHA-256 of the previous hash and its canonical text; the first follows 64 zeros", async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: provider }] });
    await send(CONFIRM, { customerId: customer.id, ...details() }, await aPartnerToken(provider));
    const [link] = await sql('select * from audit_chain where customer_id = ? order by seq', [customer.id]);
    expect(link.prev_hash).toBe(GENESIS_HASH);
    expect(link.hash).toBe(linkHash(GENESIS_HASH, link.canonical));
    expect(link.hash).toMatch(/^[0-9a-f]{64}$/);
    const parsed = JSON.parse(link.canonical);
    expect(canonicalJson(parsed)).toBe(link.canonical);
    expect(parsed).toMatchObject({ v: 1, event: 'CONFIRMED', customerId: customer.id, partnerId: provider.id, facts: { contact, templateId: template.templateId, source: 'PARTNER_RECORDED' } });
    expect(parsed.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  });
});

describe('every writer chains its event in its own transaction', () => {
  it('submit, reject, approve, confirm, supersede, correct, withdraw, sync recorded and failed, direct acceptance, a new relationship: after each the trail and the chain agree', async () => {
    const other = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const customer = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
    const pair = { customerId: customer.id, partnerId: provider.id };
    const resellerAgent = await aPartnerToken(reseller, Role.AGENT);
    const providerAgent = await aPartnerToken(provider, Role.AGENT);

    const s1 = await send(SUBMIT, { customerId: customer.id, providerId: provider.id, ...details() }, resellerAgent);
    await expectAgree(pair);
    await send(REVIEW, { submissionId: s1.submitAcceptanceToProvider.submission.id, decision: 'REJECT', note: 'Wrong phone' }, providerAgent);
    await expectAgree(pair);
    const s2 = await send(SUBMIT, { customerId: customer.id, providerId: provider.id, ...details() }, resellerAgent);
    await send(REVIEW, { submissionId: s2.submitAcceptanceToProvider.submission.id, decision: 'APPROVE' }, providerAgent);
    await expectAgree(pair);
    const c = await send(CONFIRM, { customerId: customer.id, ...details() }, providerAgent);
    const acceptanceId = c.confirmCustomerAcceptance.acceptance.id;
    await expectAgree(pair); // CONFIRMED and the approval's confirmation SUPERSEDED
    await send(CORRECT, { acceptanceId, contact: { ...contact, email: 'ada.king@example.com' } }, providerAgent);
    await expectAgree(pair);

    // The sync engine's outcomes (src/partner-center/partner-center.queries.ts).
    await sql(`update acceptance_syncs set status = 'PENDING', job_id = '00000000-0000-0000-0000-00000000000a' where acceptance_id = ?`, [acceptanceId]);
    await recordFailed(em(), acceptanceId, '00000000-0000-0000-0000-00000000000a', 'Upstream 400 (600002)', '00000000-0000-0000-0000-0000000000aa');
    await expectAgree(pair);
    await sql(`update acceptance_syncs set status = 'PENDING', last_attempt_at = now(), job_id = '00000000-0000-0000-0000-00000000000b' where acceptance_id = ?`, [acceptanceId]);
    await recordSynced(em(), acceptanceId, '00000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-0000000000bb');
    expect(await trail(pair)).toContain('SYNCED');
    await expectAgree(pair);

    await send(WITHDRAW, { customerId: customer.id, reason: 'Asked to withdraw' }, providerAgent);
    await expectAgree(pair);

    const admin = await platformAdminToken();
    await send(`mutation($input: DirectAcceptanceInput!) { recordDirectAcceptance(input: $input) { customer { id } } }`, { customerId: customer.id, acceptedOn: '2025-01-10' }, admin);
    expect(await trail(pair)).toContain('DIRECT_ACCEPTANCE');
    await expectAgree(pair);
    // Recorded again (another day): a new state, a new link; the old one still checks by its hash.
    await send(`mutation($input: DirectAcceptanceInput!) { recordDirectAcceptance(input: $input) { customer { id } } }`, { customerId: customer.id, acceptedOn: '2025-02-10' }, admin);
    await expectAgree(pair);

    await send(`mutation($input: AddCustomerRelationshipInput!) { addCustomerRelationship(input: $input) { customer { id } } }`, { customerId: customer.id, partnerId: other.id }, admin);
    const v = await expectAgree({ customerId: customer.id, partnerId: other.id });
    expect(v.events).toBe(1);
  });
});

describe('subscription events are chained like the others', () => {
  it('auto-renew off and on, and a withdrawal that cancels one subscription and ends another: after each the trail and the chain agree', async () => {
    const partner = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const customer = await aCustomer(gw, { partners: [{ partner }] });
    const pair = { customerId: customer.id, partnerId: partner.id };
    const agent = await aPartnerToken(partner, Role.AGENT);
    await send(CONFIRM, { customerId: customer.id, ...details() }, agent);
    const inWindow = await aSubscription(gw, { customer, partner });
    const outside = await aSubscription(gw, { customer, partner, termStartedAt: new Date(Date.now() - 30 * 86_400_000) });
    const setAutoRenew = `mutation($id: ID!, $on: Boolean!) { setAutoRenew(subscriptionId: $id, autoRenew: $on) { subscription { id status } } }`;
    expect((await gw.gql(setAutoRenew, { id: outside.id, on: false }, agent)).errors).toBeUndefined();
    expect((await gw.gql(setAutoRenew, { id: outside.id, on: true }, agent)).errors).toBeUndefined();
    expect(await trail(pair)).toEqual(expect.arrayContaining(['AUTO_RENEW_OFF', 'AUTO_RENEW_ON']));
    await expectAgree(pair);
    await send(WITHDRAW, { customerId: customer.id, reason: 'Asked to withdraw' }, agent);
    expect(await trail(pair)).toEqual(expect.arrayContaining(['WITHDRAWN', 'SUBSCRIPTION_CANCELLED']));
    expect((await trail(pair)).filter((e) => e === 'AUTO_RENEW_OFF')).toHaveLength(2);
    await expectAgree(pair);
    expect(inWindow.id).not.toBe(outside.id);
  });
});

describe('verification recomputes from the current rows', () => {
  it('a contact email edited directly in PostgreSQL breaks the chain at the confirmation, named by time and event', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: provider }] });
    const pair = { customerId: customer.id, partnerId: provider.id };
    const c = await send(CONFIRM, { customerId: customer.id, ...details() }, await aPartnerToken(provider));
    await send(WITHDRAW, { customerId: customer.id, reason: 'gone' }, await aPartnerToken(provider));
    const before = await verify(pair);
    expect(before).toMatchObject({ valid: true, events: 2, firstBroken: null });
    const [{ recorded_at }] = await sql('select recorded_at from acceptances where id = ?', [c.confirmCustomerAcceptance.acceptance.id]);

    await sql("update acceptances set contact_email = 'mallory@example.com' where id = ?", [c.confirmCustomerAcceptance.acceptance.id]);
    const after = await verify(pair);
    expect(after.valid).toBe(false);
    expect(after.events).toBe(2);
    expect(after.headHash).toBe(before.headHash);
    expect(after.firstBroken).toEqual({ at: new Date(recorded_at), event: 'CONFIRMED', reason: 'CHANGED', seq: 1 });

    // Never repaired silently: the pair's next write leaves the break where it is.
    await send(CONFIRM, { customerId: customer.id, ...details() }, await aPartnerToken(provider));
    expect((await verify(pair)).firstBroken).toMatchObject({ event: 'CONFIRMED', seq: 1 });
  });

  it('after a correction, a direct edit of the current value breaks at that correction; a deleted correction is missing', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: provider }] });
    const pair = { customerId: customer.id, partnerId: provider.id };
    const token = await aPartnerToken(provider);
    const c = await send(CONFIRM, { customerId: customer.id, ...details() }, token);
    const id = c.confirmCustomerAcceptance.acceptance.id;
    await send(CORRECT, { acceptanceId: id, contact: { ...contact, email: 'ada.king@example.com' } }, token);
    expect((await verify(pair)).valid).toBe(true);

    await sql("update acceptances set contact_email = 'eve@example.com' where id = ?", [id]);
    expect((await verify(pair)).firstBroken).toMatchObject({ event: 'CORRECTED', reason: 'CHANGED', seq: 2 });
    await sql("update acceptances set contact_email = 'ada.king@example.com' where id = ?", [id]);
    expect((await verify(pair)).valid).toBe(true);

    await sql('delete from acceptance_corrections where acceptance_id = ?', [id]);
    // The confirmation's contact now reads as the current one (changed), and the correction is gone.
    expect((await verify(pair)).firstBroken).toMatchObject({ event: 'CONFIRMED', reason: 'CHANGED', seq: 1 });
  });

  it('a stored link edited in place no longer follows from its predecessor', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: provider }] });
    const pair = { customerId: customer.id, partnerId: provider.id };
    await send(CONFIRM, { customerId: customer.id, ...details() }, await aPartnerToken(provider));
    await send(CONFIRM, { customerId: customer.id, ...details() }, await aPartnerToken(provider));
    await sql("update audit_chain set canonical = replace(canonical, 'Lovelace', 'Byron') where customer_id = ? and seq = 1", [customer.id]);
    expect((await verify(pair)).firstBroken).toMatchObject({ event: 'CONFIRMED', reason: 'LINK', seq: 1 });
  });

  it('a row inserted outside the gateway is an event no link holds', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: provider }] });
    const pair = { customerId: customer.id, partnerId: provider.id };
    await send(CONFIRM, { customerId: customer.id, ...details() }, await aPartnerToken(provider));
    await sql("update acceptances set status = 'SUPERSEDED', superseded_at = now() where customer_id = ?", [customer.id]);
    expect((await verify(pair)).firstBroken).toMatchObject({ event: 'SUPERSEDED', reason: 'UNCHAINED', seq: null });
  });
});

describe('concurrent writers', () => {
  it('concurrent confirmations of one pair append one after the other: seq 1..n, each link on its predecessor, valid', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: provider }] });
    const pair = { customerId: customer.id, partnerId: provider.id };
    const token = await aPartnerToken(provider);
    const results = await Promise.all(Array.from({ length: 8 }, () => gw.gql(CONFIRM, { input: { customerId: customer.id, ...details() } }, token)));
    const ok = results.filter((r) => !r.errors).length;
    for (const r of results.filter((x) => x.errors)) expect(r.errors![0].extensions!.code).toBe('CONFLICT');
    const links = await sql('select seq, hash, prev_hash from audit_chain where customer_id = ? order by seq', [customer.id]);
    expect(links.map((l) => l.seq)).toEqual(links.map((_, i) => i + 1));
    expect(new Set(links.map((l) => l.prev_hash)).size).toBe(links.length);
    const v = await expectAgree(pair);
    // Every confirmation but the first supersedes one: 2n - 1 events.
    expect(v.events).toBe(2 * ok - 1);
  });
});

describe('backfill', () => {
  it('chains pairs written before the chain existed, in trail order, and leaves chained pairs alone', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: provider }] });
    const pair = { customerId: customer.id, partnerId: provider.id };
    // Written as an earlier release did: rows without links.
    await anAcceptance(gw, { customer, partner: provider, template });
    const chainedPair = await aCustomer(gw, { partners: [{ partner: provider }] });
    await send(CONFIRM, { customerId: chainedPair.id, ...details() }, await aPartnerToken(provider));
    await sql("update acceptances set contact_email = 'x@example.com' where customer_id = ?", [chainedPair.id]);
    expect((await verify(pair)).firstBroken).toMatchObject({ event: 'CONFIRMED', reason: 'UNCHAINED' });

    const { pairs } = await backfillAuditChain(em(), 2);
    expect(pairs).toBeGreaterThanOrEqual(1);
    expect(await verify(pair)).toMatchObject({ valid: true, events: 1 });
    // The pair that had links keeps its break.
    expect((await verify({ customerId: chainedPair.id, partnerId: provider.id })).firstBroken).toMatchObject({ reason: 'CHANGED' });
    expect(await backfillAuditChain(em())).toEqual({ pairs: 0, links: 0 });
  });

  it('appendAuditChain chains nothing twice', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: provider }] });
    await send(CONFIRM, { customerId: customer.id, ...details() }, await aPartnerToken(provider));
    const pair = { customerId: customer.id, partnerId: provider.id };
    expect(await em().transactional((tx) => appendAuditChain(tx as EntityManager, [pair, pair]))).toBe(0);
  });
});

describe('Customer.auditVerification', () => {
  const VERIFY = `query VerifyAuditTrail($customerId: ID!, $partnerId: ID) {
    customer(id: $customerId) { id auditVerification(partnerId: $partnerId) { valid events headHash firstBroken { at event reason seq } verifiedAt } }
  }`;

  it("answers valid, the number of events, the head hash and, after a direct edit, the first event that no longer matches; another tenant's partner answers null", async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: provider }] });
    const token = await aPartnerToken(provider);
    const c = await send(CONFIRM, { customerId: customer.id, ...details() }, token);
    await send(CORRECT, { acceptanceId: c.confirmCustomerAcceptance.acceptance.id, contact: { ...contact, lastName: 'King' } }, token);
    const ok = await gw.gql(VERIFY, { customerId: customer.id }, token);
    expect(ok.errors).toBeUndefined();
    const [head] = await sql('select hash from audit_chain where customer_id = ? order by seq desc limit 1', [customer.id]);
    expect(ok.data.customer.auditVerification).toEqual({ valid: true, events: 2, headHash: head.hash, firstBroken: null, verifiedAt: expect.any(String) });

    await sql("update acceptances set date_agreed = '2024-05-01' where customer_id = ?", [customer.id]);
    const [{ recorded_at }] = await sql('select recorded_at from acceptances where customer_id = ?', [customer.id]);
    const broken = await gw.gql(VERIFY, { customerId: customer.id, partnerId: provider.id }, await platformAdminToken());
    expect(broken.data.customer.auditVerification).toMatchObject({
      valid: false,
      events: 2,
      headHash: head.hash,
      firstBroken: { at: new Date(recorded_at).toISOString(), event: 'CONFIRMED', reason: 'CHANGED', seq: 1 },
    });

    const stranger = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const other = await gw.gql(VERIFY, { customerId: customer.id, partnerId: stranger.id }, token);
    expect(other.data.customer.auditVerification).toBeNull();
  });
});

describe('pairs outside a billing relationship', () => {
  it("a customer's direct acceptance, shown in the trail of any partner named, is chained only in billing pairs: another partner's verification is empty and valid", async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: provider }] });
    const outsider = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    await send(`mutation($input: DirectAcceptanceInput!) { recordDirectAcceptance(input: $input) { customer { id } } }`, { customerId: customer.id, acceptedOn: '2025-01-10' }, await platformAdminToken());
    expect(await trail({ customerId: customer.id, partnerId: outsider.id })).toEqual(['DIRECT_ACCEPTANCE']);
    expect(await verify({ customerId: customer.id, partnerId: outsider.id })).toMatchObject({ valid: true, events: 0, firstBroken: null });
    expect(await verify({ customerId: customer.id, partnerId: provider.id })).toMatchObject({ valid: true, events: 1 });
  });
});

describe('many pairs at once', () => {
  it("a bulk import's or the backfill's many pairs take one lock per partner, not one per pair (PostgreSQL's lock table stays small), and chain every pair", async () => {
    const customers = await Promise.all(Array.from({ length: 40 }, () => aCustomer(gw, { partners: [{ partner: provider }] })));
    for (const c of customers) await anAcceptance(gw, { customer: c, partner: provider, template });
    const pairs = customers.map((c) => ({ customerId: c.id, partnerId: provider.id }));
    const { appended, locks } = await em().transactional(async (t) => {
      const tx = t as EntityManager;
      const appended = await appendAuditChain(tx, pairs, { partnerWide: true });
      const [{ n }] = await queryRows<{ n: number }>(tx, "select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()");
      return { appended, locks: n };
    });
    expect([appended, locks]).toEqual([40, 1]);
    for (const v of await verifyPairs(em(), pairs)) expect(v).toMatchObject({ valid: true, events: 1 });
  });
});
