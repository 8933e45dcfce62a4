import fc from 'fast-check';
import type { EntityManager } from '@mikro-orm/postgresql';
import { aCustomer, aLink, anAgreement, aPartner, aUser } from '../factories';
import { startGateway, type TestGateway } from '../support/gateway';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { queryRows } from '../../src/db/query';
import { isDerivedValid, rebuildDerived } from '../../src/kernel/derived';
import { rebuildRenewalFacts, refillRowsSql, renewalFactsTable, SET_COLUMNS, SPAN_DAYS } from '../../src/renewals/renewal.derived.queries';
import { loadRenewalCandidates } from '../../src/renewals/renewal.facts';
import { MAX_WINDOW_DAYS, RenewalRiskService } from '../../src/renewals/renewal.service';
import { currentAgreementsOf, gateFactsOf, type GateFactColumns } from '../../src/transactions/gate.facts';
import { decide } from '../../src/transactions/gate';
import { policyRules } from '../../src/policy/policy.queries';
import { todayUtc } from '../../src/agreements/current';
import { Channel } from '../../src/acceptance/acceptance.enums';
import { TransactionKind } from '../../src/transactions/transaction.enums';
import type { Viewer } from '../../src/auth/viewer';
import { dayFromToday } from './ops';

/**
 * Issue 23: renewal risks of every partner and of one partner are read from renewal facts
 * derived per subscription, kept right by triggers in the writer's transaction. These tests
 * hold the derived tables to the rules: after any write they equal a rebuild from the base
 * tables, the gate judges them as it judges the live facts, and renewalRisks answers exactly
 * as the live SQL does.
 */

let gw: TestGateway;
let em: EntityManager;
let d1: Partner;
let d2: Partner;
let provider: Partner;
let r1: Partner;
let r2: Partner;
let customers: Customer[];
let templates: AgreementTemplate[];
let userId: string;
const COUNTRIES = ['DE', 'US', 'DE', 'FR', 'US', 'DE'];

const sql = <T extends object = Record<string, unknown>>(text: string, params: unknown[] = []) => queryRows<T>(gw.orm.em.fork() as EntityManager, text, params);

beforeAll(async () => {
  gw = await startGateway();
  em = gw.orm.em.fork() as EntityManager;
  d1 = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  d2 = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  r1 = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  r2 = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, r1, provider);
  templates = [
    await anAgreement(gw, { country: 'GLOBAL', versionRank: 1, version: 'g1', effectiveFrom: '2018-01-01' }),
    await anAgreement(gw, { country: 'DE', versionRank: 1, version: 'de1', effectiveFrom: '2018-01-01', language: 'de-DE' }),
    await anAgreement(gw, { country: 'GLOBAL', type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, versionRank: 1, version: 'mca1', effectiveFrom: '2019-10-01' }),
  ];
  customers = [];
  for (const country of COUNTRIES) {
    customers.push(await aCustomer(gw, { country, partners: [{ partner: d1 }, { partner: d2 }, { partner: provider, resellers: [r1] }] }));
  }
  userId = (await aUser(gw, { roles: [Role.ADMIN], partner: d1 })).id;
  await rebuildRenewalFacts(em);
});
afterAll(() => gw?.stop());

// --- The writes a renewal's facts depend on, as the gateway's features make them ---

type Write =
  | { kind: 'subscribe'; customer: number; billing: number; reseller: number; day: number; status: 'ACTIVE' | 'ENDING' }
  | { kind: 'changeSubscription'; pick: number; change: 'cancel' | 'activate' | 'move' | 'reseller' | 'delete'; day: number }
  | { kind: 'confirm'; customer: number; partner: number; template: number; dateAgreed: string }
  | { kind: 'withdraw'; customer: number; partner: number }
  | { kind: 'customer'; customer: number; country: string; cloud: string; direct: string | null }
  | { kind: 'relationship'; customer: number; partner: number; present: boolean }
  | { kind: 'resellerServes'; customer: number; reseller: number; present: boolean }
  | { kind: 'link'; present: boolean };

