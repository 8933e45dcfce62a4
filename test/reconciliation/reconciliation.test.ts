import { verifyPairs } from '../../src/audit/audit.chain';
import type { EntityManager } from '@mikro-orm/postgresql';
import { PartnerType, Role } from '../../src/auth/roles';
import { CloudInstance } from '../../src/customers/customer.enums';
import { AcceptanceStatus } from '../../src/acceptance/acceptance.enums';
import { queryRows } from '../../src/db/query';
import { aCustomer, aLink, aPartner, aPartnerToken, anAcceptance } from '../factories';
import { analystToken, platformAdminToken, type TestGateway } from '../support/gateway';
import {
  ADA,
  aConfirmation,
  aConnectedPartner,
  customerReads,
  DRIFT,
  MCA_TEMPLATE_ID,
  RECONCILE,
  startReconGateway,
  theMcaTemplate,
  useSimulator,
} from './support';

const sim = useSimulator();
let gw: TestGateway;
let admin: string;

beforeAll(async () => {
  gw = await startReconGateway(sim());
  admin = await platformAdminToken();
});
afterAll(async () => {
  await gw?.stop();
});

const em = () => gw.orm.em.fork() as EntityManager;
const upstreamRecord = (email = ADA.email, dateAgreed = '2025-09-01T10:00:00Z', templateId = MCA_TEMPLATE_ID) => ({
  templateId,
  dateAgreed,
  primaryContact: { ...ADA, email },
});

async function reconcile(partnerId: string, token = admin) {
  const res = await gw.gql(RECONCILE, { partnerId }, token);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.reconcilePartnerCenter as { checked: number; failed: number; drift: { id: string; kind: string; detail: string; customer: { id: string } }[] };
}

const kindsOf = (drift: { kind: string; customer: { id: string } }[], customerId: string) => drift.filter((d) => d.customer.id === customerId).map((d) => d.kind).sort();

