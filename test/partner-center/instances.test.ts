import type { ChildProcess } from 'node:child_process';
import type { MikroORM } from '@mikro-orm/postgresql';
import { initOrm } from '../../src/db/orm';
import { entities } from '../../src/features';
import type { Gateway } from '../../src/gateway';
import { aCustomer, anAgreement, aPartner, aPartnerToken } from '../factories';
import { freshDatabase } from '../support/database';
import { gql, type TestGateway } from '../support/gateway';
import { Role } from '../../src/auth/roles';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { MCA_TEMPLATE_ID, startPartnerCenterSimulator, type PartnerCenterSimulator } from '../../simulator';
import { aConnectedPartner, CONFIRM, CONNECT, confirmationsOf, eventually, pcConfig, spawnGatewayChild, startPcGateway, SYNC_OF } from './support';

const contact = { firstName: 'Alan', lastName: 'Turing', email: 'alan@example.com' };

describe('several gateway instances, one queue', () => {
  let fake: PartnerCenterSimulator;
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    fake = await startPartnerCenterSimulator();
    // Generous timeouts: on a loaded machine a slow answer would be retried (same MS-RequestId,
    // still correct) and the test counts attempts; the kill test below keeps the short ones.
    const pc = { timeoutMs: 15_000, jobExpireSeconds: 60 };
    a = await startPcGateway(fake, { pc });
    b = await startPcGateway(fake, { pc, databaseUrl: a.databaseUrl });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await fake?.close();
  });

  test('two instances drain one queue: each confirmation is posted once', async () => {
    const p = await aConnectedPartner(a, fake);
    const template = await anAgreement(a, { templateId: MCA_TEMPLATE_ID, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-10-01' });
    const customers = await Promise.all(Array.from({ length: 20 }, () => aCustomer(a, { partners: [{ partner: p.partner }] })));
    await Promise.all(
      customers.map(async (c, i) => {
        const res = await (i % 2 ? b : a).gql(CONFIRM, { input: { customerId: c.id, templateId: template.templateId, dateAgreed: '2024-05-01', contact } }, p.agent);
        expect(res.errors).toBeUndefined();
      }),
    );
    const syncs = await eventually(
      () => Promise.all(customers.map(async (c) => (await a.gql(SYNC_OF, { id: c.id }, p.agent)).data.customer.acceptanceHistory[0].sync)),
      (all) => all.every((s) => s.status === 'SYNCED'),
    );
    expect(syncs.every((s) => s.status === 'SYNCED' && s.attempts === 1)).toBe(true);
    for (const [i, c] of customers.entries()) {
      const posts = confirmationsOf(fake, c.tenantId);
      expect(posts).toHaveLength(1);
      expect(posts[0].headers['ms-requestid']).toBe(syncs[i].requestId);
      expect(fake.agreementsOf(c.tenantId)).toHaveLength(1);
    }
  });
});