const DATES = ['2020-01-01', '2023-03-31', '2023-04-01', '2024-06-01'];
const i6 = fc.integer({ min: 0, max: 5 });
const i2 = fc.integer({ min: 0, max: 2 });
const writeArb: fc.Arbitrary<Write> = fc.oneof(
  fc.record({ kind: fc.constant('subscribe' as const), customer: i6, billing: i2, reseller: i2, day: fc.integer({ min: -2, max: 70 }), status: fc.constantFrom('ACTIVE' as const, 'ENDING' as const) }),
  fc.record({ kind: fc.constant('changeSubscription' as const), pick: fc.nat(), change: fc.constantFrom('cancel' as const, 'activate' as const, 'move' as const, 'reseller' as const, 'delete' as const), day: fc.integer({ min: -2, max: 70 }) }),
  fc.record({ kind: fc.constant('confirm' as const), customer: i6, partner: i2, template: i2, dateAgreed: fc.constantFrom(...DATES) }),
  fc.record({ kind: fc.constant('withdraw' as const), customer: i6, partner: i2 }),
  fc.record({
    kind: fc.constant('customer' as const),
    customer: i6,
    country: fc.constantFrom('DE', 'US', 'FR'),
    cloud: fc.constantFrom('PUBLIC', 'PUBLIC', 'GERMANY'),
    direct: fc.constantFrom(null, ...DATES, dayFromToday(3)),
  }),
  fc.record({ kind: fc.constant('relationship' as const), customer: i6, partner: i2, present: fc.boolean() }),
  fc.record({ kind: fc.constant('resellerServes' as const), customer: i6, reseller: fc.integer({ min: 0, max: 1 }), present: fc.boolean() }),
  fc.record({ kind: fc.constant('link' as const), present: fc.boolean() }),
);

async function apply(w: Write): Promise<void> {
  const billing = [d1, d2, provider];
  switch (w.kind) {
    case 'subscribe': {
      const partner = billing[w.billing];
      const reseller = partner === provider ? [null, r1, r2][w.reseller] : null;
      await sql(
        `insert into subscriptions (id, customer_id, partner_id, reseller_id, offer_id, seats, status, renews_on, created_at, term_started_at, seat_lots)
         values (gen_random_uuid(), ?, ?, ?, 'offer', 1, ?, ?::date, now(), now(), '[]')`,
        [customers[w.customer].id, partner.id, reseller?.id ?? null, w.status, dayFromToday(w.day)],
      );
      return;
    }
    case 'changeSubscription': {
      const subs = await sql<{ id: string }>('select id from subscriptions order by id');
      if (subs.length === 0) return;
      const id = subs[w.pick % subs.length].id;
      const change = {
        cancel: [`update subscriptions set status = 'CANCELLED' where id = ?`, [id]],
        activate: [`update subscriptions set status = 'ACTIVE' where id = ?`, [id]],
        move: [`update subscriptions set renews_on = ?::date where id = ?`, [dayFromToday(w.day), id]],
        reseller: [`update subscriptions set reseller_id = case when reseller_id = ?::uuid then ?::uuid else ?::uuid end where id = ? and partner_id = ?`, [r1.id, r2.id, r1.id, id, provider.id]],
        delete: [`delete from subscriptions where id = ?`, [id]],
      }[w.change] as [string, unknown[]];
      await sql(...change);
      return;
    }
    case 'confirm': {
      const [customer, partner] = [customers[w.customer].id, billing[w.partner].id];
      await sql(`update acceptances set status = 'SUPERSEDED', superseded_at = now() where customer_id = ? and partner_id = ? and status = 'ACTIVE'`, [customer, partner]);
      await sql(
        `insert into acceptances (id, customer_id, partner_id, template_id, date_agreed, contact_first_name, contact_last_name, contact_email, confirmed_by_id, recorded_at, status, channel, source)
         values (gen_random_uuid(), ?, ?, ?, ?::date, 'Ada', 'Lovelace', 'ada@example.com', ?, now(), 'ACTIVE', 'API', 'PARTNER_RECORDED')`,
        [customer, partner, templates[w.template].templateId, w.dateAgreed, userId],
      );
      return;
    }
    case 'withdraw':
      await sql(`update acceptances set status = 'WITHDRAWN', withdrawn_at = now() where customer_id = ? and partner_id = ? and status = 'ACTIVE'`, [customers[w.customer].id, billing[w.partner].id]);
      return;
    case 'customer':
      await sql(`update customers set country = ?, cloud = ?, direct_acceptance_type = ?, direct_accepted_on = ?::date where id = ?`, [
        w.country,
        w.cloud,
        w.direct ? AgreementType.MICROSOFT_CUSTOMER_AGREEMENT : null,
        w.direct,
        customers[w.customer].id,
      ]);
      return;
    case 'relationship': {
      const [customer, partner] = [customers[w.customer].id, billing[w.partner].id];
      if (w.present) await sql(`insert into customer_relationships (id, customer_id, partner_id, created_at) values (gen_random_uuid(), ?, ?, now()) on conflict do nothing`, [customer, partner]);
      else await sql(`delete from customer_relationships where customer_id = ? and partner_id = ?`, [customer, partner]);
      return;
    }
    case 'resellerServes': {
      const [customer, reseller] = [customers[w.customer].id, [r1, r2][w.reseller].id];
      if (w.present) {
        await sql(
          `insert into customer_relationship_resellers (relationship_id, reseller_id)
           select r.id, ? from customer_relationships r where r.customer_id = ? and r.partner_id = ? on conflict do nothing`,
          [reseller, customer, provider.id],
        );
      } else {
        await sql(`delete from customer_relationship_resellers rr using customer_relationships r where rr.relationship_id = r.id and r.customer_id = ? and rr.reseller_id = ?`, [customer, reseller]);
      }
      return;
    }
    case 'link':
      if (w.present) await sql(`insert into reseller_links (id, reseller_id, provider_id, created_at) select gen_random_uuid(), ?, ?, now() where not exists (select 1 from reseller_links where reseller_id = ? and provider_id = ?)`, [r2.id, provider.id, r2.id, provider.id]);
      else await sql(`delete from reseller_links where reseller_id = ? and provider_id = ?`, [r2.id, provider.id]);
      return;
  }
}

