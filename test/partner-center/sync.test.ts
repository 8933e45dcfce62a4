import { aCustomer, anAgreement, aPartner, aPartnerToken, aLink } from '../factories';
import { analystToken, type TestGateway } from '../support/gateway';
import { Role, PartnerType } from '../../src/auth/roles';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import type { Customer } from '../../src/customers/customer.entity';
import { CloudInstance } from '../../src/customers/customer.enums';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { exchangesOf } from '../../src/partner-center/exchange.queries';
import { connectionSecrets, markNeedsReauthorization } from '../../src/partner-center/partner-center.queries';
import { anAcceptance } from '../factories';
import { CLOUD_TEMPLATE_ID, MCA_TEMPLATE_ID, startPartnerCenterSimulator, type PartnerCenterSimulator } from '../../simulator';
import { connect, disposeAll, subscribe } from '../alerts/ws';
import { aConnectedPartner, CONFIRM, confirmationsOf, eventually, startPcGateway, SYNC_FIELDS, SYNC_OF, tokenRequestsOf, type ConnectedPartner } from './support';

let sim: PartnerCenterSimulator;
let gw: TestGateway;
let template: AgreementTemplate;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

beforeAll(async () => {
  sim = await startPartnerCenterSimulator();
  gw = await startPcGateway(sim);
  // The vendor's Customer Agreement template: the simulator knows it, as Partner Center does.
  template = await anAgreement(gw, { templateId: MCA_TEMPLATE_ID, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-10-01' });
});
afterAll(async () => {
  await disposeAll();
  await gw?.stop();
  await sim?.close();
});
afterEach(() => sim.misbehave({ failNext: { count: 0 }, dropNext: 0, dropAfterNext: 0, throttle: null, legacyRetired: false, status600061: 400 }));

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
const settled = (s: Record<string, any>) => s.status === 'SYNCED' || s.status === 'FAILED' || s.status === 'PAUSED';
const em = () => gw.orm.em.fork() as any;

describe('every confirmation reaches Partner Center, as the vendor documents it', () => {
  test("the agreement type is the template's, in the vendor's spelling", async () => {
    const p = await aConnectedPartner(gw, sim);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    await confirm(p, customer);
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync.status).toBe('SYNCED');
    expect(confirmationsOf(sim, customer.tenantId)[0].body).toMatchObject({ templateId: MCA_TEMPLATE_ID, type: 'MicrosoftCustomerAgreement' });
    expect(sim.agreementsOf(customer.tenantId)).toHaveLength(1);
  });

  test('happy path: posted once, with the documented body (no userId) and headers', async () => {
    const p = await aConnectedPartner(gw, sim);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    const acceptance = await confirm(p, customer);
    expect(acceptance.sync.status).toBe('PENDING');
    expect(acceptance.sync.requestId).toMatch(UUID);

    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', attempts: 1, requestId: acceptance.sync.requestId, lastError: null, nextAttemptAt: null });
    expect(sync.syncedAt).toEqual(expect.any(String));

    const posts = confirmationsOf(sim, customer.tenantId);
    expect(posts).toHaveLength(1);
    const [post] = posts;
    expect(post.status).toBe(201);
    expect(post.body).toEqual({
      primaryContact: { firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', phoneNumber: '+14255550123' },
      templateId: MCA_TEMPLATE_ID,
      dateAgreed: '2024-05-01T00:00:00Z',
      type: 'MicrosoftCustomerAgreement',
    });
    expect(post.headers['ms-requestid']).toBe(acceptance.sync.requestId);
    expect(post.headers['ms-correlationid']).toMatch(UUID);
    expect(post.headers['ms-correlationid']).not.toBe(acceptance.sync.requestId);
    expect(post.headers['ms-contract-version']).toBe('v1');
    expect(post.headers['content-type']).toBe('application/json');
    expect(post.headers.authorization).toMatch(/^Bearer \S+$/);
    // The userId upstream is the token's, not ours.
    expect(sim.agreementsOf(customer.tenantId)[0].userId).toEqual(expect.any(String));
  });

  test('a confirmation without a phone number omits phoneNumber', async () => {
    const p = await aConnectedPartner(gw, sim);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    await confirm(p, customer, { contact: { ...contact, phoneNumber: null } });
    await eventually(() => syncOf(customer, p.agent), settled);
    expect(confirmationsOf(sim, customer.tenantId)[0].body.primaryContact).toEqual({ firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com' });
  });

  test('600061 with a matching upstream record (template and contact): SYNCED after reading the record', async () => {
    const p = await aConnectedPartner(gw, sim);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    sim.seedAgreement(customer.tenantId, { primaryContact: contact, templateId: MCA_TEMPLATE_ID, dateAgreed: '2024-04-01T00:00:00Z' });
    const acceptance = await confirm(p, customer);
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', attempts: 1, lastError: null });
    expect(confirmationsOf(sim, customer.tenantId).map((r) => r.status)).toEqual([400]);
    const read = sim.requests.filter((r) => r.method === 'GET' && r.path === `/v1/customers/${customer.tenantId}/agreements`);
    expect(read).toHaveLength(1);
    expect(read[0].query.get('agreementType')).toBe('*');
    const log = await exchangesOf(em(), { acceptanceId: acceptance.id });
    expect(log.map((x) => [x.operation, x.httpStatus, x.code, x.outcome])).toEqual([
      ['confirm', 400, '600061', 'already_exists'],
      ['agreements', 200, null, 'ok'],
    ]);
  });

  test('600061 (status 409 too) without a matching upstream record: FAILED with code 600061 and a clear message', async () => {
    sim.misbehave({ status600061: 409 });
    const p = await aConnectedPartner(gw, sim);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    // The same contact is on record upstream, but for another template.
    sim.seedAgreement(customer.tenantId, { primaryContact: contact, templateId: CLOUD_TEMPLATE_ID, dateAgreed: '2019-04-01T00:00:00Z' });
    await confirm(p, customer);
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(sync.lastError).toContain('code 600061');
    expect(sync.lastError).toContain('none for this template and contact');
    expect(confirmationsOf(sim, customer.tenantId)).toHaveLength(1);
  });

  test('401: the token is refreshed once and the post sent again with a new MS-RequestId', async () => {
    const p = await aConnectedPartner(gw, sim);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    // Warm the cache, then revoke what it holds.
    await confirm(p, customer);
    await eventually(() => syncOf(customer, p.agent), settled);
    sim.revokeAccessTokens(p.partner.tenantId);
    const tokensBefore = tokenRequestsOf(sim, p.partner.tenantId).length;
    const other = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    await confirm(p, other);
    const sync = await eventually(() => syncOf(other, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', attempts: 1 });
    const posts = confirmationsOf(sim, other.tenantId);
    expect(posts.map((r) => r.status)).toEqual([401, 201]);
    expect(posts[1].headers['ms-requestid']).not.toBe(posts[0].headers['ms-requestid']);
    expect(posts[1].headers['ms-correlationid']).not.toBe(posts[0].headers['ms-correlationid']);
    expect(posts[1].headers.authorization).not.toBe(posts[0].headers.authorization);
    expect(sync.requestId).toBe(posts[1].headers['ms-requestid']);
    expect(tokenRequestsOf(sim, p.partner.tenantId).length).toBe(tokensBefore + 1);
  });

  test('5xx: retried with backoff, a new MS-RequestId after each answer, one agreement created', async () => {
    const p = await aConnectedPartner(gw, sim);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    sim.misbehave({ failNext: { count: 3, status: 503 } });
    await confirm(p, customer);
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', lastError: null });
    const posts = confirmationsOf(sim, customer.tenantId);
    expect(posts.map((r) => r.status)).toEqual([503, 503, 503, 201]);
    expect(new Set(posts.map((r) => r.headers['ms-requestid'])).size).toBe(4);
    expect(new Set(posts.map((r) => r.headers['ms-correlationid'])).size).toBe(4);
    expect(sim.agreementsOf(customer.tenantId)).toHaveLength(1);
  });

  test('a dropped connection: retried with the SAME MS-RequestId (the only case it is kept)', async () => {
    const p = await aConnectedPartner(gw, sim);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    sim.misbehave({ dropAfterNext: 1 });
    const acceptance = await confirm(p, customer);
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', attempts: 1, requestId: acceptance.sync.requestId });
    const posts = confirmationsOf(sim, customer.tenantId);
    expect(posts).toHaveLength(2);
    expect(posts[0].status).toBeUndefined();
    expect(posts[1].headers['ms-requestid']).toBe(posts[0].headers['ms-requestid']);
    expect(posts[1].headers['ms-correlationid']).not.toBe(posts[0].headers['ms-correlationid']);
    // Upstream created it on the first POST and replayed that answer: one agreement.
    expect(sim.agreementsOf(customer.tenantId)).toHaveLength(1);
    const log = await exchangesOf(em(), { acceptanceId: acceptance.id, operation: 'confirm' });
    expect(log.map((x) => [x.httpStatus, x.outcome])).toEqual([
      [null, 'transport'],
      [201, 'ok'],
    ]);
  });

  test('a 4xx business error fails at once with the upstream code; retryAcceptanceSync requeues it with a new MS-RequestId', async () => {
    const p = await aConnectedPartner(gw, sim);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    sim.misbehave({ legacyRetired: true });
    const acceptance = await confirm(p, customer);
    const failed = await eventually(() => syncOf(customer, p.agent), settled);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(failed.lastError).toMatch(/^Partner Center answered 400 \(code 600071\)/);
    expect(confirmationsOf(sim, customer.tenantId)).toHaveLength(1);
    const log = await exchangesOf(em(), { acceptanceId: acceptance.id });
    expect(log.map((x) => [x.operation, x.httpStatus, x.code, x.outcome])).toEqual([['confirm', 400, '600071', 'failed']]);

    sim.misbehave({ legacyRetired: false });
    const retried = await gw.gql(
      `mutation RetryAcceptanceSync($acceptanceId: ID!) { retryAcceptanceSync(acceptanceId: $acceptanceId) { acceptance { id sync { ${SYNC_FIELDS} } } } }`,
      { acceptanceId: acceptance.id },
      p.agent,
    );
    expect(retried.errors).toBeUndefined();
    expect(retried.data.retryAcceptanceSync.acceptance.sync).toMatchObject({ status: 'PENDING', attempts: 0 });
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', attempts: 1 });
    const ids = confirmationsOf(sim, customer.tenantId).map((r) => r.headers['ms-requestid']);
    expect(ids).toHaveLength(2);
    expect(ids[1]).not.toBe(ids[0]);
    expect(sync.requestId).toBe(ids[1]);

    const again = await gw.gql(`mutation R($acceptanceId: ID!) { retryAcceptanceSync(acceptanceId: $acceptanceId) { acceptance { id } } }`, { acceptanceId: acceptance.id }, p.agent);
    expect(again.errors?.[0].extensions?.code).toBe('CONFLICT');
    const other = await aConnectedPartner(gw, sim, { connect: false });
    const foreign = await gw.gql(`mutation R($acceptanceId: ID!) { retryAcceptanceSync(acceptanceId: $acceptanceId) { acceptance { id } } }`, { acceptanceId: acceptance.id }, other.agent);
    expect(foreign.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'acceptanceId' });
  });

  test('still failing after the configured attempts: FAILED', async () => {
    const p = await aConnectedPartner(gw, sim);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    sim.misbehave({ failNext: { count: 1000, status: 500 } });
    await confirm(p, customer);
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'FAILED', attempts: 5 });
    expect(sync.lastError).toMatch(/^Gave up after 5 attempts; last: Partner Center answered 500/);
    // Each attempt: the first try and PARTNER_CENTER_CALL_RETRIES (2) more.
    expect(confirmationsOf(sim, customer.tenantId)).toHaveLength(15);
  });

  test('the upstream down for a while, then back: nothing lost, nothing sent twice', async () => {
    const p = await aConnectedPartner(gw, sim);
    const customers = await Promise.all([1, 2, 3].map(() => aCustomer(gw, { partners: [{ partner: p.partner }] })));
    sim.misbehave({ dropNext: 100_000 });
    try {
      for (const c of customers) await confirm(p, c);
      await eventually(
        () => Promise.all(customers.map((c) => syncOf(c, p.agent))),
        (all) => all.every((s) => s.attempts >= 2),
      );
      const during = await Promise.all(customers.map((c) => syncOf(c, p.agent)));
      expect(during.map((s) => s.status)).toEqual(['PENDING', 'PENDING', 'PENDING']);
      expect(during[0].lastError).toMatch(/^Partner Center could not be reached/);
      // No answer came: every try of a confirmation carried its one MS-RequestId.
      for (const [i, c] of customers.entries()) expect(new Set(confirmationsOf(sim, c.tenantId).map((r) => r.headers['ms-requestid']))).toEqual(new Set([during[i].requestId]));
    } finally {
      sim.misbehave({ dropNext: 0 });
    }
    const after = await eventually(
      () => Promise.all(customers.map((c) => syncOf(c, p.agent))),
      (all) => all.every(settled),
    );
    expect(after.map((s) => s.status)).toEqual(['SYNCED', 'SYNCED', 'SYNCED']);
    for (const c of customers) {
      expect(sim.agreementsOf(c.tenantId)).toHaveLength(1);
      expect(confirmationsOf(sim, c.tenantId).filter((r) => r.status === 201)).toHaveLength(1);
    }
  });

  test('a contact correction is queued in its transaction and posted with a new MS-RequestId', async () => {
    const p = await aConnectedPartner(gw, sim);
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
    const posts = confirmationsOf(sim, customer.tenantId);
    expect(posts.map((r) => r.headers['ms-requestid'])).toEqual([acceptance.sync.requestId, queued.requestId]);
    expect(posts[1].body.primaryContact.email).toBe('grace.hopper@example.com');
    expect(sim.agreementsOf(customer.tenantId)).toHaveLength(2);
  });

  test("approving a reseller's submission queues the provider's confirmation", async () => {
    const provider = await aConnectedPartner(gw, sim, { type: PartnerType.INDIRECT_PROVIDER });
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
    expect(confirmationsOf(sim, customer.tenantId)).toHaveLength(1);
  });

  test('NOT_CONNECTED: the local record counts, nothing is posted; connecting later queues the backlog', async () => {
    const p = await aConnectedPartner(gw, sim, { connect: false });
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    const acceptance = await confirm(p, customer);
    expect(acceptance.sync).toMatchObject({ status: 'NOT_CONNECTED', attempts: 0 });
    const status = await gw.gql(`query Q($id: ID!) { customer(id: $id) { complianceStatus } }`, { id: customer.id }, p.agent);
    expect(status.data.customer.complianceStatus).toBe('CONFIRMED');
    expect(confirmationsOf(sim, customer.tenantId)).toHaveLength(0);

    const connected = await gw.gql(`mutation C($input: ConnectPartnerCenterInput!) { connectPartnerCenter(input: $input) { connection { status } } }`, { input: p.creds }, p.admin);
    expect(connected.data.connectPartnerCenter.connection.status).toBe('CONNECTED');
    const sync = await eventually(() => syncOf(customer, p.agent), settled);
    expect(sync).toMatchObject({ status: 'SYNCED', requestId: acceptance.sync.requestId });
    expect(confirmationsOf(sim, customer.tenantId)).toHaveLength(1);
  });

  test('disconnecting erases the credentials and parks new confirmations as NOT_CONNECTED', async () => {
    const p = await aConnectedPartner(gw, sim);
    const res = await gw.gql(`mutation DisconnectPartnerCenter($partnerId: ID) { disconnectPartnerCenter(partnerId: $partnerId) { connection { status clientId } } }`, {}, p.admin);
    expect(res.data.disconnectPartnerCenter.connection).toEqual({ status: 'DISCONNECTED', clientId: null });
    const rows = await gw.orm.em.fork().getConnection().execute('select * from partner_center_connections where partner_id = ?', [p.partner.id]);
    expect(rows).toHaveLength(0);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    expect((await confirm(p, customer)).sync.status).toBe('NOT_CONNECTED');
  });

  test('NOT_APPLICABLE on national clouds', async () => {
    const p = await aConnectedPartner(gw, sim);
    const customer = await aCustomer(gw, { cloud: CloudInstance.US_GOVERNMENT, partners: [{ partner: p.partner }] });
    await anAcceptance(gw, { customer, partner: p.partner, template });
    expect((await syncOf(customer, p.agent)).status).toBe('NOT_APPLICABLE');
  });

  test('acceptanceSyncs lists a partner\'s syncs by status, under tenancy', async () => {
    const p = await aConnectedPartner(gw, sim, { connect: false });
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

    const other = await aConnectedPartner(gw, sim, { connect: false });
    const foreign = await gw.gql(Q, { partnerId: p.partner.id }, other.agent);
    expect(foreign.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'partnerId' });
    const analyst = await gw.gql(Q, { partnerId: p.partner.id, status: 'NOT_CONNECTED' }, await analystToken());
    expect(analyst.data.acceptanceSyncs.totalCount).toBe(2);
  });

  test('a backlog page costs three statements whatever its length: the page with its totalCount, its acceptances, their partners', async () => {
    const p = await aConnectedPartner(gw, sim, { connect: false });
    const Q = `query ($first: Int) { acceptanceSyncs(status: NOT_CONNECTED, first: $first) {
      totalCount edges { node { acceptance { id status partner { id } } sync { status attempts syncedAt } } } } }`;
    const page = async (first: number) => {
      let res: any;
      const statements = await gw.countStatements(async () => {
        res = await gw.gql(Q, { first }, p.agent);
      });
      expect(res.errors).toBeUndefined();
      return { statements, edges: res.data.acceptanceSyncs.edges, totalCount: res.data.acceptanceSyncs.totalCount };
    };
    const customers = await Promise.all([1, 2, 3].map(() => aCustomer(gw, { partners: [{ partner: p.partner }] })));
    for (const c of customers) await confirm(p, c);
    await page(1); // the first request records the user
    const one = await page(1);
    const three = await page(3);
    expect(three.totalCount).toBe(3);
    expect(three.edges).toHaveLength(3);
    // The page (with its count), the acceptances, their partners: as many for three as for one.
    expect(three.statements).toBe(one.statements);
    expect(three.statements).toBe(3);
    for (const e of three.edges) expect(e.node).toMatchObject({ acceptance: { status: 'ACTIVE', partner: { id: p.partner.id } }, sync: { status: 'NOT_CONNECTED', attempts: 0, syncedAt: null } });
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

describe('a dead delegated grant (invalid_grant)', () => {
  const CONNECTION = `query C($partnerId: ID) { partnerCenterConnection(partnerId: $partnerId) { status lastError } }`;

  test.each(['AADSTS700082', 'AADSTS50173'] as const)(
    '%s: the connection NEEDS_REAUTHORIZATION, deliveries PAUSED with no attempt spent, nothing retried; reconnecting resumes them',
    async (code) => {
      const p = await aConnectedPartner(gw, sim);
      const customers = await Promise.all([1, 2].map(() => aCustomer(gw, { partners: [{ partner: p.partner }] })));
      sim.revokeGrant(p.partner.tenantId, code);
      sim.revokeAccessTokens(p.partner.tenantId);
      const tokensBefore = tokenRequestsOf(sim, p.partner.tenantId).length;
      await confirm(p, customers[0]);
      const paused = await eventually(() => syncOf(customers[0], p.agent), (s) => s.status === 'PAUSED');
      expect(paused).toMatchObject({ status: 'PAUSED', attempts: 0 });
      expect(paused.lastError).toContain(code);
      const conn = await gw.gql(CONNECTION, {}, p.admin);
      expect(conn.data.partnerCenterConnection.status).toBe('NEEDS_REAUTHORIZATION');
      // One POST answered 401, one token request refused; never retried after that.
      const refused = tokenRequestsOf(sim, p.partner.tenantId).slice(tokensBefore);
      expect(refused.map((r) => r.status)).toEqual([400]);
      expect(confirmationsOf(sim, customers[0].tenantId).map((r) => r.status)).toEqual([401]);

      // A confirmation recorded meanwhile waits PAUSED at once.
      const second = await confirm(p, customers[1]);
      expect(second.sync.status).toBe('PAUSED');
      await new Promise((r) => setTimeout(r, 1500));
      expect(tokenRequestsOf(sim, p.partner.tenantId).length).toBe(tokensBefore + 1);
      expect(confirmationsOf(sim, customers[1].tenantId)).toHaveLength(0);
      const log = await exchangesOf(em(), { partnerId: p.partner.id, operation: 'token' });
      expect(log.at(-1)).toMatchObject({ httpStatus: 400, code, outcome: 'failed' });

      // The partner's admins are alerted, once, live and on replay; an agent may not subscribe.
      const ON_ALERT = `subscription A($partnerId: ID, $after: String) { partnerCenterConnectionAlerts(partnerId: $partnerId, after: $after) { id cursor status code message partner { id } } }`;
      const alerts = subscribe(connect(gw, p.admin).client, ON_ALERT, { after: '0' }, (d) => d.partnerCenterConnectionAlerts);
      const [alert] = await alerts.until((r) => r.length >= 1);
      expect(alert).toMatchObject({ status: 'NEEDS_REAUTHORIZATION', code, partner: { id: p.partner.id } });
      expect(alert.message).toContain('connect again');
      alerts.unsubscribe();
      const [{ n }] = await em().getConnection().execute('select count(*)::int as n from partner_center_connection_alerts where partner_id = ?', [p.partner.id]);
      expect(n).toBe(1);
      const agent = subscribe(connect(gw, p.agent).client, ON_ALERT, {}, (d) => d.partnerCenterConnectionAlerts);
      await agent.ended;
      expect(JSON.stringify(agent.errors)).toContain('FORBIDDEN');

      // The partner consents again: reconnecting resumes both.
      const fresh = { ...p.creds, refreshToken: `${p.creds.refreshToken}-again` };
      sim.registerApp({ tenantId: p.partner.tenantId, ...fresh });
      const reconnected = await gw.gql(`mutation C($input: ConnectPartnerCenterInput!) { connectPartnerCenter(input: $input) { connection { status } } }`, { input: fresh }, p.admin);
      expect(reconnected.errors).toBeUndefined();
      expect(reconnected.data.connectPartnerCenter.connection.status).toBe('CONNECTED');
      const after = await eventually(
        () => Promise.all(customers.map((c) => syncOf(c, p.agent))),
        (all) => all.every((s) => s.status === 'SYNCED'),
      );
      expect(after.map((s) => [s.status, s.attempts])).toEqual([
        ['SYNCED', 1],
        ['SYNCED', 1],
      ]);
    },
  );
  test('the delivery that met the dead grant is left to pauseDelivery: every other waiting delivery of the partner is PAUSED at once', async () => {
    const p = await aConnectedPartner(gw, sim);
    const customers = await Promise.all([1, 2].map(() => aCustomer(gw, { partners: [{ partner: p.partner }] })));
    const [delivering, waiting] = await Promise.all(customers.map((c) => anAcceptance(gw, { customer: c, partner: p.partner, template })));
    // Waiting with no job: no worker claims them while the test looks.
    await em().getConnection().execute(
      `insert into acceptance_syncs (acceptance_id, partner_id, status, created_at) values (?, ?, 'PENDING', now()), (?, ?, 'PENDING', now())`,
      [delivering.id, p.partner.id, waiting.id, p.partner.id],
    );
    const secrets = (await connectionSecrets(em(), p.partner.id))!;
    await em().transactional((tx: any) => markNeedsReauthorization(tx, secrets, 'invalid_grant', delivering.id));
    const rows = await em().getConnection().execute('select acceptance_id, status from acceptance_syncs where acceptance_id in (?, ?)', [delivering.id, waiting.id]);
    expect(Object.fromEntries(rows.map((r: { acceptance_id: string; status: string }) => [r.acceptance_id, r.status]))).toEqual({ [delivering.id]: 'PENDING', [waiting.id]: 'PAUSED' });
  });
});

describe('the exchange log', () => {
  test('holds every exchange with its ids, and never a token, a secret or a contact value', async () => {
    const p = await aConnectedPartner(gw, sim);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    sim.misbehave({ failNext: { count: 1, status: 502 } });
    const acceptance = await confirm(p, customer);
    await eventually(() => syncOf(customer, p.agent), settled);
    const rows = await exchangesOf(em(), { partnerId: p.partner.id });
    expect(rows.map((r) => [r.operation, r.httpStatus, r.outcome])).toEqual([
      ['token', 200, 'ok'],
      ['confirm', 502, 'retry'],
      ['confirm', 201, 'ok'],
    ]);
    const posts = confirmationsOf(sim, customer.tenantId);
    expect(rows.slice(1).map((r) => [r.requestId, r.correlationId])).toEqual(posts.map((r) => [r.headers['ms-requestid'], r.headers['ms-correlationid']]));
    expect(rows[2]).toMatchObject({ customerId: customer.id, acceptanceId: acceptance.id, method: 'POST', path: `/v1/customers/${customer.tenantId}/agreements` });

    const everything = JSON.stringify(await em().getConnection().execute('select * from partner_center_exchanges'));
    const tokens = sim.requests.map((r) => r.headers.authorization?.replace(/^Bearer /, '')).filter(Boolean);
    for (const secret of [p.creds.clientSecret, p.creds.refreshToken, ...tokens, contact.email, contact.firstName, contact.lastName, contact.phoneNumber]) {
      expect(everything).not.toContain(secret);
    }
  });
});
