import type { EntityManager } from '@mikro-orm/postgresql';
import { aBlockedOrder, aCustomer, aLink, anAcceptance, anAgreement, aPartner, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { complianceDirectory, rebuildComplianceDirectory } from '../../src/acceptance/compliance.directory';
import { blockedOrderCounts } from '../../src/alerts/blocked-counts';
import { derivedRuntime, isDerivedValid } from '../../src/kernel/derived';
import { queryRows } from '../../src/db/query';
import { AcceptanceStatus, ComplianceStatus } from '../../src/acceptance/acceptance.enums';
import { CloudInstance } from '../../src/customers/customer.enums';
import { PartnerType, Role } from '../../src/auth/roles';
import { BlockReason } from '../../src/transactions/transaction.enums';
import { NO_PARTNER } from '../../src/auth/tenancy';
import { SEARCH_COUNT_CAP, TOTAL_COUNT_CAP } from '../../src/common/connection';
import type { Partner } from '../../src/partners/partner.entity';

const LIST = `query L($filter: CustomerFilter, $first: Int, $after: String) {
  customers(filter: $filter, first: $first, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }`;
const STATUSES = `query St($partnerId: ID) { customers(first: 50) { edges { node { id complianceStatus named: complianceStatus(partnerId: $partnerId)
  acceptance { id } namedAcceptance: acceptance(partnerId: $partnerId) { id } } } } }`;
const SUMMARY = `query S($partnerId: ID) { complianceSummary(partnerId: $partnerId) {
  customers confirmed outdated missing withdrawn reacceptanceRequired notApplicable blockedOrders blockedByReason { reason count } } }`;

let gw: TestGateway;
let em: EntityManager;
let direct: Partner, provider: Partner, r1: Partner, r2: Partner;
const tokens: Record<string, string> = {};
const sql = (text: string, values: unknown[] = []) => queryRows(em, text, values);

/** Reads answered by the live SQL: the epochs as if today had passed their valid_until. */
const expire = () => sql(`update derived_epochs set valid_until = (now() at time zone 'utc')::date`);
const rebuild = () => rebuildComplianceDirectory(em);

/** Every page of a list (2 per page), and its totalCount. */
async function walk(token: string, filter: Record<string, unknown>): Promise<{ ids: string[]; totalCount: number; errors?: unknown }> {
  const ids: string[] = [];
  let after: string | null = null;
  let totalCount = -1;
  for (;;) {
    const res: any = await gw.gql(LIST, { filter, first: 2, after }, token);
    if (res.errors) return { ids, totalCount, errors: res.errors.map((e: any) => e.extensions?.code) };
    const c = res.data.customers;
    totalCount = c.totalCount;
    ids.push(...c.edges.map((e: any) => e.node.id));
    if (!c.pageInfo.hasNextPage) return { ids, totalCount };
    after = c.pageInfo.endCursor;
  }
}

beforeAll(async () => {
  gw = await startGateway();
  em = gw.orm.em.fork() as EntityManager;
  // Rebuilt by hand here: a poll rebuilding between the two reads would hide the live one.
  await derivedRuntime.of(gw.services).stop();
  const old = await anAgreement(gw, { versionRank: 1, effectiveFrom: '2018-11-07' });
  const current = await anAgreement(gw, { versionRank: 2, effectiveFrom: '2024-01-01' });
  direct = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  r1 = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  r2 = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, r1, provider);
  await aLink(gw, r2, provider);
  // Names repeat, and differ only in case, so the order by (sort name, id) is exercised; countries differ.
  // The search 'alpha' finds the Alphas by name, Gamma by its domain, and the first Alpha by both.
  const names = ['Alpha', 'Beta', 'ALPHA', 'Gamma', 'Delta', 'beta', 'Epsilon'];
  const domains: Record<number, string> = { 0: 'alpha.co.uk', 3: 'Alpha.example' };
  const customers = [];
  for (const [i, name] of names.entries()) {
    const partners =
      i % 3 === 0 ? [{ partner: direct }] : i % 3 === 1 ? [{ partner: provider, resellers: [r1] }] : [{ partner: direct }, { partner: provider, resellers: [r1, r2] }];
    customers.push(await aCustomer(gw, { companyName: `${name} Ltd`, domain: domains[i], country: i % 2 ? 'DE' : 'US', partners, cloud: i === 4 ? CloudInstance.CHINA : CloudInstance.PUBLIC }));
  }
  await anAcceptance(gw, { customer: customers[0]!, partner: direct, template: current });
  await anAcceptance(gw, { customer: customers[1]!, partner: provider, template: old });
  await anAcceptance(gw, { customer: customers[2]!, partner: direct, template: current, status: AcceptanceStatus.WITHDRAWN });
  await anAcceptance(gw, { customer: customers[2]!, partner: provider, template: current });
  await anAcceptance(gw, { customer: customers[5]!, partner: direct, template: old, dateAgreed: '2017-01-01' });
  await aBlockedOrder(gw, { customer: customers[0]!, partner: direct, reasons: [BlockReason.ACCEPTANCE_NOT_CONFIRMED] });
  await aBlockedOrder(gw, { customer: customers[1]!, partner: provider, reseller: r1, reasons: [BlockReason.AGREEMENT_VERSION_OUTDATED, BlockReason.RESELLER_NOT_AUTHORIZED] });
  await aBlockedOrder(gw, { customer: customers[2]!, partner: provider, reseller: r2, reasons: [BlockReason.ACCEPTANCE_NOT_CONFIRMED] });
  tokens.admin = await platformAdminToken();
  tokens.analyst = await analystToken();
  tokens.direct = await aPartnerToken(direct, Role.VIEWER);
  tokens.provider = await aPartnerToken(provider, Role.VIEWER);
  tokens.r1 = await aPartnerToken(r1, Role.VIEWER);
  tokens.r2 = await aPartnerToken(r2, Role.VIEWER);
});
afterAll(() => gw?.stop());

