import { aCustomer, anAgreement, anOrder, aPartner, aSubscription } from '../factories';
import { startGateway, type TestGateway } from '../support/gateway';
import { freshDatabase } from '../support/database';
import { ConfigError, loadConfig } from '../../src/config';
import { PartnerType } from '../../src/auth/roles';
import { renewals, RENEWAL_SCAN_QUEUE, SUBSCRIPTION_EXPIRY_QUEUE } from '../../src/renewals/renewal.runtime';
import { SubscriptionStatus } from '../../src/transactions/transaction.enums';
import { dayFromToday } from './ops';

/** The daily scan on pg-boss 10: configuration, the schedule in the database, the worker, a clean stop. */

describe('configuration', () => {
  it('RENEWAL_SCAN_CRON defaults to 06:00 UTC daily; a malformed one fails at start-up with a clear message', () => {
    const base = { JWT_SECRET: 'x'.repeat(32) };
    expect(loadConfig(base).renewalScan).toEqual({ cron: '0 6 * * *', schedule: true, onStart: true, withinDays: 60 });
    expect(loadConfig({ ...base, NODE_ENV: 'test' }).renewalScan).toMatchObject({ schedule: false, onStart: false });
    expect(loadConfig({ ...base, RENEWAL_SCAN_CRON: '*/5 * * * *', RENEWAL_SCAN_WITHIN_DAYS: '30' }).renewalScan).toMatchObject({ cron: '*/5 * * * *', withinDays: 30 });
    expect(() => loadConfig({ ...base, RENEWAL_SCAN_CRON: 'daily' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, RENEWAL_SCAN_WITHIN_DAYS: '1097' })).toThrow(ConfigError);
  });
});

describe('the schedule', () => {
  const gateways: TestGateway[] = [];
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  afterAll(async () => {
    while (gateways.length) await gateways.pop()!.stop();
    await db?.drop();
  });

  it('two instances starting at once share one schedule in the pgboss schema; a job on the queue runs the scan; both stop cleanly', async () => {
    db = await freshDatabase();
    const renewalScan = { cron: '15 6 * * *', schedule: true, onStart: false, withinDays: 60 };
    const started = await Promise.allSettled([startGateway({ renewalScan }, db.url), startGateway({ renewalScan }, db.url)]);
    for (const s of started) if (s.status === 'fulfilled') gateways.push(s.value);
    expect(started.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);
    const [first, second] = gateways;

    const boss = renewals(first.services).boss!;
    expect((await boss.getSchedules()).map((s) => ({ name: s.name, cron: s.cron, tz: (s as typeof s & { timezone: string }).timezone }))).toEqual([
      { name: RENEWAL_SCAN_QUEUE, cron: '15 6 * * *', tz: 'UTC' },
      { name: SUBSCRIPTION_EXPIRY_QUEUE, cron: '0 * * * *', tz: 'UTC' },
    ]);

    const partner = await aPartner(first, { type: PartnerType.DIRECT_BILL });
    const customer = await aCustomer(first, { partners: [{ partner }] });
    await anAgreement(first, { versionRank: 1 });
    await anOrder(first, { customer, partner });
    await aSubscription(first, { customer, partner, renewsOn: dayFromToday(5) });

    // What the timekeeper enqueues when the cron fires: one of the instances' workers takes it.
    await boss.send(RENEWAL_SCAN_QUEUE, {});
    const alerts = async () => Number((await first.orm.em.fork().getConnection().execute<{ n: string }[]>('select count(*) as n from renewal_risk_alerts'))[0].n);
    while ((await alerts()) === 0) await new Promise((r) => setTimeout(r, 100));
    expect(await alerts()).toBe(1);

    // The hourly expiry: an ENDING subscription whose renewsOn has come becomes EXPIRED when the job runs.
    const ending = await aSubscription(first, { customer, partner, renewsOn: dayFromToday(0), autoRenew: false, status: SubscriptionStatus.ENDING });
    await boss.send(SUBSCRIPTION_EXPIRY_QUEUE, {});
    const status = async () => (await first.orm.em.fork().getConnection().execute<{ status: string }[]>('select status from subscriptions where id = ?', [ending.id]))[0].status;
    while ((await status()) === 'ENDING') await new Promise((r) => setTimeout(r, 100));
    expect(await status()).toBe('EXPIRED');

    await second.stop();
    gateways.pop();
    expect((await boss.getSchedules()).length).toBe(2);
  }, 30_000);
});