describe('a gateway killed during delivery', () => {
  let fake: PartnerCenterSimulator;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let child: ChildProcess | undefined;
  let survivor: TestGateway | undefined;
  let orm: MikroORM | undefined;
  beforeAll(async () => {
    fake = await startPartnerCenterSimulator();
    db = await freshDatabase();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await survivor?.stop();
    await orm?.close();
    await fake?.close();
    await db?.drop();
  });

  test('the delivery it started is retried by another instance with the same MS-RequestId', async () => {
    const pc = pcConfig(fake, { jobExpireSeconds: 2, maintenanceIntervalSeconds: 1 });
    const started = await spawnGatewayChild({ databaseUrl: db.url, partnerCenter: pc });
    child = started.child;
    const url = started.url;
    // Fixtures through an ORM of our own: no gateway (and no delivery worker) in this process yet.
    orm = await initOrm(db.url, entities);
    const target = { orm } as unknown as Gateway;
    const partner = await aPartner(target);
    const creds = { clientId: 'kill-client', clientSecret: 'SECRET-kill', refreshToken: 'REFRESH-kill' };
    fake.registerApp({ tenantId: partner.tenantId, ...creds });
    expect((await gql(url, CONNECT, { input: creds }, await aPartnerToken(partner, Role.ADMIN))).errors).toBeUndefined();
    const template = await anAgreement(target, { templateId: MCA_TEMPLATE_ID, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-10-01' });
    const customer = await aCustomer(target, { partners: [{ partner }] });

    // The confirmation POST is left hanging upstream; the gateway is killed while it waits. Only that
    // POST: any API request hung otherwise (a slow machine let another request come first, and the
    // confirmation was delivered before the kill).
    fake.misbehave({ target: /^POST \/v1\/customers\/[^/]+\/agreements$/, hangNext: 1 });
    const agent = await aPartnerToken(partner, Role.AGENT);
    const confirmed = await gql(url, CONFIRM, { input: { customerId: customer.id, templateId: template.templateId, dateAgreed: '2024-05-01', contact } }, agent);
    expect(confirmed.errors).toBeUndefined();
    const requestId = confirmed.data.confirmCustomerAcceptance.acceptance.sync.requestId;
    await eventually(async () => confirmationsOf(fake, customer.tenantId).length, (n) => n === 1);
    const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    child!.kill('SIGKILL');
    await exited;
    fake.releaseHanging();

    survivor = await startPcGateway(fake, { databaseUrl: db.url, pc });
    const sync = await eventually(async () => (await survivor!.gql(SYNC_OF, { id: customer.id }, agent)).data.customer.acceptanceHistory[0].sync, (s) => s.status === 'SYNCED', 30_000);
    // attempts is 2 when the killed instance's attempt was committed before the kill, else 1: timing.
    expect(sync).toMatchObject({ status: 'SYNCED', requestId });
    expect(sync.attempts).toBeGreaterThanOrEqual(1);
    const posts = confirmationsOf(fake, customer.tenantId);
    expect(posts.map((r) => r.headers['ms-requestid'])).toEqual([requestId, requestId]);
    // posts[0] is the killed delivery's: whether the simulator records the answer it wrote to the dead
    // socket depends on when it sees the socket close, so only the retry's answer is asserted.
    expect(posts[1].status).toBe(201);
    expect(fake.agreementsOf(customer.tenantId)).toHaveLength(1);
  }, 60_000);
});

describe('two gateway instances, one request budget per partner tenant', () => {
  let fake: PartnerCenterSimulator;
  let a: TestGateway;
  let b: TestGateway;
  let template: { templateId: string };
  const confirmOn = async (gw: TestGateway, p: Awaited<ReturnType<typeof aConnectedPartner>>, customerId: string) => {
    const res = await gw.gql(CONFIRM, { input: { customerId, templateId: template.templateId, dateAgreed: '2024-05-01', contact } }, p.agent);
    expect(res.errors).toBeUndefined();
  };
  beforeAll(async () => {
    fake = await startPartnerCenterSimulator();
    // A budget of 4 calls a minute per partner tenant; a call over it gives up at once (and is rescheduled).
    const pc = { timeoutMs: 15_000, jobExpireSeconds: 60, budgetPerMinute: 4, maxWaitMs: 0 };
    a = await startPcGateway(fake, { pc });
    b = await startPcGateway(fake, { pc, databaseUrl: a.databaseUrl });
    template = await anAgreement(a, { templateId: MCA_TEMPLATE_ID, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-10-01' });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await fake?.close();
  });

  test('the budget is one for both instances, not one each: 8 confirmations through two instances, 4 calls upstream this minute', async () => {
    const p = await aConnectedPartner(a, fake);
    const customers = await Promise.all(Array.from({ length: 8 }, () => aCustomer(a, { partners: [{ partner: p.partner }] })));
    for (const [i, c] of customers.entries()) await confirmOn(i % 2 ? b : a, p, c.id);
    const syncs = await eventually(
      () => Promise.all(customers.map(async (c) => (await a.gql(SYNC_OF, { id: c.id }, p.agent)).data.customer.acceptanceHistory[0].sync)),
      (all) => all.every((s) => s.attempts >= 1 && (s.status === 'SYNCED' || s.lastError)),
    );
    const posted = customers.flatMap((c) => confirmationsOf(fake, c.tenantId));
    expect(posted).toHaveLength(4);
    expect(syncs.filter((s) => s.status === 'SYNCED')).toHaveLength(4);
    const waiting = syncs.filter((s) => s.status !== 'SYNCED');
    expect(waiting.map((s) => s.status)).toEqual(['PENDING', 'PENDING', 'PENDING', 'PENDING']);
    for (const s of waiting) {
      expect(s.lastError).toMatch(/request budget for this partner is spent/);
      expect(s.nextAttemptAt).not.toBeNull();
    }
    // Both instances delivered within the one budget.
    const [row] = await a.orm.em.fork().getConnection().execute('select points from partner_center_throttle where key = ?', [`pc-tenant:${p.partner.tenantId}`]);
    expect(row.points).toBeGreaterThanOrEqual(8);
  });
});

describe('two gateway instances, one 429 block', () => {
  let fake: PartnerCenterSimulator;
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    fake = await startPartnerCenterSimulator();
    const pc = { timeoutMs: 15_000, jobExpireSeconds: 60 };
    a = await startPcGateway(fake, { pc });
    b = await startPcGateway(fake, { pc, databaseUrl: a.databaseUrl });
    await anAgreement(a, { templateId: MCA_TEMPLATE_ID, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-10-01' });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await fake?.close();
  });

  test('a 429 blocks the partner tenant on every instance until Retry-After has passed; nothing is lost', async () => {
    const p = await aConnectedPartner(a, fake);
    fake.misbehave({ throttle: { limit: 1, windowMs: 2000 } });
    const customers = await Promise.all(Array.from({ length: 4 }, () => aCustomer(a, { partners: [{ partner: p.partner }] })));
    const confirm = (gw: TestGateway, c: { id: string }) =>
      gw.gql(CONFIRM, { input: { customerId: c.id, templateId: MCA_TEMPLATE_ID, dateAgreed: '2024-05-01', contact } }, p.agent).then((r) => expect(r.errors).toBeUndefined());
    await confirm(a, customers[0]);
    await confirm(a, customers[1]);
    // Wait for a 429, then for the block it leaves in the shared budget.
    const first429 = await eventually(async () => fake.requests.find((r) => r.status === 429), (r) => r !== undefined);
    expect(first429).toBeDefined();
    const key = `pc-tenant:${p.partner.tenantId}`;
    const block = await eventually(
      async () => (await a.orm.em.fork().getConnection().execute('select points, expire from partner_center_throttle where key = ?', [key]))[0],
      // The block a Retry-After of seconds leaves, not the minute budget's window the same row held
      // before it (that one expires up to 60 s after the tenant's first call: read too early, it
      // would make every later call look early).
      (row) => row && Number(row.expire) > first429!.at && Number(row.expire) < first429!.at + 30_000,
    );
    const blockedUntil = Number(block.expire);
    // Both instances now hold back, whichever saw the 429.
    await confirm(b, customers[2]);
    await confirm(a, customers[3]);
    const syncs = await eventually(
      () => Promise.all(customers.map(async (c) => (await b.gql(SYNC_OF, { id: c.id }, p.agent)).data.customer.acceptanceHistory[0].sync)),
      (all) => all.every((s) => s.status === 'SYNCED'),
      30_000,
    );
    expect(syncs.map((s) => s.status)).toEqual(['SYNCED', 'SYNCED', 'SYNCED', 'SYNCED']);
    const api = fake.requests.filter((r) => r.path.startsWith('/v1/') && r.headers.authorization);
    const after = api.filter((r) => r.at > first429!.at && r !== first429);
    expect(after.length).toBeGreaterThan(0);
    // The confirmations made once the block was in the shared store (one on each instance) reached
    // upstream only after it (the simulator's clock is the machine's). A call that had taken its
    // budget point before the block was written may still arrive during it: a block cannot recall it.
    const madeAfterBlock = new Set([customers[2], customers[3]].map((c) => `/v1/customers/${c.tenantId}/agreements`));
    const held = after.filter((x) => madeAfterBlock.has(x.path));
    expect(held.length).toBeGreaterThanOrEqual(2);
    for (const r of held) expect({ path: r.path, at: r.at, heldUntil: r.at >= blockedUntil }).toEqual({ path: r.path, at: r.at, heldUntil: true });
    for (const c of customers) expect(fake.agreementsOf(c.tenantId)).toHaveLength(1);
  }, 60_000);
});

describe('the refresh sweep is scheduled once across instances', () => {
  let fake: PartnerCenterSimulator;
  let a: TestGateway;
  let b: TestGateway;
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await fake?.close();
  });

  test('two instances with the schedule on: one pg-boss schedule, one singleton queue for the sweep', async () => {
    fake = await startPartnerCenterSimulator();
    const pc = { tokenRefreshSchedule: true, tokenRefreshCron: '17 * * * *', tokenRefreshDays: 7 };
    a = await startPcGateway(fake, { pc });
    b = await startPcGateway(fake, { pc, databaseUrl: a.databaseUrl });
    const conn = a.orm.em.fork().getConnection();
    const schedules = await conn.execute(`select name, cron, timezone from pgboss.schedule where name = 'partner-center-token-refresh'`);
    expect(schedules).toEqual([{ name: 'partner-center-token-refresh', cron: '17 * * * *', timezone: 'UTC' }]);
    const [queue] = await conn.execute(`select policy from pgboss.queue where name = 'partner-center-token-refresh'`);
    expect(queue.policy).toBe('singleton');
  });
});