/** Answers of `read` from the directory (valid) and from the live SQL (expired): they must be equal. */
async function bothWays<T>(read: () => Promise<T>): Promise<{ derived: T; live: T }> {
  await rebuild();
  expect(await isDerivedValid(em, complianceDirectory)).toBe(true);
  expect(await isDerivedValid(em, blockedOrderCounts)).toBe(true);
  const derived = await read();
  await expire();
  const live = await read();
  expect(await isDerivedValid(em, complianceDirectory)).toBe(false);
  return { derived, live };
}

describe('reads from the compliance directory', () => {
  it('complianceSummary from the maintained counts equals the live counts for every role and partnerId', async () => {
    const cases: [string, string | null][] = [];
    for (const who of Object.keys(tokens)) for (const p of [null, direct.id, provider.id, r1.id, r2.id, NO_PARTNER]) cases.push([who, p]);
    const { derived, live } = await bothWays(() => Promise.all(cases.map(([who, p]) => gw.gql(SUMMARY, { partnerId: p }, tokens[who]))));
    expect(derived.map((r) => r.data ?? r.errors?.[0]?.extensions?.code)).toEqual(live.map((r) => r.data ?? r.errors?.[0]?.extensions?.code));
    expect(derived.filter((r) => r.data).length).toBeGreaterThan(10);
  });

  it('the Customers list from the directory equals the live list, page by page, for every role and filter', async () => {
    const filters: Record<string, unknown>[] = [];
    for (const partnerId of [null, direct.id, provider.id, r1.id, r2.id, NO_PARTNER, 'not-an-id']) {
      for (const complianceStatus of [null, ComplianceStatus.CONFIRMED, ComplianceStatus.MISSING, ComplianceStatus.OUTDATED, ComplianceStatus.NOT_APPLICABLE]) {
        filters.push({ partnerId, complianceStatus });
      }
      filters.push({ partnerId, country: 'DE' }, { partnerId, search: 'alpha' }, { partnerId, search: 'alpha', country: 'US' }, { partnerId, search: 'bet', complianceStatus: ComplianceStatus.MISSING });
    }
    const read = async () => {
      const out: unknown[] = [];
      for (const who of Object.keys(tokens)) for (const f of filters) out.push(await walk(tokens[who]!, f));
      return out;
    };
    const { derived, live } = await bothWays(read);
    expect(derived).toEqual(live);
    expect(derived.filter((r: any) => r.ids.length > 1).length).toBeGreaterThan(20);
  });

  it('the search pages its name matches and domain matches together in the list order, each customer once, both ways', async () => {
    const names = async () => {
      const { ids, totalCount } = await walk(tokens.admin!, { search: 'alpha' });
      const rows = await queryRows<{ id: string; company_name: string }>(em, 'select id, company_name from customers where id = any(?::uuid[])', [ids]);
      return { names: ids.map((id) => rows.find((r) => r.id === id)!.company_name), totalCount };
    };
    const { derived, live } = await bothWays(names);
    // 'ALPHA Ltd' and 'Alpha Ltd' tie on the sort name (then by id); Gamma by its domain.
    expect({ ...derived, names: [...derived.names.slice(0, 2)].sort().concat(derived.names.slice(2)) }).toEqual({ names: ['ALPHA Ltd', 'Alpha Ltd', 'Gamma Ltd'], totalCount: 3 });
    expect(live).toEqual(derived);
  });

  it("the page's compliance status and acceptance from the directory equal the rule's, for every role and partnerId argument", async () => {
    const cases: [string, string | null][] = [];
    for (const who of Object.keys(tokens)) for (const p of [null, direct.id, provider.id, r1.id, r2.id, NO_PARTNER, 'not-an-id']) cases.push([who, p]);
    const { derived, live } = await bothWays(() => Promise.all(cases.map(([who, p]) => gw.gql(STATUSES, { partnerId: p }, tokens[who]))));
    expect(derived).toEqual(live);
    const statuses = new Set(derived.flatMap((r: any) => (r.data?.customers.edges ?? []).flatMap((e: any) => [e.node.complianceStatus, e.node.named])));
    expect(statuses.size).toBeGreaterThanOrEqual(4);
  });

  it('while the directory is valid the page reads the status from it, else the rule computes it', async () => {
    await rebuild();
    const [row] = await queryRows<{ customer_id: string }>(em, `select customer_id from customer_compliance where scope = 'all' and status = 'MISSING' order by customer_id limit 1`);
    const statusOf = async () => {
      const res: any = await gw.gql(STATUSES, { partnerId: null }, tokens.analyst);
      return res.data.customers.edges.find((e: any) => e.node.id === row!.customer_id).node.complianceStatus;
    };
    // A directory row changed behind the rule's back shows: the page did not recompute it.
    await sql(`update customer_compliance set status = 'CONFIRMED' where customer_id = ? and scope = 'all'`, [row!.customer_id]);
    expect(await statusOf()).toBe('CONFIRMED');
    await expire();
    expect(await statusOf()).toBe('MISSING');
    await rebuild();
    expect(await statusOf()).toBe('MISSING');
  });

  it('costs one statement per page, as the live list', async () => {
    await rebuild();
    const derived = await gw.countStatements(() => gw.gql(LIST, { first: 2 }, tokens.provider));
    await expire();
    const live = await gw.countStatements(() => gw.gql(LIST, { first: 2 }, tokens.provider));
    expect(derived).toBe(live);
  });

  it('a write is seen by the next read from the directory (kept by triggers, never stale)', async () => {
    await rebuild();
    const before = await gw.gql(SUMMARY, {}, tokens.admin);
    const c = await aCustomer(gw, { companyName: 'Zeta Ltd', partners: [{ partner: direct }] });
    const after = await gw.gql(SUMMARY, {}, tokens.admin);
    expect(await isDerivedValid(em, complianceDirectory)).toBe(true);
    expect(after.data.complianceSummary.customers).toBe(before.data.complianceSummary.customers + 1);
    expect(after.data.complianceSummary.missing).toBe(before.data.complianceSummary.missing + 1);
    const list = await walk(tokens.direct, {});
    expect(list.ids).toContain(c.id);
  });
});

