import type { EntityManager } from '@mikro-orm/postgresql';
import { ConfigError, loadConfig } from '../../src/config';
import { queryRows } from '../../src/db/query';
import { reconciliation, RECONCILE_DAILY_QUEUE, RECONCILE_PARTNER_QUEUE } from '../../src/reconciliation/reconciliation.runtime';
import { aCustomer } from '../factories';
import { freshDatabase } from '../support/database';
import type { TestGateway } from '../support/gateway';
import { aConnectedPartner, customerReads, startReconGateway, useSimulator } from './support';

/** The daily run on pg-boss 10: configuration, one schedule in the database, one run per partner and day across instances. */

describe('configuration', () => {
  it('RECONCILIATION_CRON defaults to 02:30 UTC daily, the schedule is off under NODE_ENV=test; malformed values fail at start-up', () => {
    const base = { JWT_SECRET: 'x'.repeat(32) };
    expect(loadConfig(base).reconciliation).toMatchObject({ cron: '30 2 * * *', schedule: true, concurrency: 4 });
    expect(loadConfig({ ...base, NODE_ENV: 'test' }).reconciliation).toMatchObject({ schedule: false });
    expect(loadConfig({ ...base, RECONCILIATION_CRON: '0 4 * * *', RECONCILIATION_CONCURRENCY: '8' }).reconciliation).toMatchObject({ cron: '0 4 * * *', concurrency: 8 });
    expect(() => loadConfig({ ...base, RECONCILIATION_CRON: 'daily' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, RECONCILIATION_CONCURRENCY: '0' })).toThrow(ConfigError);
  });
});

describe('the daily run', () => {
  const sim = useSimulator();
  const gateways: TestGateway[] = [];
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  afterAll(async () => {
    while (gateways.length) await gateways.pop()!.stop();
    await db?.drop();
  });

  it('runs once per connected partner across two instances: one schedule, one job per partner, each customer read once', async () => {
    db = await freshDatabase();
    const config = { reconciliation: { cron: '45 2 * * *', schedule: true, concurrency: 2, pollingIntervalSeconds: 0.5 } };
    const started = await Promise.allSettled([startReconGateway(sim(), { databaseUrl: db.url, config }), startReconGateway(sim(), { databaseUrl: db.url, config })]);
    for (const s of started) if (s.status === 'fulfilled') gateways.push(s.value);
    expect(started.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);
    const [first, second] = gateways;

    const boss = reconciliation(first.services).boss!;
    expect((await boss.getSchedules()).filter((s) => s.name === RECONCILE_DAILY_QUEUE).map((s) => s.cron)).toEqual(['45 2 * * *']);

    const a = await aConnectedPartner(first, sim());
    const b = await aConnectedPartner(first, sim());
    const customers = [await aCustomer(first, { partners: [{ partner: a.partner }] }), await aCustomer(first, { partners: [{ partner: b.partner }] })];
    for (const c of customers) sim().setDirectSigned(c.tenantId, true);

    // What the cron job does, on both instances at once (and once more): pg-boss keeps one job per partner and day.
    const queued = await Promise.all([reconciliation(first.services).queueDaily(), reconciliation(second.services).queueDaily()]);
    expect(queued[0] + queued[1]).toBe(2);
    expect(await reconciliation(second.services).queueDaily()).toBe(0);

    const em = first.orm.em.fork() as EntityManager;
    const finished = async () => (await queryRows(em, 'select 1 from partner_center_reconciliations where finished_at is not null and checked = 1')).length;
    const until = Date.now() + 20_000;
    while ((await finished()) < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(await finished()).toBe(2);

    // Each customer read once (agreements + direct status), its drift recorded once.
    expect(customerReads(sim(), customers.map((c) => c.tenantId))).toHaveLength(4);
    const drift = await queryRows<{ kind: string }>(em, 'select kind from acceptance_drift order by kind');
    expect(drift.map((d) => d.kind)).toEqual(['DIRECT_ACCEPTANCE_FOUND', 'DIRECT_ACCEPTANCE_FOUND']);
  }, 40_000);

  it("a partner's job queued before its last run started does nothing (the run did its work)", async () => {
    const [first] = gateways;
    const { partner } = await aConnectedPartner(first, sim());
    const customer = await aCustomer(first, { partners: [{ partner }] });
    const queuedAt = new Date(Date.now() - 60_000).toISOString();
    await reconciliation(first.services).run(partner.id);
    const reads = customerReads(sim(), [customer.tenantId]).length;
    const boss = reconciliation(first.services).boss!;
    const id = (await boss.send(RECONCILE_PARTNER_QUEUE, { partnerId: partner.id, queuedAt }))!;
    const until = Date.now() + 20_000;
    let job = await boss.getJobById(RECONCILE_PARTNER_QUEUE, id);
    while (job?.state !== 'completed' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      job = await boss.getJobById(RECONCILE_PARTNER_QUEUE, id);
    }
    expect(job?.state).toBe('completed');
    expect(customerReads(sim(), [customer.tenantId])).toHaveLength(reads);
  }, 30_000);

  it('a run already holding the partner is CONFLICT for a second one, on any instance', async () => {
    const [first, second] = gateways;
    const { partner } = await aConnectedPartner(first, sim());
    for (let i = 0; i < 3; i++) await aCustomer(first, { partners: [{ partner }] });
    sim().misbehave({ latencyMs: 300 });
    try {
      const runs = await Promise.allSettled([reconciliation(first.services).run(partner.id), reconciliation(second.services).run(partner.id)]);
      expect(runs.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const rejected = runs.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      expect(rejected.reason.extensions?.code).toBe('CONFLICT');
    } finally {
      sim().misbehave({ latencyMs: 0 });
    }
  }, 30_000);
});
