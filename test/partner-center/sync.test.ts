import { aCustomer, anAgreement, aPartner, aPartnerToken, aLink } from '../factories';
import { analystToken, type TestGateway } from '../support/gateway';
import { Role, PartnerType } from '../../src/auth/roles';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import type { Customer } from '../../src/customers/customer.entity';
import { CloudInstance } from '../../src/customers/customer.enums';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { anAcceptance } from '../factories';
import { FakePartnerCenter } from './fake';
import { aConnectedPartner, CONFIRM, eventually, startPcGateway, SYNC_FIELDS, SYNC_OF, type ConnectedPartner } from './support';

let fake: FakePartnerCenter;
let gw: TestGateway;
let template: AgreementTemplate;

beforeAll(async () => {
  fake = await new FakePartnerCenter().start();
  gw = await startPcGateway(fake);
  template = await anAgreement(gw, { templateId: 'mca-2024', effectiveFrom: '2020-01-01' });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.stop();
});

const contact = { firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', phoneNumber: '+14255550123' };

async function confirm(p: ConnectedPartner, customer: Customer, extra: Record<string, unknown> = {}) {
  const res = await gw.gql(CONFIRM, { input: { customerId: customer.id, templateId: template.templateId, dateAgreed: '2024-05-01', contact, ...extra } }, p.agent);
  expect(res.errors).toBeUndefined();
  return res.data.confirmCustomerAcceptance.acceptance as { id: string; sync: Record<string, any> };
}

const syncOf = async (customer: Customer, token: string) => {
  const res = await gw.gql(SYNC_OF, { id: customer.id }, token);
  return res.data.customer.acceptanceHistory[0].sync as Record<string, any>;
};
const settled = (s: Record<string, any>) => s.status === 'SYNCED' || s.status === 'FAILED';

describe('every confirmation reaches Partner Center', () => {
  test("a Customer Agreement confirmation is posted with its template's type", async () => {
    const mcus = await anAgreement(gw, { templateId: `mcus-${Date.now()}`, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-10-01' });
    const p = await aConnectedPartner(gw, fake);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    await confirm(p, customer, { templateId: mcus.templateId });
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync.status).toBe('SYNCED');
    expect(fake.confirmations(customer.tenantId)[0].body).toMatchObject({ templateId: mcus.templateId, type: 'MicrosoftCustomerAgreement' });
  });

  test('happy path: posted once, with the documented body and headers', async () => {
    const p = await aConnectedPartner(gw, fake);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    const acceptance = await confirm(p, customer);
    expect(acceptance.sync.status).toBe('PENDING');
    expect(acceptance.sync.requestId).toMatch(/^[0-9a-f-]{36}$/);

    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', attempts: 1, requestId: acceptance.sync.requestId, lastError: null, nextAttemptAt: null });
    expect(sync.syncedAt).toEqual(expect.any(String));

    const posts = fake.confirmations(customer.tenantId);
    expect(posts).toHaveLength(1);
    const [post] = posts;
    expect(post.path).toBe(`/v1/customers/${customer.tenantId}/agreements`);
    expect(post.body).toEqual({
      primaryContact: { firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', phoneNumber: '+14255550123' },
      templateId: 'mca-2024',
      dateAgreed: '2024-05-01T00:00:00Z',
      type: 'MicrosoftCloudAgreement',
      userId: `agent-${p.partner.id}`,
    });
    expect(post.headers['ms-requestid']).toBe(acceptance.sync.requestId);
    expect(post.headers['ms-correlationid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(post.headers['content-type']).toBe('application/json');
    expect(post.headers.authorization).toMatch(/^Bearer at-[0-9a-f]+$/);
    expect(fake.issuedTokens.has(post.headers.authorization.slice(7))).toBe(true);
  });

  test('a confirmation without a phone number omits phoneNumber', async () => {
    const p = await aConnectedPartner(gw, fake);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    await confirm(p, customer, { contact: { ...contact, phoneNumber: null } });
    await eventually(() => syncOf(customer, p.agent), settled);
    expect(fake.confirmations(customer.tenantId)[0].body.primaryContact).toEqual({ firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com' });
  });

  test('600061 (already exists upstream) counts as synced', async () => {
    const p = await aConnectedPartner(gw, fake);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    fake.confirmCues.push({ status: 400, body: { code: 600061, description: 'PartnerConfirmedAgreementAlreadyExists' } });
    await confirm(p, customer);
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', attempts: 1, lastError: null });
    expect(fake.confirmations(customer.tenantId)).toHaveLength(1);
  });

  test('401: the token is refreshed once and the post retried', async () => {
    const p = await aConnectedPartner(gw, fake);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    fake.revokeAccessTokens();
    const tokensBefore = fake.tokenRequests().length;
    await confirm(p, customer);
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', attempts: 1 });
    const posts = fake.confirmations(customer.tenantId);
    expect(posts.map((r) => r.status)).toEqual([401, 201]);
    expect(posts[1].headers['ms-requestid']).toBe(posts[0].headers['ms-requestid']);
    expect(posts[1].headers.authorization).not.toBe(posts[0].headers.authorization);
    expect(fake.tokenRequests().length).toBe(tokensBefore + 1);
  });

  test('429 with Retry-After: the next attempt waits at least that long, same MS-RequestId', async () => {
    const p = await aConnectedPartner(gw, fake);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    fake.confirmCues.push({ status: 429, body: { code: 429, description: 'Too many requests' }, headers: { 'retry-after': '2' } });
    await confirm(p, customer);
    const waiting = await eventually(() => syncOf(customer, p.agent), (s) => s.attempts === 1 && s.nextAttemptAt !== null);
    expect(waiting.status).toBe('PENDING');
    expect(waiting.lastError).toContain('429');
    expect(Date.parse(waiting.nextAttemptAt) - Date.parse(waiting.lastAttemptAt)).toBeGreaterThanOrEqual(2000);
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', attempts: 2, lastError: null });
    const posts = fake.confirmations(customer.tenantId);
    expect(posts.map((r) => r.status)).toEqual([429, 201]);
    expect(posts[1].headers['ms-requestid']).toBe(posts[0].headers['ms-requestid']);
    // Behaviour, not a measured gap: the retry was not sent before it was due.
    expect(posts[1].at).toBeGreaterThanOrEqual(Date.parse(waiting.nextAttemptAt));
  });

  test('three 500s, then success: four posts with one MS-RequestId', async () => {
    const p = await aConnectedPartner(gw, fake);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    fake.confirmCues.push({ status: 500 }, { status: 503 }, { status: 502 });
    const acceptance = await confirm(p, customer);
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', attempts: 4, lastError: null });
    const posts = fake.confirmations(customer.tenantId);
    expect(posts.map((r) => r.status)).toEqual([500, 503, 502, 201]);
    expect(new Set(posts.map((r) => r.headers['ms-requestid']))).toEqual(new Set([acceptance.sync.requestId]));
    expect(fake.agreements.filter((a) => a.customerTenantId === customer.tenantId)).toHaveLength(1);
  });

  test('a permanent 400 fails at once with the upstream message; retryAcceptanceSync requeues it with the same MS-RequestId', async () => {
    const p = await aConnectedPartner(gw, fake);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    fake.confirmCues.push({ status: 400, body: { code: 2001, description: 'The template is not valid for this customer' } });
    const acceptance = await confirm(p, customer);
    const failed = await eventually(() => syncOf(customer, p.agent), settled);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(failed.lastError).toBe('Partner Center answered 400 (code 2001): The template is not valid for this customer');
    expect(fake.confirmations(customer.tenantId)).toHaveLength(1);

    const retried = await gw.gql(
      `mutation RetryAcceptanceSync($acceptanceId: ID!) { retryAcceptanceSync(acceptanceId: $acceptanceId) { acceptance { id sync { ${SYNC_FIELDS} } } } }`,
      { acceptanceId: acceptance.id },
      p.agent,
    );
    expect(retried.errors).toBeUndefined();
    expect(retried.data.retryAcceptanceSync.acceptance.sync).toMatchObject({ status: 'PENDING', attempts: 0 });
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', attempts: 1, requestId: acceptance.sync.requestId });
    expect(fake.confirmations(customer.tenantId).map((r) => r.headers['ms-requestid'])).toEqual([acceptance.sync.requestId, acceptance.sync.requestId]);

    const again = await gw.gql(`mutation R($acceptanceId: ID!) { retryAcceptanceSync(acceptanceId: $acceptanceId) { acceptance { id } } }`, { acceptanceId: acceptance.id }, p.agent);
    expect(again.errors?.[0].extensions?.code).toBe('CONFLICT');
    const other = await aConnectedPartner(gw, fake, { connect: false });
    const foreign = await gw.gql(`mutation R($acceptanceId: ID!) { retryAcceptanceSync(acceptanceId: $acceptanceId) { acceptance { id } } }`, { acceptanceId: acceptance.id }, other.agent);
    expect(foreign.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'acceptanceId' });
  });

  test('still failing after the configured attempts: FAILED', async () => {
    const p = await aConnectedPartner(gw, fake);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    fake.confirmCues.push(...Array.from({ length: 5 }, () => ({ status: 500 })));
    await confirm(p, customer);
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'FAILED', attempts: 5 });
    expect(sync.lastError).toMatch(/^Gave up after 5 attempts; last: Partner Center answered 500/);
    expect(fake.confirmations(customer.tenantId)).toHaveLength(5);
  });

  test('the upstream down for a while, then back: nothing lost, nothing sent twice', async () => {
    const p = await aConnectedPartner(gw, fake);
    const customers = await Promise.all([1, 2, 3].map(() => aCustomer(gw, { partners: [{ partner: p.partner }] })));
    fake.down = true;
    try {
      for (const c of customers) await confirm(p, c);
      await eventually(
        () => Promise.all(customers.map((c) => syncOf(c, p.agent))),
        (all) => all.every((s) => s.attempts >= 2),
      );
      const during = await Promise.all(customers.map((c) => syncOf(c, p.agent)));
      expect(during.map((s) => s.status)).toEqual(['PENDING', 'PENDING', 'PENDING']);
      expect(during[0].lastError).toMatch(/^Partner Center could not be reached/);
    } finally {
      fake.down = false;
    }
    const after = await eventually(
      () => Promise.all(customers.map((c) => syncOf(c, p.agent))),
      (all) => all.every(settled),
    );
    expect(after.map((s) => s.status)).toEqual(['SYNCED', 'SYNCED', 'SYNCED']);
    for (const [i, c] of customers.entries()) {
      const stored = fake.agreements.filter((a) => a.customerTenantId === c.tenantId);
      expect(stored.map((a) => a.requestId)).toEqual([after[i].requestId]);
      expect(fake.confirmations(c.tenantId).filter((r) => r.status === 201)).toHaveLength(1);
    }
  });

  test('a contact correction is queued in its transaction and posted with a new MS-RequestId', async () => {
    const p = await aConnectedPartner(gw, fake);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    const acceptance = await confirm(p, customer);
    await eventually(() => syncOf(customer, p.agent), settled);
    const res = await gw.gql(
      `mutation C($input: CorrectAcceptanceContactInput!) { correctAcceptanceContact(input: $input) { acceptance { id sync { ${SYNC_FIELDS} } } } }`,
      { input: { acceptanceId: acceptance.id, contact: { ...contact, email: 'grace.hopper@example.com' } } },
      p.agent,
    );
    expect(res.errors).toBeUndefined();
    const queued = res.data.correctAcceptanceContact.acceptance.sync;
    expect(queued).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect(queued.requestId).not.toBe(acceptance.sync.requestId);
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', requestId: queued.requestId });
    const posts = fake.confirmations(customer.tenantId);
    expect(posts.map((r) => r.headers['ms-requestid'])).toEqual([acceptance.sync.requestId, queued.requestId]);
    expect(posts[1].body.primaryContact.email).toBe('grace.hopper@example.com');
  });

  test("approving a reseller's submission queues the provider's confirmation", async () => {
    const provider = await aConnectedPartner(gw, fake, { type: PartnerType.INDIRECT_PROVIDER });
    const reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
    await aLink(gw, reseller, provider.partner);
    const customer = await aCustomer(gw, { partners: [{ partner: provider.partner, resellers: [reseller] }] });
    const submitted = await gw.gql(
      `mutation S($input: SubmitAcceptanceInput!) { submitAcceptanceToProvider(input: $input) { submission { id } } }`,
      { input: { customerId: customer.id, providerId: provider.partner.id, templateId: template.templateId, dateAgreed: '2024-05-01', contact } },
      await aPartnerToken(reseller, Role.AGENT),
    );
    expect(submitted.errors).toBeUndefined();
    const reviewed = await gw.gql(
      `mutation R($input: ReviewAcceptanceSubmissionInput!) { reviewAcceptanceSubmission(input: $input) { acceptance { id sync { status requestId } } } }`,
      { input: { submissionId: submitted.data.submitAcceptanceToProvider.submission.id, decision: 'APPROVE' } },
      provider.agent,
    );
    expect(reviewed.errors).toBeUndefined();
    expect(reviewed.data.reviewAcceptanceSubmission.acceptance.sync.status).toBe('PENDING');
    const sync = await eventually(() => syncOf(customer, provider.agent), settled);
    expect(sync.status).toBe('SYNCED');
    expect(fake.confirmations(customer.tenantId)).toHaveLength(1);
  });

  test('NOT_CONNECTED: the local record counts, nothing is posted; connecting later queues the backlog', async () => {
    const p = await aConnectedPartner(gw, fake, { connect: false });
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    const acceptance = await confirm(p, customer);
    expect(acceptance.sync).toMatchObject({ status: 'NOT_CONNECTED', attempts: 0 });
    const status = await gw.gql(`query Q($id: ID!) { customer(id: $id) { complianceStatus } }`, { id: customer.id }, p.agent);
    expect(status.data.customer.complianceStatus).toBe('CONFIRMED');
    expect(fake.confirmations(customer.tenantId)).toHaveLength(0);

    const connected = await gw.gql(`mutation C($input: ConnectPartnerCenterInput!) { connectPartnerCenter(input: $input) { connection { status } } }`, { input: p.creds }, p.admin);
    expect(connected.data.connectPartnerCenter.connection.status).toBe('CONNECTED');
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', requestId: acceptance.sync.requestId });
    expect(fake.confirmations(customer.tenantId)).toHaveLength(1);
  });

  test('disconnecting erases the credentials and parks new confirmations as NOT_CONNECTED', async () => {
    const p = await aConnectedPartner(gw, fake);
    const res = await gw.gql(`mutation DisconnectPartnerCenter($partnerId: ID) { disconnectPartnerCenter(partnerId: $partnerId) { connection { status clientId } } }`, {}, p.admin);
    expect(res.data.disconnectPartnerCenter.connection).toEqual({ status: 'DISCONNECTED', clientId: null });
    const rows = await gw.orm.em.fork().getConnection().execute('select * from partner_center_connections where partner_id = ?', [p.partner.id]);
    expect(rows).toHaveLength(0);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    expect((await confirm(p, customer)).sync.status).toBe('NOT_CONNECTED');
  });

  test('NOT_APPLICABLE on national clouds', async () => {
    const p = await aConnectedPartner(gw, fake);
    const customer = await aCustomer(gw, { cloud: CloudInstance.US_GOVERNMENT, partners: [{ partner: p.partner }] });
    await anAcceptance(gw, { customer, partner: p.partner, template });
    expect((await syncOf(customer, p.agent)).status).toBe('NOT_APPLICABLE');
  });

  test('acceptanceSyncs lists a partner\'s syncs by status, under tenancy', async () => {
    const p = await aConnectedPartner(gw, fake, { connect: false });
    const customers = await Promise.all([1, 2].map(() => aCustomer(gw, { partners: [{ partner: p.partner }] })));
    for (const c of customers) await confirm(p, c);
    const Q = `query SyncBacklog($partnerId: ID, $status: SyncStatus, $first: Int, $after: String) {
      acceptanceSyncs(partnerId: $partnerId, status: $status, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { acceptance { id customer { id tenantId } } sync { status requestId } } } } }`;
    const own = await gw.gql(Q, { status: 'NOT_CONNECTED', first: 1 }, p.agent);
    expect(own.errors).toBeUndefined();
    expect(own.data.acceptanceSyncs.totalCount).toBe(2);
    expect(own.data.acceptanceSyncs.pageInfo.hasNextPage).toBe(true);
    const next = await gw.gql(Q, { status: 'NOT_CONNECTED', first: 1, after: own.data.acceptanceSyncs.pageInfo.endCursor }, p.agent);
    const ids = [...own.data.acceptanceSyncs.edges, ...next.data.acceptanceSyncs.edges].map((e: any) => e.node.acceptance.customer.tenantId).sort();
    expect(ids).toEqual(customers.map((c) => c.tenantId).sort());
    expect((await gw.gql(Q, { status: 'SYNCED' }, p.agent)).data.acceptanceSyncs.totalCount).toBe(0);

    const other = await aConnectedPartner(gw, fake, { connect: false });
    const foreign = await gw.gql(Q, { partnerId: p.partner.id }, other.agent);
    expect(foreign.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'partnerId' });
    const analyst = await gw.gql(Q, { partnerId: p.partner.id, status: 'NOT_CONNECTED' }, await analystToken());
    expect(analyst.data.acceptanceSyncs.totalCount).toBe(2);
  });

  test('/metrics shows sync outcomes, queue depth and upstream latency', async () => {
    const text = await (await fetch(gw.url.replace('/graphql', '/metrics'))).text();
    expect(text).toMatch(/partner_center_sync_total\{outcome="synced"\} [1-9]/);
    expect(text).toMatch(/partner_center_sync_total\{outcome="already_synced"\} 1/);
    expect(text).toMatch(/partner_center_sync_total\{outcome="retry"\} [1-9]/);
    expect(text).toMatch(/partner_center_sync_total\{outcome="failed"\} [1-9]/);
    expect(text).toMatch(/partner_center_queue_depth \d+/);
    expect(text).toMatch(/partner_center_upstream_duration_seconds_count\{operation="confirm"\} [1-9]/);
    expect(text).toMatch(/partner_center_upstream_duration_seconds_count\{operation="token"\} [1-9]/);
  });
});
