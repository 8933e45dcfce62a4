import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { initOrm } from '../../src/db/orm';
import { entities } from '../../src/features';
import type { Gateway } from '../../src/gateway';
import { aCustomer, anAgreement, aPartner, aPartnerToken } from '../factories';
import { freshDatabase } from '../support/database';
import { gql, type TestGateway } from '../support/gateway';
import { Role } from '../../src/auth/roles';
import { FakePartnerCenter } from './fake';
import { aConnectedPartner, CONFIRM, CONNECT, eventually, pcConfig, startPcGateway, SYNC_OF } from './support';

const contact = { firstName: 'Alan', lastName: 'Turing', email: 'alan@example.com' };

describe('several gateway instances, one queue', () => {
  let fake: FakePartnerCenter;
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    fake = await new FakePartnerCenter().start();
    // Generous timeouts: on a loaded machine a slow answer would be retried (same MS-RequestId,
    // still correct) and the test counts attempts; the kill test below keeps the short ones.
    const pc = { timeoutMs: 15_000, jobExpireSeconds: 60 };
    a = await startPcGateway(fake, { pc });
    b = await startPcGateway(fake, { pc, databaseUrl: a.databaseUrl });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await fake?.stop();
  });

  test('two instances drain one queue: each confirmation is posted once', async () => {
    const p = await aConnectedPartner(a, fake);
    const template = await anAgreement(a, { effectiveFrom: '2020-01-01' });
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
      const posts = fake.confirmations(c.tenantId);
      expect(posts).toHaveLength(1);
      expect(posts[0].headers['ms-requestid']).toBe(syncs[i].requestId);
    }
    expect(new Set(fake.agreements.map((x) => x.requestId)).size).toBe(fake.agreements.length);
  });
});

describe('a gateway killed during delivery', () => {
  let fake: FakePartnerCenter;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let child: ChildProcess | undefined;
  let survivor: TestGateway | undefined;
  let orm: MikroORM | undefined;
  beforeAll(async () => {
    fake = await new FakePartnerCenter().start();
    db = await freshDatabase();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await survivor?.stop();
    await orm?.close();
    await fake?.stop();
    await db?.drop();
  });

  test('the delivery it started is retried by another instance with the same MS-RequestId', async () => {
    const pc = pcConfig(fake, { jobExpireSeconds: 2, maintenanceIntervalSeconds: 1 });
    child = spawn(process.execPath, ['-r', 'reflect-metadata', '-r', '@swc-node/register', join(__dirname, 'gateway-child.ts')], {
      cwd: join(__dirname, '../..'),
      env: { ...process.env, CHILD_CONFIG: JSON.stringify({ databaseUrl: db.url, partnerCenter: pc }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d) => {
        out += d;
        const m = /ready (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child!.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
    });
    const url = `http://127.0.0.1:${port}/graphql`;
    // Fixtures through an ORM of our own: no gateway (and no delivery worker) in this process yet.
    orm = await initOrm(db.url, entities);
    const target = { orm } as unknown as Gateway;
    const partner = await aPartner(target);
    const creds = { clientId: 'kill-client', clientSecret: 'SECRET-kill', refreshToken: 'REFRESH-kill' };
    fake.register(partner.tenantId, creds);
    expect((await gql(url, CONNECT, { input: creds }, await aPartnerToken(partner, Role.ADMIN))).errors).toBeUndefined();
    const template = await anAgreement(target, { effectiveFrom: '2020-01-01' });
    const customer = await aCustomer(target, { partners: [{ partner }] });

    const killed = new Promise<void>((resolve) => {
      fake.onHang = () => {
        child!.kill('SIGKILL');
        child!.once('exit', () => resolve());
      };
    });
    fake.confirmCues.push({ hang: true });
    const agent = await aPartnerToken(partner, Role.AGENT);
    const confirmed = await gql(url, CONFIRM, { input: { customerId: customer.id, templateId: template.templateId, dateAgreed: '2024-05-01', contact } }, agent);
    expect(confirmed.errors).toBeUndefined();
    const requestId = confirmed.data.confirmCustomerAcceptance.acceptance.sync.requestId;
    await killed;
    fake.releaseHanging();

    survivor = await startPcGateway(fake, { databaseUrl: db.url, pc });
    const sync = await eventually(async () => (await survivor!.gql(SYNC_OF, { id: customer.id }, agent)).data.customer.acceptanceHistory[0].sync, (s) => s.status === 'SYNCED', 30_000);
    expect(sync).toMatchObject({ status: 'SYNCED', attempts: 2, requestId });
    const posts = fake.confirmations(customer.tenantId);
    expect(posts.map((r) => r.headers['ms-requestid'])).toEqual([requestId, requestId]);
    expect(posts[0].status).toBeUndefined(); // the killed delivery never got its answer
    expect(posts[1].status).toBe(201);
    expect(fake.agreements.filter((x) => x.customerTenantId === customer.tenantId)).toHaveLength(1);
  }, 60_000);
});
