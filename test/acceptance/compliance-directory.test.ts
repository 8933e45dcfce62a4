import fc from 'fast-check';
import type { EntityManager } from '@mikro-orm/postgresql';
import { aCustomer, anAcceptance, anAgreement, aPartner, aSubscription, aUser } from '../factories';
import { recordConfirmations } from '../../src/acceptance/acceptance.service';
import { Channel } from '../../src/acceptance/acceptance.enums';
import { startGateway, type TestGateway } from '../support/gateway';
import { complianceStatusSql, type ComplianceScope } from '../../src/acceptance/compliance';
import { complianceDirectory, rebuildComplianceDirectory } from '../../src/acceptance/compliance.directory';
import { visibleCustomerCondition } from '../../src/auth/tenancy';
import type { Viewer } from '../../src/auth/viewer';
import { PartnerType, Role } from '../../src/auth/roles';
import { isDerivedValid } from '../../src/kernel/derived';
import { queryRows } from '../../src/db/query';
import type { Partner } from '../../src/partners/partner.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import type { Customer } from '../../src/customers/customer.entity';
import { AgreementType } from '../../src/agreements/agreement.enums';

let gw: TestGateway;
let em: EntityManager;
let billing: Partner[];
let resellers: Partner[];
let templates: AgreementTemplate[];
const sql = <R = unknown>(text: string, values: unknown[] = []) => queryRows<R>(em, text, values);

const viewerOf = (p: Partner): Viewer => ({ userId: 'u', displayName: 'u', roles: [Role.ADMIN], partnerId: p.id, partnerType: p.type });

/** Every (customer, scope, status) the directory must hold, computed by today's live SQL (the rule and the tenancy). */
async function liveDirectory(): Promise<string[]> {
  const rows: string[] = [];
  const add = async (key: string, scope: ComplianceScope, visible: { sql: string; params: unknown[] }) => {
    const status = complianceStatusSql(scope, 'c.id');
    const found = await sql<{ id: string; status: string }>(`select c.id, ${status.sql} as status from customers c where ${visible.sql}`, [...status.params, ...visible.params]);
    for (const r of found) rows.push(`${r.id} ${key} ${r.status}`);
  };
  await add('all', { kind: 'all' }, { sql: 'true', params: [] });
  for (const p of [...billing, ...resellers]) {
    await add(`p:${p.id}`, { kind: 'partner', partnerId: p.id }, visibleCustomerCondition(viewerOf(p), 'c.id'));
    if (p.type === PartnerType.INDIRECT_RESELLER) {
      await add(`r:${p.id}`, { kind: 'resellerOf', resellerId: p.id }, visibleCustomerCondition(viewerOf(p), 'c.id'));
    }
  }
  return rows.sort();
}

async function directory(): Promise<string[]> {
  const rows = await sql<{ customer_id: string; scope: string; status: string }>('select customer_id, scope, status from customer_compliance');
  return rows.map((r) => `${r.customer_id} ${r.scope} ${r.status}`).sort();
}

/** The striped counts summed, against the directory's own grouping. */
async function countsAgree(): Promise<void> {
  const counts = await sql<{ k: string }>(
    `select scope || ' ' || status || ' ' || sum(n) as k from customer_compliance_counts group by scope, status having sum(n) <> 0 order by 1`,
  );
  const grouped = await sql<{ k: string }>(`select scope || ' ' || status || ' ' || count(*) as k from customer_compliance group by scope, status order by 1`);
  expect(counts.map((r) => r.k)).toEqual(grouped.map((r) => r.k));
}

beforeAll(async () => {
  gw = await startGateway();
  em = gw.orm.em.fork() as EntityManager;
  templates = [
    await anAgreement(gw, { versionRank: 1, effectiveFrom: '2018-11-07' }),
    await anAgreement(gw, { versionRank: 2, effectiveFrom: '2024-01-01' }),
    await anAgreement(gw, { versionRank: 3, effectiveFrom: '2024-06-01', country: 'DE' }),
    await anAgreement(gw, { type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, versionRank: 1, effectiveFrom: '2019-10-01' }),
  ];
  billing = [await aPartner(gw, { type: PartnerType.DIRECT_BILL }), await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER })];
  resellers = [await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER }), await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER })];
  await rebuildComplianceDirectory(em);
});
afterAll(() => gw?.stop());