/** The counts per scope, day, set and stripe, from the spans' cumulative arrays. */
const COUNTS_BY_DAY = `select k.scope, (k.span_start + i - 1)::text as renews_on, k.fact_key, k.stripe, k.cumulative[i] - coalesce(k.cumulative[i - 1], 0) as n
  from renewal_fact_counts k cross join generate_series(1, ${SPAN_DAYS}) i`;

/** The derived tables as a comparable value: rows per subscription with their set's columns, and the counts summed over stripes. */
async function derivedState() {
  const facts = await sql(
    `select f.subscription_id, f.renews_on::text, f.customer_id, f.partner_id, f.reseller_id, f.visible_to_partner, f.visible_to_reseller, f.fact_key, ${SET_COLUMNS.map((c) => `s.${c}`).join(', ')}
       from renewal_facts f join renewal_fact_sets s on s.fact_key = f.fact_key order by f.subscription_id`,
  );
  const counts = await sql(`select scope, renews_on, fact_key, sum(n)::int as n from (${COUNTS_BY_DAY}) d group by 1, 2, 3 having sum(n) <> 0 order by 1, 2, 3`);
  return { facts, counts };
}

/** What the gate decides of each candidate's RENEWAL today, by id: from the live SQL, and from the derived facts. */
async function judgedLive(): Promise<Map<string, unknown>> {
  const now = new Date();
  const candidates = await loadRenewalCandidates(em, { sql: 'true', params: [], wide: true }, MAX_WINDOW_DAYS, now);
  return new Map(candidates.map((c) => [c.subscriptionId, { ...decide(c.facts), at: c.renewsOn }]));
}