describe('reconciliation: every drift kind against the simulator', () => {
  it('finds MISSING_UPSTREAM, UNKNOWN_LOCALLY (imported), CONTACT_DIFFERS and DIRECT_ACCEPTANCE_FOUND, and changes nothing local silently', async () => {
    const { partner } = await aConnectedPartner(gw, sim());
    const template = await theMcaTemplate(gw);
    const missing = await aCustomer(gw, { partners: [{ partner }] });
    const unknown = await aCustomer(gw, { partners: [{ partner }] });
    const differs = await aCustomer(gw, { partners: [{ partner }] });
    const direct = await aCustomer(gw, { partners: [{ partner }] });
    const inStep = await aCustomer(gw, { partners: [{ partner }] });
    const pending = await aCustomer(gw, { partners: [{ partner }] });
    const national = await aCustomer(gw, { partners: [{ partner }], cloud: CloudInstance.US_GOVERNMENT });

    await aConfirmation(gw, { customer: missing, partner, template });
    sim().seedAgreement(unknown.tenantId, { ...upstreamRecord('grace@example.com'), primaryContact: { firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com' } });
    const differsId = await aConfirmation(gw, { customer: differs, partner, template });
    sim().seedAgreement(differs.tenantId, upstreamRecord('someone.else@example.com'));
    sim().setDirectSigned(direct.tenantId, true);
    await aConfirmation(gw, { customer: inStep, partner, template });
    sim().seedAgreement(inStep.tenantId, upstreamRecord());
    await aConfirmation(gw, { customer: pending, partner, template, synced: false });

    const result = await reconcile(partner.id);

    expect(result.checked).toBe(6); // the national-cloud customer is not read
    expect(result.failed).toBe(0);
    expect(kindsOf(result.drift, missing.id)).toEqual(['MISSING_UPSTREAM']);
    expect(kindsOf(result.drift, unknown.id)).toEqual(['UNKNOWN_LOCALLY']);
    expect(kindsOf(result.drift, differs.id)).toEqual(['CONTACT_DIFFERS']);
    expect(kindsOf(result.drift, direct.id)).toEqual(['DIRECT_ACCEPTANCE_FOUND']);
    expect(kindsOf(result.drift, inStep.id)).toEqual([]);
    expect(kindsOf(result.drift, pending.id)).toEqual([]); // not delivered yet: the outbox's business, not drift
    expect(customerReads(sim(), [national.tenantId])).toEqual([]);

    // UNKNOWN_LOCALLY: imported as a confirmation whose source is PARTNER_CENTER, already on record upstream (SYNCED).
    const [imported] = await queryRows<{ source: string; status: string; contact_email: string; date_agreed: string; sync: string; confirmed_by_id: string }>(
      em(),
      `select a.source, a.status, a.contact_email, to_char(a.date_agreed, 'YYYY-MM-DD') as date_agreed, s.status as sync, a.confirmed_by_id
         from acceptances a left join acceptance_syncs s on s.acceptance_id = a.id where a.customer_id = ? and a.partner_id = ?`,
      [unknown.id, partner.id],
    );
    expect(imported).toEqual({ source: 'PARTNER_CENTER', status: 'ACTIVE', contact_email: 'grace@example.com', date_agreed: '2025-09-01', sync: 'SYNCED', confirmed_by_id: 'partner-center-reconciliation' });

    // CONTACT_DIFFERS: the local confirmation is untouched; the detail names the field, never a value.
    const [local] = await queryRows<{ contact_email: string; status: string }>(em(), 'select contact_email, status from acceptances where id = ?', [differsId]);
    expect(local).toEqual({ contact_email: ADA.email, status: AcceptanceStatus.ACTIVE });
    const contactDrift = result.drift.find((d) => d.kind === 'CONTACT_DIFFERS')!;
    expect(contactDrift.detail).toContain('email');
    for (const d of result.drift) {
      expect(d.detail).not.toMatch(/@|Lovelace|Hopper|Grace|Ada\b/);
    }

    // DIRECT_ACCEPTANCE_FOUND: recorded as the customer's direct acceptance, learned from Partner Center.
    const customer = await gw.gql('query ($id: ID!) { customer(id: $id) { directAcceptance { type source } } }', { id: direct.id }, admin);
    expect(customer.data.customer.directAcceptance).toEqual({ type: 'MICROSOFT_CUSTOMER_AGREEMENT', source: 'PARTNER_CENTER' });

    // Both types asked for, with the delegated token; at most two reads per customer.
    const reads = customerReads(sim(), [missing, unknown, differs, direct, inStep, pending].map((c) => c.tenantId));
    expect(reads.filter((r) => r.path.endsWith('/agreements')).map((r) => r.query.get('agreementType'))).toEqual(new Array(6).fill('*'));
    expect(reads.length).toBe(12);

    // Drift and the import are audit events, hash-chained in the run's transaction (DESIGN.md section 13); a re-run keeps the chain valid.
    const chainOf = async () =>
      (await queryRows<{ event: string }>(em(), 'select event from audit_chain where customer_id = ? and partner_id = ? order by seq', [unknown.id, partner.id])).map((l) => l.event);
    expect(await chainOf()).toEqual(expect.arrayContaining(['IMPORTED', 'DRIFT_DETECTED']));
    await reconcile(partner.id);
    for (const c of [unknown, missing, differs]) {
      const [verified] = await verifyPairs(em(), [{ customerId: c.id, partnerId: partner.id }]);
      expect({ customer: c.id, valid: verified.valid, broken: verified.firstBroken }).toEqual({ customer: c.id, valid: true, broken: null });
    }
  });

  it('does not import over a withdrawn confirmation, nor a template unknown locally: UNKNOWN_LOCALLY says why', async () => {
    const { partner } = await aConnectedPartner(gw, sim());
    const template = await theMcaTemplate(gw);
    const withdrawn = await aCustomer(gw, { partners: [{ partner }] });
    await anAcceptance(gw, { customer: withdrawn, partner, template, status: AcceptanceStatus.WITHDRAWN });
    sim().seedAgreement(withdrawn.tenantId, upstreamRecord());
    const unknownTemplate = await aCustomer(gw, { partners: [{ partner }] });
    sim().seedAgreement(unknownTemplate.tenantId, upstreamRecord(ADA.email, '2025-09-01T10:00:00Z', 'f0f0f0f0-0000-4000-8000-000000000001'));

    const result = await reconcile(partner.id);

    const detailOf = (id: string) => result.drift.find((d) => d.customer.id === id)!;
    expect(detailOf(withdrawn.id)).toMatchObject({ kind: 'UNKNOWN_LOCALLY' });
    expect(detailOf(withdrawn.id).detail).toContain('not imported: the latest local confirmation was withdrawn');
    expect(detailOf(unknownTemplate.id).detail).toContain('not imported: the template is unknown locally');
    const rows = await queryRows<{ status: string }>(em(), 'select status from acceptances where customer_id = any(?::uuid[]) and partner_id = ?', [[withdrawn.id, unknownTemplate.id], partner.id]);
    expect(rows.map((r) => r.status)).toEqual([AcceptanceStatus.WITHDRAWN]);
  });
});

describe('reconciliation: the same drift is not duplicated', () => {
  it('a re-run keeps one open row per customer, partner and kind (detectedAt moves on), resolves what it no longer finds, and imports nothing twice', async () => {
    const { partner } = await aConnectedPartner(gw, sim());
    const template = await theMcaTemplate(gw);
    const missing = await aCustomer(gw, { partners: [{ partner }] });
    const unknown = await aCustomer(gw, { partners: [{ partner }] });
    const direct = await aCustomer(gw, { partners: [{ partner }] });
    await aConfirmation(gw, { customer: missing, partner, template });
    sim().seedAgreement(unknown.tenantId, upstreamRecord());
    sim().setDirectSigned(direct.tenantId, true);

    const first = await reconcile(partner.id);
    const reads = customerReads(sim(), [missing, unknown, direct].map((c) => c.tenantId)).length;
    const second = await reconcile(partner.id);

    expect(first.drift.map((d) => d.kind).sort()).toEqual(['DIRECT_ACCEPTANCE_FOUND', 'MISSING_UPSTREAM', 'UNKNOWN_LOCALLY']);
    // Imported and recorded: in step on the second run. Still missing upstream: the same row.
    expect(second.drift.map((d) => d.kind)).toEqual(['MISSING_UPSTREAM']);
    expect(second.drift[0].id).toBe(first.drift.find((d) => d.kind === 'MISSING_UPSTREAM')!.id);
    const rows = await queryRows<{ kind: string; open: boolean; moved: boolean }>(
      em(),
      'select kind, resolved_at is null as open, detected_at > first_detected_at as moved from acceptance_drift where partner_id = ? order by kind',
      [partner.id],
    );
    expect(rows).toEqual([
      { kind: 'DIRECT_ACCEPTANCE_FOUND', open: false, moved: false },
      { kind: 'MISSING_UPSTREAM', open: true, moved: true },
      { kind: 'UNKNOWN_LOCALLY', open: false, moved: false },
    ]);
    const imports = await queryRows(em(), `select 1 from acceptances where customer_id = ? and partner_id = ?`, [unknown.id, partner.id]);
    expect(imports).toHaveLength(1);
    // The second run skips the direct status of a customer whose direct acceptance is known: 3 + 2 reads, not 3 + 3.
    expect(customerReads(sim(), [missing, unknown, direct].map((c) => c.tenantId)).length - reads).toBe(5);

    const open = await gw.gql(DRIFT, { partnerId: partner.id, open: true }, admin);
    expect(open.data.acceptanceDrift.totalCount).toBe(1);
    const all = await gw.gql(DRIFT, { partnerId: partner.id }, admin);
    expect(all.data.acceptanceDrift.totalCount).toBe(3);
  });

  it('pages acceptanceDrift oldest first with a cursor', async () => {
    const { partner } = await aConnectedPartner(gw, sim());
    for (let i = 0; i < 3; i++) sim().setDirectSigned((await aCustomer(gw, { partners: [{ partner }] })).tenantId, true);
    await reconcile(partner.id);
    const page1 = await gw.gql(DRIFT, { partnerId: partner.id, first: 2 }, admin);
    const page2 = await gw.gql(DRIFT, { partnerId: partner.id, first: 2, after: page1.data.acceptanceDrift.pageInfo.endCursor }, admin);
    expect(page1.data.acceptanceDrift).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    expect(page2.data.acceptanceDrift.edges).toHaveLength(1);
    const ids = [...page1.data.acceptanceDrift.edges, ...page2.data.acceptanceDrift.edges].map((e: { node: { id: string } }) => e.node.id);
    expect(new Set(ids).size).toBe(3);
  });
});

describe('reconciliation: the audit trail and /metrics', () => {
  it('shows IMPORTED and DRIFT_DETECTED in the customer trail and counts drift by kind', async () => {
    const { partner } = await aConnectedPartner(gw, sim());
    await theMcaTemplate(gw);
    const unknown = await aCustomer(gw, { partners: [{ partner }] });
    sim().seedAgreement(unknown.tenantId, upstreamRecord());
    await reconcile(partner.id);

    const trail = await gw.gql('query ($id: ID!, $p: ID) { customer(id: $id) { auditTrail(partnerId: $p) { event note } } }', { id: unknown.id, p: partner.id }, admin);
    const events = trail.data.customer.auditTrail.map((e: { event: string }) => e.event);
    expect(events).toEqual(expect.arrayContaining(['IMPORTED', 'DRIFT_DETECTED']));
    expect(events).not.toContain('CONFIRMED');
    const drift = trail.data.customer.auditTrail.find((e: { event: string }) => e.event === 'DRIFT_DETECTED');
    expect(drift.note).toMatch(/^UNKNOWN_LOCALLY: /);

    const metrics = await (await fetch(`${gw.url.replace(/\/graphql$/, '')}/metrics`)).text();
    const line = metrics.split('\n').find((l) => l.startsWith('partner_center_drift_total{kind="UNKNOWN_LOCALLY"}'));
    expect(Number(line?.split(' ')[1])).toBeGreaterThanOrEqual(1);
  });
});

describe('reconciliation: a customer Partner Center cannot answer', () => {
  it('is counted failed, its open drift kept, and the run goes on', async () => {
    const { partner } = await aConnectedPartner(gw, sim());
    const template = await theMcaTemplate(gw);
    const a = await aCustomer(gw, { partners: [{ partner }] });
    await aConfirmation(gw, { customer: a, partner, template });
    const first = await reconcile(partner.id);
    expect(first.drift.map((d) => d.kind)).toEqual(['MISSING_UPSTREAM']);

    // Every try of the next reads answers 503 (the call's retries included).
    sim().misbehave({ failNext: { count: 50, status: 503 } });
    const second = await reconcile(partner.id);
    sim().misbehave({ failNext: undefined });

    expect(second).toMatchObject({ checked: 0, failed: 1, drift: [] });
    const [row] = await queryRows<{ open: boolean }>(em(), 'select resolved_at is null as open from acceptance_drift where customer_id = ?', [a.id]);
    expect(row.open).toBe(true);
  });
});

describe('reconciliation: throttled upstream', () => {
  it("waits out Partner Center's 429 (Retry-After) under the partner tenant's budget and checks every customer", async () => {
    const { partner } = await aConnectedPartner(gw, sim());
    const customers = [];
    for (let i = 0; i < 3; i++) customers.push(await aCustomer(gw, { partners: [{ partner }] }));
    sim().misbehave({ throttle: { limit: 2, windowMs: 1_000 } });
    try {
      const result = await reconcile(partner.id);
      expect(result).toMatchObject({ checked: 3, failed: 0 });
    } finally {
      sim().misbehave({ throttle: null });
    }
    const reads = customerReads(sim(), customers.map((c) => c.tenantId));
    expect(reads.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    expect(reads.filter((r) => r.status === 200)).toHaveLength(6);
  });
});

describe('reconciliation: bad input', () => {
  it('a partner not connected is BAD_USER_INPUT on partnerId, nothing read or written', async () => {
    const { partner, admin: partnerAdmin } = await aConnectedPartner(gw, sim(), { connect: false });
    await aCustomer(gw, { partners: [{ partner }] });
    const res = await gw.gql(RECONCILE, {}, partnerAdmin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'partnerId' });
    const runs = await queryRows(em(), 'select 1 from partner_center_reconciliations where partner_id = ?', [partner.id]);
    expect(runs).toEqual([]);
  });

  it('an unknown partner is NOT_FOUND; a platform admin must name one', async () => {
    const unknown = await gw.gql(RECONCILE, { partnerId: '7b0c6c5e-1d2f-4c3b-9a8e-5f6d7c8b9a0e' }, admin);
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'partnerId' });
    const malformed = await gw.gql(RECONCILE, { partnerId: 'not-a-uuid' }, admin);
    expect(malformed.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'partnerId' });
    const none = await gw.gql(RECONCILE, {}, admin);
    expect(none.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'partnerId' });
  });

  it("a partner's ADMIN reconciles its own partner; its AGENT and VIEWER may not; nor a reseller", async () => {
    const { partner, admin: partnerAdmin, agent } = await aConnectedPartner(gw, sim());
    await aCustomer(gw, { partners: [{ partner }] });
    const own = await gw.gql(RECONCILE, {}, partnerAdmin);
    expect(own.data?.reconcilePartnerCenter).toMatchObject({ checked: 1, failed: 0 });
    expect((await gw.gql(RECONCILE, {}, agent)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await gw.gql(RECONCILE, {}, await aPartnerToken(partner, Role.VIEWER))).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    expect((await gw.gql(RECONCILE, {}, await aPartnerToken(reseller, Role.ADMIN))).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe('reconciliation: a connection Partner Center refuses', () => {
  it('a dead grant stops the run: FORBIDDEN with the upstream code, the connection NEEDS_REAUTHORIZATION, nothing recorded; asked again, the same answer without a call', async () => {
    const { partner, admin: partnerAdmin } = await aConnectedPartner(gw, sim());
    const customer = await aCustomer(gw, { partners: [{ partner }] });
    sim().setDirectSigned(customer.tenantId, true);
    sim().revokeGrant(partner.tenantId, 'AADSTS700082');
    sim().revokeAccessTokens(partner.tenantId);

    const res = await gw.gql(RECONCILE, {}, partnerAdmin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', upstreamCode: 'AADSTS700082' });
    const status = await gw.gql('{ partnerCenterConnection { status } }', {}, partnerAdmin);
    expect(status.data.partnerCenterConnection.status).toBe('NEEDS_REAUTHORIZATION');
    const drift = await queryRows(em(), 'select 1 from acceptance_drift where partner_id = ?', [partner.id]);
    expect(drift).toEqual([]);

    const calls = sim().requests.length;
    const again = await gw.gql(RECONCILE, {}, partnerAdmin);
    expect(again.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(sim().requests.length).toBe(calls);
  });
});

describe('acceptanceDrift: totalCount from the maintained counts', () => {
  it("for a viewer who sees every customer, totalCount is the sum of the counts the triggers keep per partner and open (capped as a bounded count); a partner's users are counted row by row", async () => {
    const { partner, admin: partnerAdmin } = await aConnectedPartner(gw, sim());
    // Two direct acceptances (recorded by the first run, resolved by the second) and a confirmation missing upstream (open).
    for (let i = 0; i < 2; i++) sim().setDirectSigned((await aCustomer(gw, { partners: [{ partner }] })).tenantId, true);
    const missing = await aCustomer(gw, { partners: [{ partner }] });
    await aConfirmation(gw, { customer: missing, partner, template: await theMcaTemplate(gw) });
    await reconcile(partner.id);
    const analyst = await analystToken();
    const total = async (token: string, vars: { partnerId?: string; open?: boolean }) => {
      const res = await gw.gql(DRIFT, { ...vars, first: 1 }, token);
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      return res.data.acceptanceDrift.totalCount as number;
    };
    const live = async (sql: string, params: unknown[]) => Number((await queryRows<{ n: string }>(em(), `select count(*) as n from acceptance_drift where ${sql}`, params))[0].n);
    // Recorded drift, then resolved by a run that no longer finds it: the counts moved with the rows.
    expect(await total(analyst, { partnerId: partner.id })).toBe(3);
    await reconcile(partner.id);
    expect(await total(analyst, { partnerId: partner.id, open: true })).toBe(1);
    expect(await total(analyst, { partnerId: partner.id, open: false })).toBe(2);
    expect(await live('partner_id = ? and resolved_at is null', [partner.id])).toBe(1);
    expect(await total(admin, {})).toBe(await live('true', []));

    // The analyst's count is read from the counts, not the rows: moved by hand, it shows (capped at 10,001);
    // the partner's own ADMIN, counted on the customers it may see, does not.
    await queryRows(em(), `update acceptance_drift_counts set n = n + 20000 where partner_id = ? and open`, [partner.id]);
    try {
      expect(await total(analyst, { partnerId: partner.id, open: true })).toBe(10_001);
      expect(await total(partnerAdmin, { open: true })).toBe(await live('partner_id = ? and resolved_at is null', [partner.id]));
    } finally {
      await queryRows(em(), `update acceptance_drift_counts set n = n - 20000 where partner_id = ? and open`, [partner.id]);
    }
  });
});

describe('acceptanceDrift: tenancy', () => {
  it("a provider sees its resellers' customers' drift, a reseller its provider's drift of its own customers only when it names the provider, analysts all, other partners none", async () => {
    const { partner: provider, admin: providerAdmin } = await aConnectedPartner(gw, sim(), { type: PartnerType.INDIRECT_PROVIDER });
    const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    const otherReseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    await aLink(gw, reseller, provider);
    await aLink(gw, otherReseller, provider);
    const mine = await aCustomer(gw, { partners: [{ partner: provider, resellers: [reseller] }] });
    const theirs = await aCustomer(gw, { partners: [{ partner: provider, resellers: [otherReseller] }] });
    sim().setDirectSigned(mine.tenantId, true);
    sim().setDirectSigned(theirs.tenantId, true);
    await reconcile(provider.id, providerAdmin);

    const count = async (token: string, partnerId?: string) => {
      const res = await gw.gql(DRIFT, { partnerId }, token);
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      return res.data.acceptanceDrift.edges.map((e: { node: { customer: { id: string } } }) => e.node.customer.id).sort();
    };
    expect(await count(providerAdmin)).toEqual([mine.id, theirs.id].sort());
    const resellerToken = await aPartnerToken(reseller, Role.VIEWER);
    expect(await count(resellerToken)).toEqual([]);
    expect(await count(resellerToken, provider.id)).toEqual([mine.id]);
    expect(await count(await analystToken(), provider.id)).toEqual([mine.id, theirs.id].sort());
    const foreign = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
    const foreignToken = await aPartnerToken(foreign, Role.ADMIN);
    expect(await count(foreignToken)).toEqual([]);
    const named = await gw.gql(DRIFT, { partnerId: provider.id }, foreignToken);
    expect(named.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'partnerId' });
  });
});