type Op =
  | { kind: 'relationship'; customer: number; partner: number }
  | { kind: 'reseller'; customer: number; reseller: number }
  | { kind: 'confirm'; customer: number; partner: number; template: number; old: boolean }
  | { kind: 'withdraw'; customer: number; partner: number }
  | { kind: 'cloud'; customer: number; cloud: 'PUBLIC' | 'CHINA' }
  | { kind: 'country'; customer: number; country: 'US' | 'DE' }
  | { kind: 'direct'; customer: number; type: AgreementType | null; daysFromToday: number }
  | { kind: 'dropRelationship'; customer: number; partner: number }
  // A reseller as a customer's billing partner: the service never records it, the directory still has its scopes.
  | { kind: 'resellerBills'; customer: number; reseller: number };

const i = (n: number) => fc.integer({ min: 0, max: n - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('relationship' as const), customer: i(4), partner: i(2) }),
  fc.record({ kind: fc.constant('reseller' as const), customer: i(4), reseller: i(2) }),
  fc.record({ kind: fc.constant('confirm' as const), customer: i(4), partner: i(2), template: i(4), old: fc.boolean() }),
  fc.record({ kind: fc.constant('withdraw' as const), customer: i(4), partner: i(2) }),
  fc.record({ kind: fc.constant('cloud' as const), customer: i(4), cloud: fc.constantFrom('PUBLIC' as const, 'CHINA' as const) }),
  fc.record({ kind: fc.constant('country' as const), customer: i(4), country: fc.constantFrom('US' as const, 'DE' as const) }),
  fc.record({
    kind: fc.constant('direct' as const),
    customer: i(4),
    type: fc.constantFrom(AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, AgreementType.MICROSOFT_CLOUD_AGREEMENT, null),
    daysFromToday: fc.integer({ min: -3, max: 3 }),
  }),
  fc.record({ kind: fc.constant('dropRelationship' as const), customer: i(4), partner: i(2) }),
  fc.record({ kind: fc.constant('resellerBills' as const), customer: i(4), reseller: i(2) }),
);

async function apply(o: Op, customers: Customer[]): Promise<void> {
  const c = customers[o.customer]!;
  switch (o.kind) {
    case 'relationship':
      await sql(`insert into customer_relationships (id, customer_id, partner_id, created_at) values (gen_random_uuid(), ?, ?, now()) on conflict do nothing`, [c.id, billing[o.partner]!.id]);
      return;
    case 'reseller':
      // On the provider's relationship, made when missing.
      await sql(`insert into customer_relationships (id, customer_id, partner_id, created_at) values (gen_random_uuid(), ?, ?, now()) on conflict do nothing`, [c.id, billing[1]!.id]);
      await sql(
        `insert into customer_relationship_resellers (relationship_id, reseller_id)
         select id, ? from customer_relationships where customer_id = ? and partner_id = ? on conflict do nothing`,
        [resellers[o.reseller]!.id, c.id, billing[1]!.id],
      );
      return;
    case 'confirm': {
      // Supersede, then record, in two statements (the acceptance service does both in one: the
      // triggers must be right either way).
      const template = templates[o.template]!;
      await em.transactional(async (tx) => {
        await queryRows(tx, `update acceptances set status = 'SUPERSEDED', superseded_at = now() where customer_id = ? and partner_id = ? and status = 'ACTIVE'`, [c.id, billing[o.partner]!.id]);
      });
      await anAcceptance(gw, { customer: c, partner: billing[o.partner]!, template, dateAgreed: o.old ? '2017-01-01' : template.effectiveFrom, confirmedBy: user });
      return;
    }
    case 'withdraw':
      await sql(`update acceptances set status = 'WITHDRAWN', withdrawn_at = now() where customer_id = ? and partner_id = ? and status = 'ACTIVE'`, [c.id, billing[o.partner]!.id]);
      return;
    case 'cloud':
      await sql(`update customers set cloud = ? where id = ?`, [o.cloud, c.id]);
      return;
    case 'country':
      await sql(`update customers set country = ? where id = ?`, [o.country, c.id]);
      return;
    case 'direct':
      await sql(
        `update customers set direct_acceptance_type = ?, direct_accepted_on = case when ?::text is null then null else (now() at time zone 'utc')::date + ?::int end where id = ?`,
        [o.type, o.type, o.daysFromToday, c.id],
      );
      return;
    case 'resellerBills':
      await sql(`insert into customer_relationships (id, customer_id, partner_id, created_at) values (gen_random_uuid(), ?, ?, now()) on conflict do nothing`, [c.id, resellers[o.reseller]!.id]);
      return;
    case 'dropRelationship':
      await sql(`delete from customer_relationships where customer_id = ? and partner_id = ?`, [c.id, billing[o.partner]!.id]);
      return;
  }
}