async function judgedDerived(): Promise<Map<string, unknown>> {
  const now = new Date();
  const rows = await sql<GateFactColumns & { subscription_id: string; renews_on: string }>(
    `select f.subscription_id, to_char(f.renews_on, 'YYYY-MM-DD') as renews_on, ${SET_COLUMNS.map((c) => `s.${c}`).join(', ')}, null::boolean as existing
       from renewal_facts f join renewal_fact_sets s on s.fact_key = f.fact_key where f.renews_on >= ?::date`,
    [todayUtc(now)],
  );
  const current = await currentAgreementsOf(em, [...new Set(rows.map((r) => r.country))], todayUtc(now));
  const rules = await policyRules(em);
  const order = { kind: TransactionKind.RENEWAL, channel: Channel.API, requestedAt: now };
  return new Map(rows.map((r) => [r.subscription_id, { ...decide(gateFactsOf(r, order, current.get(r.country) ?? [], rules)), at: r.renews_on }]));
}

describe('derived renewal facts', () => {
  it('equal a rebuild from the base tables after each kind of write, and the gate judges them as the live facts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(writeArb, { minLength: 1, maxLength: 12 }), async (writes) => {
        for (const w of writes) {
          await apply(w);
          const kept = await derivedState();
          await rebuildDerived(em, renewalFactsTable, { force: true });
          expect(kept).toEqual(await derivedState());
        }
        expect(await judgedDerived()).toEqual(await judgedLive());
      }),
      { numRuns: 25 },
    );
    expect(await isDerivedValid(em, renewalFactsTable)).toBe(true);
  });

  it('a rebuild, which writes only the difference, repairs missing, wrong and extra rows and folds the count stripes', async () => {
    await apply({ kind: 'subscribe', customer: 0, billing: 0, reseller: 0, day: 10, status: 'ACTIVE' });
    await apply({ kind: 'subscribe', customer: 1, billing: 2, reseller: 1, day: 20, status: 'ACTIVE' });
    const kept = await derivedState();
    const [victim, other] = await sql<{ subscription_id: string }>(`select subscription_id from renewal_facts order by subscription_id limit 2`);
    // Tampered as no trigger would: a row gone, a row wrong, a row of no subscription, counts wrong and on another stripe.
    await sql(`delete from renewal_facts where subscription_id = ?`, [victim!.subscription_id]);
    await sql(`update renewal_facts set renews_on = renews_on + 1, visible_to_partner = not visible_to_partner where subscription_id = ?`, [other!.subscription_id]);
    await sql(`insert into renewal_facts select gen_random_uuid(), renews_on, customer_id, partner_id, reseller_id, visible_to_partner, visible_to_reseller, fact_key from renewal_facts limit 1`);
    await sql(`insert into renewal_fact_counts (scope, span_start, fact_key, stripe, cumulative) select scope, span_start, fact_key, 9, (select renewal_counts_of(3, 1)) from renewal_fact_counts where stripe = 0 limit 2`);
    await sql(`delete from renewal_fact_counts where ctid in (select ctid from renewal_fact_counts where stripe = 0 order by scope desc limit 2)`);
    expect(await derivedState()).not.toEqual(kept);
    await rebuildDerived(em, renewalFactsTable, { force: true });
    expect(await derivedState()).toEqual(kept);
    expect(await sql(`select 1 from renewal_fact_counts where stripe <> 0`)).toEqual([]);
  });

  it('a rebuild asks each fact of a subscription once: its rows and fact key read the policy thresholds once per date', async () => {
    // Each coarsened date (a direct acceptance's, the active confirmation's) asks the policy
    // rules; the fact key is made of the same columns. Evaluated twice per row (once for the
    // column, once for the key), a million subscriptions paid it twice (51 s against 30 s at 1M).
    const [{ 'QUERY PLAN': plan }] = await sql<{ 'QUERY PLAN': unknown }>(`explain (format json) ${refillRowsSql()}`);
    const scans: string[] = [];
    const walk = (node: { 'Relation Name'?: string; Plans?: unknown[] }) => {
      if (node['Relation Name']) scans.push(node['Relation Name']);
      for (const child of node.Plans ?? []) walk(child as typeof node);
    };
    walk((plan as { Plan: Parameters<typeof walk>[0] }[])[0].Plan);
    expect(scans.filter((r) => r === 'acceptance_policy_rules')).toHaveLength(2);
  });
});

// --- renewalRisks: the derived path answers as the live path ---