describe('totalCount with a filter that has no maintained count', () => {
  it(`is exact up to ${TOTAL_COUNT_CAP} and ${TOTAL_COUNT_CAP + 1} beyond (more than ${TOTAL_COUNT_CAP}); with a search up to ${SEARCH_COUNT_CAP}`, async () => {
    await sql(
      `insert into customers (id, tenant_id, company_name, domain, country, cloud, contact_first_name, contact_last_name, contact_email, created_at)
       select gen_random_uuid(), 'bulk-' || g, 'Bulk ' || g, 'bulk' || g || '.example', 'FR', 'PUBLIC', 'A', 'B', 'a@b.example', now()
         from generate_series(1, ${TOTAL_COUNT_CAP + 5}) g`,
    );
    await rebuild();
    const country = await gw.gql(LIST, { filter: { country: 'FR' }, first: 1 }, tokens.admin);
    expect(country.data.customers.totalCount).toBe(TOTAL_COUNT_CAP + 1);
    // A maintained count stays exact.
    const all = await gw.gql(LIST, { first: 1 }, tokens.admin);
    const [{ n }] = await queryRows<{ n: string }>(em, 'select count(*) as n from customers');
    expect(all.data.customers.totalCount).toBe(Number(n));
    const search = await gw.gql(LIST, { filter: { search: 'Bulk 1000' }, first: 1 }, tokens.admin);
    // Bulk 1000 and Bulk 10000 to 10005: exact below the cap.
    expect(search.data.customers.totalCount).toBe(7);
    // A search counts up to SEARCH_COUNT_CAP: 'Bulk 1' starts 1 + 10 + 100 + 1,000 + 1,006 names.
    const many = await gw.gql(LIST, { filter: { search: 'Bulk 1' }, first: 1 }, tokens.admin);
    expect(many.data.customers.totalCount).toBe(SEARCH_COUNT_CAP + 1);
    const few = await gw.gql(LIST, { filter: { search: 'Bulk 99' }, first: 1 }, tokens.admin);
    // Bulk 99, 990-999, 9900-9999.
    expect(few.data.customers.totalCount).toBe(111);
    // The live fallback counts a search as the directory does.
    const { derived, live } = await bothWays(() => gw.gql(LIST, { filter: { search: 'Bulk 1' }, first: 3 }, tokens.admin));
    expect(live.data.customers.totalCount).toBe(SEARCH_COUNT_CAP + 1);
    expect(live).toEqual(derived);
  });
});