let user: Awaited<ReturnType<typeof aUser>>;

describe('the compliance directory', () => {
  it('equals the live computation (complianceStatusSql and the tenancy) after every kind of write', async () => {
    user = await aUser(gw);
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), async (ops) => {
        await sql('delete from acceptances');
        await sql('delete from customers');
        const customers = [
          await aCustomer(gw, { partners: [{ partner: billing[0]! }] }),
          await aCustomer(gw, { partners: [{ partner: billing[1]!, resellers: [resellers[0]!] }] }),
          await aCustomer(gw, { country: 'DE', partners: [{ partner: billing[0]! }, { partner: billing[1]!, resellers: [resellers[1]!] }] }),
          await aCustomer(gw, {}),
        ];
        for (const o of ops) {
          await apply(o, customers);
          const rows = await directory();
          expect(rows.length).toBeGreaterThan(customers.length);
          expect(rows).toEqual(await liveDirectory());
          await countsAgree();
        }
        // Still valid: no template or rule changed (a future direct acceptance only shortens it).
        expect(await isDerivedValid(em, complianceDirectory)).toBe(true);
        // The rebuild's statement (all customers at once) agrees with the live computation too.
        await rebuildComplianceDirectory(em);
        expect(await directory()).toEqual(await liveDirectory());
        await countsAgree();
      }),
      { numRuns: 15 },
    );
  });

  it('a statement writing many customers refreshes them once, together, and leaves the directory equal to the live computation', async () => {
    const user = await aUser(gw);
    const customers = await Promise.all([0, 1, 2, 3, 4, 5].map((n) => aCustomer(gw, { country: n % 2 ? 'DE' : 'US', partners: n < 4 ? [{ partner: billing[n % 2]! }] : [] })));
    const ids = customers.map((c) => c.id);
    const refreshes = await em.transactional(async (tx) => {
      const q = <R = unknown>(text: string, values: unknown[] = []) => queryRows<R>(tx as EntityManager, text, values);
      // Calls of the refresh counted in this transaction.
      await q(`set local track_functions = 'all'`);
      const calls = async () =>
        Number((await q<{ n: string }>(`select coalesce(pg_stat_get_xact_function_calls('customer_compliance_refresh(uuid[])'::regprocedure), 0) as n`))[0]!.n);
      const counted: number[] = [];
      const step = async (text: string, values: unknown[] = []) => {
        const before = await calls();
        await q(text, values);
        counted.push((await calls()) - before);
      };
      // Relationships for the two customers that had none, and a reseller on every provider relationship.
      await step(`insert into customer_relationships (id, customer_id, partner_id, created_at) select gen_random_uuid(), c, ?, now() from unnest(?::uuid[]) c`, [billing[1]!.id, ids.slice(4)]);
      await step(
        `insert into customer_relationship_resellers (relationship_id, reseller_id) select r.id, ? from customer_relationships r where r.partner_id = ? and r.customer_id = any(?::uuid[])`,
        [resellers[0]!.id, billing[1]!.id, ids],
      );
      // One acceptance each, in one statement; then half of them withdrawn and a cloud moved, one statement each.
      await step(
        `insert into acceptances (id, customer_id, partner_id, template_id, date_agreed, contact_first_name, contact_last_name, contact_email, confirmed_by_id, recorded_at, status, channel, source)
         select gen_random_uuid(), r.customer_id, r.partner_id, ?, '2024-06-01', 'Ada', 'Lovelace', 'ada@example.com', ?, now(), 'ACTIVE', 'API', 'PARTNER_RECORDED'
           from customer_relationships r where r.customer_id = any(?::uuid[])`,
        [templates[1]!.templateId, user.id, ids],
      );
      await step(`update acceptances set status = 'WITHDRAWN', withdrawn_at = now() where customer_id = any(?::uuid[])`, [ids.slice(0, 3)]);
      // Rows the update touches without changing what the rule reads are not refreshed (an empty set: the call returns at once).
      await step(`update customers set cloud = case when id = ? then 'CHINA' else cloud end where id = any(?::uuid[])`, [ids[5], ids]);
      // (A delete's cascade to the resellers is statements of its own: not counted.)
      await q(`delete from customer_relationships where customer_id = any(?::uuid[]) and partner_id = ?`, [ids.slice(0, 2), billing[0]!.id]);
      return counted;
    });
    // Each statement called the refresh once (its own trigger), whatever the number of customers it wrote.
    expect(refreshes).toEqual([1, 1, 1, 1, 1]);
    expect(await directory()).toEqual(await liveDirectory());
    await countsAgree();
  });

  it('a confirmation that leaves the customer as it was writes neither the directory, its counts nor the renewal facts', async () => {
    const [partner] = billing;
    const c = await aCustomer(gw, { partners: [{ partner: partner! }] });
    await aSubscription(gw, { customer: c, partner: partner! });
    const user = await aUser(gw, { partner: partner! });
    const row = {
      customerId: c.id,
      templateId: templates[1]!.templateId,
      dateAgreed: templates[1]!.effectiveFrom,
      contact: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phoneNumber: null },
      onBehalfOf: null,
      channel: Channel.API,
    };
    await em.transactional((tx) => recordConfirmations(tx as EntityManager, partner!.id, user.id, [row]));
    const statusOf = async () => (await sql<{ status: string }>(`select status from customer_compliance where customer_id = ? and scope = 'all'`, [c.id]))[0]!.status;
    // The row versions (xmin, ctid) of the customer's directory rows, their counts and its renewal facts: a write makes new ones.
    const versions = () =>
      sql<{ v: string }>(
        `select 'directory ' || d.scope || ' ' || d.xmin || d.ctid as v from customer_compliance d where d.customer_id = ?
         union all select 'counts ' || n.scope || ' ' || n.status || ' ' || n.stripe || ' ' || n.xmin || n.ctid from customer_compliance_counts n
          where (n.scope, n.status) in (select d.scope, d.status from customer_compliance d where d.customer_id = ?)
         union all select 'facts ' || f.xmin || f.ctid from renewal_facts f where f.customer_id = ?
         union all select 'fact counts ' || k.scope || ' ' || k.xmin || k.ctid from renewal_fact_counts k
          where k.fact_key in (select f.fact_key from renewal_facts f where f.customer_id = ?)
         order by 1`,
        [c.id, c.id, c.id, c.id],
      ).then((rows) => rows.map((r) => r.v));
    const before = await statusOf();
    // Not MISSING: without its active acceptance (superseded, the new one not yet inserted) the customer would be.
    expect(before).not.toBe('MISSING');
    const written = await versions();
    expect(written.filter((v) => v.startsWith('facts ')).length).toBe(1);
    const { outcomes } = await em.transactional((tx) => recordConfirmations(tx as EntityManager, partner!.id, user.id, [row]));
    expect(outcomes[0]).toMatchObject({ supersededId: expect.any(String) });
    expect(await versions()).toEqual(written);
    expect(await statusOf()).toBe(before);
    expect(await directory()).toEqual(await liveDirectory());
    await countsAgree();
  });

  it("a reseller's status is the least of the partners whose relationship names it, not of all the customer's partners", async () => {
    // The directory judges each partner once and composes the scopes from those codes: the
    // partner naming the reseller is CONFIRMED, the other MISSING.
    const c = await aCustomer(gw, { partners: [{ partner: billing[0]! }, { partner: billing[1]!, resellers: [resellers[0]!] }] });
    await anAcceptance(gw, { customer: c, partner: billing[1]!, template: templates[3]!, dateAgreed: '2024-06-01' });
    const statuses = Object.fromEntries(
      (await sql<{ scope: string; status: string }>('select scope, status from customer_compliance where customer_id = ?', [c.id])).map((r) => [r.scope, r.status]),
    );
    expect(statuses).toEqual({
      all: 'MISSING',
      [`p:${billing[0]!.id}`]: 'MISSING',
      [`p:${billing[1]!.id}`]: 'CONFIRMED',
      [`p:${resellers[0]!.id}`]: 'MISSING',
      [`r:${resellers[0]!.id}`]: 'CONFIRMED',
    });
    expect(await directory()).toEqual(await liveDirectory());
    await rebuildComplianceDirectory(em);
    expect(await directory()).toEqual(await liveDirectory());
  });

  it('a template published invalidates the directory until it is rebuilt, then it equals the live computation', async () => {
    expect(await isDerivedValid(em, complianceDirectory)).toBe(true);
    templates.push(await anAgreement(gw, { versionRank: 5, effectiveFrom: '2025-01-01' }));
    expect(await isDerivedValid(em, complianceDirectory)).toBe(false);
    await rebuildComplianceDirectory(em);
    expect(await isDerivedValid(em, complianceDirectory)).toBe(true);
    expect(await directory()).toEqual(await liveDirectory());
    await countsAgree();
  });

  it('a rebuild writes only the difference, yet repairs missing, wrong and extra rows and folds the count stripes', async () => {
    const c = await aCustomer(gw, { partners: [{ partner: billing[0]! }] });
    const before = await directory();
    // Tampered as no trigger would: rows gone, a status and a name wrong, a row of no scope, counts on another stripe.
    await sql(`delete from customer_compliance where customer_id = ? and scope = 'all'`, [c.id]);
    await sql(`update customer_compliance set status = 'BOGUS', sort_name = 'bogus' where customer_id = ?`, [c.id]);
    await sql(`insert into customer_compliance (customer_id, scope, status, sort_name) values (?, 'p:ffffffff-ffff-4fff-bfff-ffffffffffff', 'MISSING', 'x')`, [c.id]);
    await sql(`insert into customer_compliance_counts (scope, status, stripe, n) values ('all', 'MISSING', 7, 5) on conflict (scope, status, stripe) do update set n = 5`);
    await rebuildComplianceDirectory(em);
    expect(await directory()).toEqual(before);
    expect(await directory()).toEqual(await liveDirectory());
    await countsAgree();
    const stripes = await sql<{ n: string }>(`select count(*) as n from customer_compliance_counts where stripe <> 0`);
    expect(Number(stripes[0]!.n)).toBe(0);
  });

  it('a statement that writes no template and no policy rule leaves the directory valid', async () => {
    await rebuildComplianceDirectory(em);
    const [t] = templates;
    await sql(`insert into agreement_templates select * from agreement_templates where template_id = ? on conflict do nothing`, [t.templateId]);
    await sql(`insert into agreement_templates select * from agreement_templates where false`);
    await sql(`update agreement_templates set version = version where false`);
    await sql(`delete from acceptance_policy_rules where false`);
    expect(await isDerivedValid(em, complianceDirectory)).toBe(true);
    await sql(`update agreement_templates set version = version where template_id = ?`, [t.templateId]);
    expect(await isDerivedValid(em, complianceDirectory)).toBe(false);
  });

  it('a policy rule published invalidates the directory', async () => {
    await sql(`insert into acceptance_policy_rules (id, effective_from, channel, accepted_types, description, created_at)
               values (gen_random_uuid(), '2025-02-01', null, '{MICROSOFT_CUSTOMER_AGREEMENT}', 'test', now())`);
    expect(await isDerivedValid(em, complianceDirectory)).toBe(false);
    await rebuildComplianceDirectory(em);
    expect(await directory()).toEqual(await liveDirectory());
  });

  it('a future effective date bounds the validity: the directory is valid until that day', async () => {
    // The property test above may leave a direct acceptance dated in the future, which would bound it sooner.
    await sql(`update customers set direct_accepted_on = (now() at time zone 'utc')::date where direct_accepted_on > (now() at time zone 'utc')::date`);
    await anAgreement(gw, { versionRank: 6, effectiveFrom: '2999-01-01' });
    await rebuildComplianceDirectory(em);
    const [epoch] = await sql<{ valid_until: string }>(`select valid_until::text from derived_epochs where name = 'customer_compliance'`);
    expect(epoch!.valid_until).toBe('2999-01-01');
  });

  it('a direct acceptance dated in the future shortens the validity to its day', async () => {
    const c = await aCustomer(gw, { partners: [{ partner: billing[0]! }] });
    await sql(`update customers set direct_acceptance_type = 'MICROSOFT_CUSTOMER_AGREEMENT', direct_accepted_on = (now() at time zone 'utc')::date + 2 where id = ?`, [c.id]);
    const [epoch] = await sql<{ ok: boolean }>(`select valid_until = (now() at time zone 'utc')::date + 2 as ok from derived_epochs where name = 'customer_compliance'`);
    expect(epoch!.ok).toBe(true);
  });
});