/** Every page of renewalRisks (pages of 3) for `viewer`, as the service answers them. */
async function allPages(viewer: Viewer, partnerId?: string) {
  const pages = [];
  let after: string | null = null;
  for (;;) {
    const { known: _known, ...page } = await new RenewalRiskService(gw.orm.em.fork() as EntityManager, viewer).list({ partnerId, first: 3, after, withinDays: 60 });
    pages.push(page);
    if (!page.pageInfo.hasNextPage) return pages;
    after = page.pageInfo.endCursor;
  }
}

/** The same pages with the derived tables invalid (the live SQL), then made valid again. */
async function livePages(viewer: Viewer, partnerId?: string) {
  await sql(`update derived_epochs set valid_until = '-infinity' where name = 'renewal_facts'`);
  try {
    return await allPages(viewer, partnerId);
  } finally {
    await rebuildDerived(em, renewalFactsTable);
  }
}

const analyst: Viewer = { userId: 'analyst', displayName: 'Analyst', roles: [Role.ANALYST] };

describe('renewalRisks from the derived renewal facts', () => {
  beforeAll(async () => {
    // A window with risks of every kind: each customer subscribed through every way, some confirmed;
    // every customer served by every partner and by r1 (the random writes above may have removed some).
    for (const [i, country] of COUNTRIES.entries()) await apply({ kind: 'customer', customer: i, country, cloud: 'PUBLIC', direct: null });
    await sql(`delete from acceptances`);
    await apply({ kind: 'confirm', customer: 0, partner: 0, template: 0, dateAgreed: '2020-01-01' });
    await apply({ kind: 'confirm', customer: 1, partner: 2, template: 2, dateAgreed: '2024-06-01' });
    await apply({ kind: 'confirm', customer: 1, partner: 0, template: 0, dateAgreed: '2020-01-01' });
    await apply({ kind: 'customer', customer: 2, country: 'DE', cloud: 'PUBLIC', direct: '2023-04-01' });
    for (const [i, customer] of customers.entries()) {
      for (const w of [0, 1, 2].map((partner) => ({ kind: 'relationship' as const, customer: i, partner, present: true }))) await apply(w);
      await apply({ kind: 'resellerServes', customer: i, reseller: 0, present: true });
      for (const [j, partner] of [d1, d2, provider, provider, provider].entries()) {
        const reseller = j === 3 ? r1 : j === 4 ? r2 : null;
        for (const day of [i, 10 + j, 30 + i + j, 90]) {
          await sql(
            `insert into subscriptions (id, customer_id, partner_id, reseller_id, offer_id, seats, status, renews_on, created_at, term_started_at, seat_lots)
             values (gen_random_uuid(), ?, ?, ?, 'offer', 1, 'ACTIVE', ?::date, now(), now(), '[]')`,
            [customer.id, partner.id, reseller?.id ?? null, dayFromToday(day)],
          );
        }
      }
    }
    expect(await isDerivedValid(em, renewalFactsTable)).toBe(true);
  });

  const viewers: [string, () => Viewer, () => string | undefined][] = [
    ['an analyst, every partner', () => analyst, () => undefined],
    ['an analyst, one billing partner', () => analyst, () => provider.id],
    ['an analyst, one reseller', () => analyst, () => r1.id],
    ['a reseller user', () => ({ userId: 'r', displayName: 'r', roles: [Role.ADMIN], partnerId: r1.id, partnerType: PartnerType.INDIRECT_RESELLER }), () => undefined],
    ['a billing partner user', () => ({ userId: 'p', displayName: 'p', roles: [Role.ADMIN], partnerId: provider.id, partnerType: PartnerType.INDIRECT_PROVIDER }), () => undefined],
  ];
  it.each(viewers)('answers %s exactly as the live SQL does (edges, totalCount, cursors)', async (_, viewer, partnerId) => {
    const derived = await allPages(viewer(), partnerId());
    expect(derived[0].totalCount).toBeGreaterThan(3);
    expect(derived).toEqual(await livePages(viewer(), partnerId()));
  });

  it.each(viewers)('reads %s from the maintained counts while the derived tables are valid', async (_, viewer, partnerId) => {
    const count = async () => (await allPages(viewer(), partnerId()))[0].totalCount;
    const right = await count();
    // Counts made wrong on purpose show through: this read uses them.
    await sql(`update renewal_fact_counts set cumulative = (select array_agg(v * 1000 order by i) from unnest(cumulative) with ordinality u(v, i))`);
    const wrong = await count();
    await rebuildDerived(em, renewalFactsTable, { force: true });
    expect(wrong).toBeGreaterThan(right);
    expect(await count()).toBe(right);
  });

  it('counts a window of any length, starting and ending anywhere in a span of the counts, as the live SQL does', async () => {
    // One at-risk subscription renewing on every day from yesterday to 140 days out: windows cut spans at every offset.
    await sql(
      `insert into subscriptions (id, customer_id, partner_id, reseller_id, offer_id, seats, status, renews_on, created_at, term_started_at, seat_lots)
       select gen_random_uuid(), ?, ?, null, 'offer-every-day', 1, 'ACTIVE', (now() at time zone 'utc')::date + d, now(), now(), '[]' from generate_series(-1, 140) d`,
      [customers[3].id, d1.id],
    );
    const windows = [0, 1, 2, 30, 60, 63, 64, 65, 100, 127, 128, 129, 140, 141];
    const counts = async () => {
      const out: number[] = [];
      for (const withinDays of windows) out.push((await new RenewalRiskService(gw.orm.em.fork() as EntityManager, analyst).list({ first: 1, withinDays })).totalCount);
      return out;
    };
    try {
      const derived = await counts();
      // Each longer window holds more of the every-day subscriptions (the comparison is not vacuous).
      expect(derived.every((n, i) => i === 0 || n > derived[i - 1] || windows[i] > 140)).toBe(true);
      await sql(`update derived_epochs set valid_until = '-infinity' where name = 'renewal_facts'`);
      const live = await counts();
      await rebuildDerived(em, renewalFactsTable);
      expect(derived).toEqual(live);
    } finally {
      await sql(`delete from subscriptions where offer_id = 'offer-every-day'`);
    }
  });

  it('a policy rule or template published changes the answer immediately (judged at read time)', async () => {
    const first = async () => (await allPages(analyst))[0];
    const before = await first();
    // A newer German agreement: confirmations of the old one are outdated at once; the derived tables stay valid.
    await anAgreement(gw, { country: 'DE', versionRank: 2, version: 'de2', effectiveFrom: todayUtc(new Date()), language: 'de-DE' });
    const afterTemplate = await first();
    expect(await isDerivedValid(em, renewalFactsTable)).toBe(true);
    expect(afterTemplate).toEqual((await livePages(analyst))[0]);
    // A rule asking only the Customer Agreement from today: judged at read time, the derived tables stay valid.
    await sql(`insert into acceptance_policy_rules (id, effective_from, channel, accepted_types, description, created_at)
               values (gen_random_uuid(), (now() at time zone 'utc')::date, null, '{MICROSOFT_CUSTOMER_AGREEMENT}', 'tests: customer agreement only', now())`);
    const afterRule = await first();
    expect(await isDerivedValid(em, renewalFactsTable)).toBe(true);
    expect(afterRule.totalCount).not.toBe(afterTemplate.totalCount);
    expect(afterRule).toEqual((await livePages(analyst))[0]);
    // A rule with a new minimum acceptance date: the stored dates are too coarse for it, so the
    // derived tables are invalid in the writer's transaction and reads use the live SQL until rebuilt.
    await sql(`insert into acceptance_policy_rules (id, effective_from, channel, accepted_types, minimum_date_agreed, description, created_at)
               values (gen_random_uuid(), (now() at time zone 'utc')::date, null, '{MICROSOFT_CUSTOMER_AGREEMENT,MICROSOFT_CLOUD_AGREEMENT}', '2024-01-01', 'tests: reaccept before 2024', now())`);
    expect(await isDerivedValid(em, renewalFactsTable)).toBe(false);
    const live = await first();
    expect(live).not.toEqual(afterRule);
    await rebuildDerived(em, renewalFactsTable);
    expect(await isDerivedValid(em, renewalFactsTable)).toBe(true);
    expect(await first()).toEqual(live);
    expect(before).toBeDefined();
  });
});
