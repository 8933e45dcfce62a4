import { randomUUID } from 'node:crypto';
import { TOTAL_COUNT_CAP } from '../../src/common/connection';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';

/**
 * docs/lists.md: a list without a maintained count (orders, the sync backlog, attestations,
 * drift, blocked-order alerts) reports totalCount exactly up to TOTAL_COUNT_CAP and
 * TOTAL_COUNT_CAP + 1 beyond ("more than"), at the cost of counting at most that many rows.
 */

let gw: TestGateway;
const P = randomUUID();
const C = randomUUID();

beforeAll(async () => {
  gw = await startGateway();
  const sql = gw.orm.em.fork().getConnection();
  await sql.execute(`insert into partners (id, name, tenant_id, type, created_at) values (?, 'P', 't-p', 'DIRECT_BILL', now())`, [P]);
  await sql.execute(`insert into users (id, display_name, partner_id, roles, first_seen_at, last_seen_at) values ('u-count', 'U', ?, '{AGENT}', now(), now())`, [P]);
  await sql.execute(
    `insert into customers (id, tenant_id, company_name, domain, country, contact_first_name, contact_last_name, contact_email, created_at)
     values (?, 't-c', 'C', 'c.example', 'US', 'A', 'B', 'a@example.com', now())`,
    [C],
  );
});
afterAll(() => gw?.stop());

async function addOrders(n: number): Promise<void> {
  await gw.orm.em.fork().getConnection().execute(
    `insert into orders (id, customer_id, partner_id, kind, channel, outcome, block_reasons, warnings, requested_at, created_at, quantity, placed_by_id, idempotency_key, idempotency_scope, request_hash)
     select gen_random_uuid(), ?, ?, 'NEW_PURCHASE', 'API', 'COMPLETED', '{}', '{}', now(), now(), 1, 'u-count', gen_random_uuid()::text, 's', 'h' from generate_series(1, ?)`,
    [C, P, n],
  );
}

async function addDrift(n: number): Promise<void> {
  await gw.orm.em.fork().getConnection().execute(
    `insert into acceptance_drift (id, customer_id, partner_id, kind, detail, first_detail, first_detected_at, detected_at, resolved_at)
     select gen_random_uuid(), ?, ?, 'CONTACT_DIFFERS', 'd', 'd', now(), now(), now() from generate_series(1, ?)`,
    [C, P, n],
  );
}

const totals = async () => {
  const res = await gw.gql(
    `query ($p: ID) { orders(filter: { partnerId: $p }, first: 2) { totalCount edges { node { id } } pageInfo { hasNextPage } }
                      acceptanceDrift(partnerId: $p, first: 2) { totalCount pageInfo { hasNextPage } } }`,
    { p: P },
    await platformAdminToken(),
  );
  expect(res.errors).toBeUndefined();
  return { orders: res.data.orders.totalCount, drift: res.data.acceptanceDrift.totalCount, page: res.data.orders.edges.length };
};

describe('bounded totalCount', () => {
  it('totalCount is exact up to TOTAL_COUNT_CAP and TOTAL_COUNT_CAP + 1 beyond it', async () => {
    expect(TOTAL_COUNT_CAP).toBe(10_000);
    await addOrders(3);
    await addDrift(3);
    expect(await totals()).toEqual({ orders: 3, drift: 3, page: 2 });

    await addOrders(TOTAL_COUNT_CAP - 3);
    await addDrift(TOTAL_COUNT_CAP - 3);
    expect(await totals()).toEqual({ orders: TOTAL_COUNT_CAP, drift: TOTAL_COUNT_CAP, page: 2 });

    await addOrders(1);
    await addDrift(1);
    expect(await totals()).toEqual({ orders: TOTAL_COUNT_CAP + 1, drift: TOTAL_COUNT_CAP + 1, page: 2 });

    await addOrders(500);
    await addDrift(500);
    expect(await totals()).toEqual({ orders: TOTAL_COUNT_CAP + 1, drift: TOTAL_COUNT_CAP + 1, page: 2 });
  });

  it('a bounded totalCount says so in the schema', async () => {
    const res = await gw.gql(`{ __type(name: "OrderConnection") { fields { name description } } }`, {}, await platformAdminToken());
    const field = res.data.__type.fields.find((f: { name: string }) => f.name === 'totalCount');
    expect(field.description).toMatch(/exact up to 10,000; 10,001 means more than 10,000/);
  });
});
