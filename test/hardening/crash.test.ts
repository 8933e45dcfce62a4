import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { aCustomer, anAcceptance, anAgreement, aPartner, aPartnerToken } from '../factories';
import { freshDatabase } from '../support/database';
import { FOUNDING_RULES_SQL, gql, TEST_SECRET } from '../support/gateway';
import { freePort } from './child-postgres';
import { initOrm } from '../../src/db/orm';
import { entities } from '../../src/features';
import { Role } from '../../src/auth/roles';
import type { Gateway } from '../../src/gateway';
import type { Customer } from '../../src/customers/customer.entity';

/**
 * Crash: the gateway (src/main.ts in a child process) is killed with SIGKILL while
 * clients place orders with idempotency keys; after a restart the clients retry every
 * order they were not told the outcome of, with the same keys. Every order exists
 * exactly once, each answer the clients got stays true, and every blocked order has
 * exactly one alert.
 */

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
const ATTEMPT = `mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { id outcome } alert { id } } }`;
const CLIENTS = 4;

let db: Awaited<ReturnType<typeof freshDatabase>>;
let orm: MikroORM;
let port: number;
let child: ChildProcess | undefined;

function startChild(): ChildProcess {
  return spawn(process.execPath, ['-r', 'reflect-metadata', '-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: db.url, PORT: String(port), JWT_SECRET: TEST_SECRET, SEED_DEMO: 'false', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function untilReady(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the gateway child did not become ready');
}

function kill9(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

beforeAll(async () => {
  db = await freshDatabase();
  port = await freePort();
  child = startChild();
  await untilReady(); // migrations applied by the child
  orm = await initOrm(db.url, entities);
  // The founding FAQ's rules today: the orders below confirm a Cloud Agreement (issue 18).
  await orm.em.getConnection().execute(FOUNDING_RULES_SQL);
});
afterAll(async () => {
  if (child && child.exitCode === null) await kill9(child);
  await orm?.close();
  await db?.drop();
});

describe('crash', () => {
  it('after SIGKILL mid-write and a restart, retried orders exist exactly once and every blocked order has exactly one alert', async () => {
    const target = { orm } as unknown as Gateway;
    const partner = await aPartner(target);
    const confirmed = await aCustomer(target, { partners: [{ partner }] });
    const unconfirmed = await aCustomer(target, { partners: [{ partner }] });
    await anAcceptance(target, { customer: confirmed, partner, template: await anAgreement(target) });
    const token = await aPartnerToken(partner, Role.AGENT);
    const url = `http://127.0.0.1:${port}/graphql`;

    const told = new Map<string, { id: string; outcome: string }>();
    const attempted = new Set<string>();
    const place = (key: string, customer: Customer) =>
      gql(url, ATTEMPT, { input: { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: `offer-${key}`, quantity: 1, idempotencyKey: key } }, token);
    const customerOf = (key: string) => (Number(key.split('-').pop()) % 2 ? unconfirmed : confirmed);

    // Clients place orders until the gateway dies under them.
    let dead = false;
    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; !dead && i < 500; i++) {
        const key = `crash-${c}-${i}`;
        attempted.add(key);
        try {
          const res = await place(key, customerOf(key));
          if (!res.errors) told.set(key, res.data.attemptTransaction.order);
        } catch {
          return; // connection reset: the gateway is gone
        }
      }
    });
    while (told.size < 20) await new Promise((r) => setTimeout(r, 10));
    await kill9(child!);
    dead = true;
    await Promise.all(clients);
    expect(told.size).toBeGreaterThanOrEqual(20);
    // Each client was cut off mid-request: some orders were attempted without an answer.
    expect(attempted.size).toBeGreaterThan(told.size);

    // Restart on the same database; the clients retry everything they attempted.
    child = startChild();
    await untilReady();
    for (const key of attempted) {
      const res = await place(key, customerOf(key));
      expect([key, res.errors]).toEqual([key, undefined]);
      const order = res.data.attemptTransaction.order;
      if (told.has(key)) expect([key, order]).toEqual([key, told.get(key)]);
      expect([key, order.outcome]).toEqual([key, customerOf(key) === unconfirmed ? 'BLOCKED' : 'COMPLETED']);
    }

    const conn = orm.em.fork().getConnection();
    const orders = await conn.execute<{ key: string; n: number }[]>(`select idempotency_key as key, count(*)::int as n from orders where idempotency_key like 'crash-%' group by 1`);
    expect(orders.map((o) => o.key).sort()).toEqual([...attempted].sort());
    expect(orders.filter((o) => o.n !== 1)).toEqual([]);
    const alerts = await conn.execute<{ outcome: string; n: number }[]>(
      `select o.idempotency_key as key, o.outcome, count(a.id)::int as n from orders o left join blocked_order_alerts a on a.order_id = o.id
       where o.idempotency_key like 'crash-%' group by 1, 2`,
    );
    expect(alerts.filter((a) => a.n !== (a.outcome === 'BLOCKED' ? 1 : 0))).toEqual([]);
    expect(alerts.filter((a) => a.outcome === 'BLOCKED').length).toBeGreaterThan(0);
  });
});
