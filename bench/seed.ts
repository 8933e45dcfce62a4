/**
 * Fills a freshly migrated database with a realistic world for the benchmarks:
 * 50 partners (direct-bill, providers, resellers with links), 10,000 customers,
 * relationships, acceptances in every compliance state, subscriptions, 50,000
 * orders and an alert for each blocked one. Rows go in through `pg` in multi-row
 * `insert ... select * from unnest(...)` batches, so seeding takes seconds.
 *
 * Deterministic: the same seed number gives the same world.
 */
import { randomUUID } from 'node:crypto';
import type { Client, Pool } from 'pg';

export interface SeedSize {
  customers: number;
  orders: number;
  direct: number;
  providers: number;
  resellers: number;
}

export const DEFAULT_SIZE: SeedSize = { customers: 10_000, orders: 50_000, direct: 10, providers: 10, resellers: 30 };

export interface SeedPartner {
  id: string;
  name: string;
  type: 'DIRECT_BILL' | 'INDIRECT_PROVIDER' | 'INDIRECT_RESELLER';
  /** For resellers: the providers it is linked to. */
  providers: string[];
  /** The partner's ADMIN user (token subject). */
  adminUser: string;
}

/** A (customer, billing partner) pair and what the benchmarks need to know about it. */
export interface SeedRelationship {
  customerId: string;
  partnerId: string;
  resellerId: string | null;
  /** Whether a NEW_PURCHASE by this partner is blocked today. */
  blocked: boolean;
  status: string;
  cloud: string;
}

export interface SeedWorld {
  partners: SeedPartner[];
  relationships: SeedRelationship[];
  counts: Record<string, number>;
  states: Record<string, number>;
  ms: number;
}

/** mulberry32: small, fast, deterministic. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)],
    /** Picks a key by weight. */
    weighted: <K extends string>(w: Record<K, number>): K => {
      const total = Object.values<number>(w).reduce((s, x) => s + x, 0);
      let r = next() * total;
      for (const [k, x] of Object.entries<number>(w)) if ((r -= x) < 0) return k as K;
      return Object.keys(w)[0] as K;
    },
  };
}

const WORDS = ['Contoso', 'Fabrikam', 'Northwind', 'Adventure', 'Tailspin', 'Wingtip', 'Litware', 'Proseware', 'Woodgrove', 'Alpine', 'Coho', 'Lucerne', 'Margie', 'Trey', 'Humongous', 'Blue Yonder', 'Fourth Coffee', 'Wide World', 'Graphic Design', 'Southridge', 'Relecloud', 'VanArsdel', 'Datum', 'Bellows', 'Consolidated', 'Litmus', 'Nod', 'Lamna', 'Munson', 'Olympia'];
const SUFFIXES = ['Ltd', 'GmbH', 'Inc', 'SA', 'BV', 'AB', 'Oy', 'Srl', 'plc', 'LLC'];
const FIRST = ['Ada', 'Ben', 'Chloe', 'Dev', 'Elena', 'Femi', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Kari', 'Liam', 'Mona', 'Nils', 'Olga', 'Priya'];
const LAST = ['Smith', 'Müller', 'García', 'Rossi', 'Novak', 'Jensen', 'Dubois', 'Kowalski', 'Silva', 'Tanaka', 'Okafor', 'Larsen'];
/** Countries with a weight; DE and FR have their own templates, the rest fall back to GLOBAL. */
const COUNTRIES = { US: 30, DE: 15, GB: 12, FR: 10, NL: 8, SE: 5, IT: 5, ES: 5, PL: 4, JP: 3, BR: 3 } as const;

type Status = 'CONFIRMED' | 'OUTDATED' | 'WITHDRAWN' | 'MISSING';
/** The mix of per-relationship acceptance states on public clouds. */
const STATES: Record<Status, number> = { CONFIRMED: 60, OUTDATED: 15, WITHDRAWN: 8, MISSING: 17 };

/** Inserts rows as `insert into t (cols) select * from unnest($1::type[], ...)`, in batches. */
async function insert(db: Client | Pool, table: string, cols: [string, string][], rows: unknown[][], batch = 5_000): Promise<void> {
  for (let i = 0; i < rows.length; i += batch) {
    const chunk = rows.slice(i, i + batch);
    const arrays = cols.map((_, c) => chunk.map((r) => r[c]));
    // A `text[]` column travels as its literal ('{A,B}') in a text array, cast back per row.
    const sql = `insert into ${table} (${cols.map(([n]) => `"${n}"`).join(', ')})
      select ${cols.map(([n], k) => (ARRAY_COLUMNS.has(n) ? `u.c${k}::text[]` : `u.c${k}`)).join(', ')}
        from unnest(${cols.map(([, t], k) => `$${k + 1}::${t}[]`).join(', ')}) as u(${cols.map((_, k) => `c${k}`).join(', ')})`;
    await db.query(sql, arrays);
  }
}

const ARRAY_COLUMNS = new Set(['roles', 'block_reasons', 'warnings', 'reasons']);

/** Text arrays (block reasons) travel as PostgreSQL array literals inside a text[] column. */
const arr = (xs: string[]) => `{${xs.join(',')}}`;

export async function seed(db: Client | Pool, size: SeedSize = DEFAULT_SIZE, seedNumber = 42): Promise<SeedWorld> {
  const started = Date.now();
  const r = rng(seedNumber);
  const now = new Date();
  const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000);
  const isoDate = (d: Date) => d.toISOString().slice(0, 10);

  // Partners, their admins, an analyst and a platform admin.
  const partners: SeedPartner[] = [];
  const mk = (type: SeedPartner['type'], n: number, label: string) => {
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      partners.push({ id, name: `${label} ${String(i + 1).padStart(2, '0')}`, type, providers: [], adminUser: `bench-admin-${type.toLowerCase()}-${i + 1}` });
    }
  };
  mk('DIRECT_BILL', size.direct, 'Direct Partner');
  mk('INDIRECT_PROVIDER', size.providers, 'Provider');
  mk('INDIRECT_RESELLER', size.resellers, 'Reseller');
  const direct = partners.filter((p) => p.type === 'DIRECT_BILL');
  const providers = partners.filter((p) => p.type === 'INDIRECT_PROVIDER');
  const resellers = partners.filter((p) => p.type === 'INDIRECT_RESELLER');
  // Every reseller sells through one provider, a third of them through two.
  resellers.forEach((res, i) => {
    res.providers.push(providers[i % providers.length].id);
    if (i % 3 === 0) res.providers.push(providers[(i + 3) % providers.length].id);
  });
  await insert(
    db,
    'partners',
    [['id', 'uuid'], ['name', 'text'], ['tenant_id', 'text'], ['type', 'text'], ['created_at', 'timestamptz']],
    partners.map((p) => [p.id, p.name, randomUUID(), p.type, daysAgo(900)]),
  );
  const links = resellers.flatMap((res) => res.providers.map((prov) => [randomUUID(), res.id, prov, daysAgo(800)]));
  await insert(db, 'reseller_links', [['id', 'uuid'], ['reseller_id', 'uuid'], ['provider_id', 'uuid'], ['created_at', 'timestamptz']], links);
  const users = [
    ...partners.map((p) => [p.adminUser, `${p.name} admin`, p.id, '{ADMIN}', daysAgo(700), daysAgo(1)]),
    ['bench-analyst', 'Bench Analyst', null, '{ANALYST}', daysAgo(700), daysAgo(1)],
    ['bench-platform-admin', 'Bench Platform Admin', null, '{PLATFORM_ADMIN}', daysAgo(700), daysAgo(1)],
  ];
  await insert(db, 'users', [['id', 'text'], ['display_name', 'text'], ['partner_id', 'uuid'], ['roles', 'text'], ['first_seen_at', 'timestamptz'], ['last_seen_at', 'timestamptz']], users);

  // Templates: GLOBAL, DE and FR, an old rank and the current one each.
  const templates: { id: string; country: string; rank: number }[] = [];
  const tplRows: unknown[][] = [];
  for (const country of ['GLOBAL', 'DE', 'FR']) {
    for (const [rank, version, from] of [[1, '2018-11', '2018-11-07'], [2, '2024-06', '2024-06-01']] as const) {
      const id = `mca-${version}-${country.toLowerCase()}`;
      templates.push({ id, country, rank });
      tplRows.push([id, 'MICROSOFT_CLOUD_AGREEMENT', version, rank, country, country === 'DE' ? 'de-DE' : country === 'FR' ? 'fr-FR' : 'en-US', `https://example.com/mca/${id}`, from, daysAgo(600)]);
    }
  }
  await insert(
    db,
    'agreement_templates',
    [['template_id', 'text'], ['type', 'text'], ['version', 'text'], ['version_rank', 'int'], ['country', 'text'], ['language', 'text'], ['display_uri', 'text'], ['effective_from', 'date'], ['created_at', 'timestamptz']],
    tplRows,
  );
  const templateFor = (country: string, rank: number) => (templates.find((t) => t.country === country && t.rank === rank) ?? templates.find((t) => t.country === 'GLOBAL' && t.rank === rank))!.id;

  // Customers, their relationships (a fifth with a second billing partner) and resellers.
  const customers: unknown[][] = [];
  const relationships: unknown[][] = [];
  const relResellers: unknown[][] = [];
  const world: SeedRelationship[] = [];
  const acceptances: unknown[][] = [];
  const states: Record<string, number> = { CONFIRMED: 0, OUTDATED: 0, WITHDRAWN: 0, MISSING: 0, NOT_APPLICABLE: 0, SUPERSEDED_ROWS: 0 };
  const billers = [...direct, ...providers];
  for (let i = 0; i < size.customers; i++) {
    const id = randomUUID();
    const country = r.weighted(COUNTRIES as unknown as Record<string, number>);
    const national = r.next() < 0.05;
    const cloud = national ? (country === 'DE' ? 'GERMANY' : r.pick(['US_GOVERNMENT', 'CHINA'])) : 'PUBLIC';
    const name = `${r.pick(WORDS)} ${r.pick(['Systems', 'Retail', 'Health', 'Logistics', 'Energy', 'Labs', 'Foods', 'Media'])} ${String(i).padStart(5, '0')} ${r.pick(SUFFIXES)}`;
    const first = r.pick(FIRST);
    const last = r.pick(LAST);
    const domain = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '')}.example.com`;
    customers.push([id, randomUUID(), name, domain, country, cloud, first, last, `${first.toLowerCase()}.${i}@${domain}`, r.next() < 0.6 ? '+14255550100' : null, daysAgo(30 + r.int(700))]);
    const count = r.next() < 0.2 ? 2 : 1;
    const chosen = new Set<SeedPartner>();
    while (chosen.size < count) chosen.add(r.pick(billers));
    for (const partner of chosen) {
      const relId = randomUUID();
      relationships.push([relId, id, partner.id, daysAgo(20 + r.int(600))]);
      let resellerId: string | null = null;
      if (partner.type === 'INDIRECT_PROVIDER') {
        const mine = resellers.filter((x) => x.providers.includes(partner.id));
        resellerId = r.pick(mine).id;
        relResellers.push([relId, resellerId]);
      }
      let status: Status | 'NOT_APPLICABLE' = 'NOT_APPLICABLE';
      if (!national) {
        status = r.weighted(STATES);
        const agreed = daysAgo(60 + r.int(300));
        const row = (tpl: string, st: string, recorded: Date, superseded: Date | null, withdrawn: Date | null) =>
          acceptances.push([randomUUID(), id, partner.id, tpl, isoDate(agreed), first, last, `${first.toLowerCase()}.${i}@${domain}`, null, null, r.pick(['API', 'DASHBOARD']), st, partner.adminUser, recorded, superseded, withdrawn, withdrawn ? partner.adminUser : null, withdrawn ? 'Customer no longer agrees' : null]);
        if (status === 'CONFIRMED' || status === 'OUTDATED') {
          // Some confirmations replaced an older one: the history has a SUPERSEDED row.
          if (r.next() < 0.15) {
            row(templateFor(country, 1), 'SUPERSEDED', daysAgo(400), daysAgo(50), null);
            states.SUPERSEDED_ROWS++;
          }
          row(templateFor(country, status === 'CONFIRMED' ? 2 : 1), 'ACTIVE', daysAgo(40), null, null);
        } else if (status === 'WITHDRAWN') {
          row(templateFor(country, 1), 'WITHDRAWN', daysAgo(200), null, daysAgo(10));
        }
      }
      states[status]++;
      world.push({ customerId: id, partnerId: partner.id, resellerId, blocked: status === 'MISSING' || status === 'WITHDRAWN', status, cloud });
    }
  }
  await insert(
    db,
    'customers',
    [['id', 'uuid'], ['tenant_id', 'text'], ['company_name', 'text'], ['domain', 'text'], ['country', 'text'], ['cloud', 'text'], ['contact_first_name', 'text'], ['contact_last_name', 'text'], ['contact_email', 'text'], ['contact_phone_number', 'text'], ['created_at', 'timestamptz']],
    customers,
  );
  await insert(db, 'customer_relationships', [['id', 'uuid'], ['customer_id', 'uuid'], ['partner_id', 'uuid'], ['created_at', 'timestamptz']], relationships);
  await insert(db, 'customer_relationship_resellers', [['relationship_id', 'uuid'], ['reseller_id', 'uuid']], relResellers);
  await insert(
    db,
    'acceptances',
    [['id', 'uuid'], ['customer_id', 'uuid'], ['partner_id', 'uuid'], ['template_id', 'text'], ['date_agreed', 'date'], ['contact_first_name', 'text'], ['contact_last_name', 'text'], ['contact_email', 'text'], ['contact_phone_number', 'text'], ['on_behalf_of', 'text'], ['channel', 'text'], ['status', 'text'], ['confirmed_by_id', 'text'], ['recorded_at', 'timestamptz'], ['superseded_at', 'timestamptz'], ['withdrawn_at', 'timestamptz'], ['withdrawn_by_id', 'text'], ['withdrawal_reason', 'text']],
    acceptances,
  );

  // Orders: spread over relationships. Those of compliant relationships completed (new
  // purchases create subscriptions), the others blocked with their alert.
  const orders: unknown[][] = [];
  const subscriptions: unknown[][] = [];
  const alerts: unknown[][] = [];
  const subsOf = new Map<number, string[]>();
  for (let i = 0; i < size.orders; i++) {
    const k = r.int(world.length);
    const rel = world[k];
    const partner = partners.find((p) => p.id === rel.partnerId)!;
    const subs = subsOf.get(k) ?? [];
    const kind = subs.length === 0 || r.next() < 0.4 ? 'NEW_PURCHASE' : r.pick(['SEAT_CHANGE', 'RENEWAL', 'AUTO_RENEWAL']);
    const createdAt = daysAgo(1 + r.int(365));
    const blocked = rel.blocked && kind !== 'AUTO_RENEWAL';
    const reasons = blocked ? [rel.status === 'WITHDRAWN' ? 'ACCEPTANCE_WITHDRAWN' : 'ACCEPTANCE_NOT_CONFIRMED'] : [];
    const warnings = rel.cloud !== 'PUBLIC' ? ['ACCEPTANCE_NOT_APPLICABLE'] : [];
    let subscriptionId: string | null = kind === 'NEW_PURCHASE' ? null : r.pick(subs);
    const quantity = 1 + r.int(250);
    const offerId = kind === 'NEW_PURCHASE' ? r.pick(['O365_E3', 'O365_E5', 'M365_BP', 'AZURE_PLAN', 'TEAMS_ESS']) : null;
    if (!blocked && kind === 'NEW_PURCHASE') {
      subscriptionId = randomUUID();
      subscriptions.push([subscriptionId, rel.customerId, rel.partnerId, rel.resellerId, offerId, quantity, r.next() < 0.05 ? 'CANCELLED' : 'ACTIVE', isoDate(new Date(createdAt.getTime() + 365 * 86_400_000)), createdAt, createdAt, JSON.stringify([{ seats: quantity, addedAt: createdAt.toISOString() }])]);
      subs.push(subscriptionId);
      subsOf.set(k, subs);
    }
    const orderId = randomUUID();
    orders.push([orderId, rel.customerId, rel.partnerId, rel.resellerId, kind, r.pick(['API', 'DASHBOARD']), blocked ? 'BLOCKED' : 'COMPLETED', arr(reasons), arr(warnings), createdAt, createdAt, offerId, quantity, blocked ? null : subscriptionId, partner.adminUser, `seed-${i}`, partner.id, `seed-hash-${i}`]);
    if (blocked) alerts.push([orderId, rel.customerId, rel.partnerId, rel.resellerId, arr(reasons), createdAt, r.next() < 0.3 ? createdAt : null, null]);
  }
  await insert(
    db,
    'subscriptions',
    [['id', 'uuid'], ['customer_id', 'uuid'], ['partner_id', 'uuid'], ['reseller_id', 'uuid'], ['offer_id', 'text'], ['seats', 'int'], ['status', 'text'], ['renews_on', 'date'], ['created_at', 'timestamptz'], ['term_started_at', 'timestamptz'], ['seat_lots', 'jsonb']],
    subscriptions,
  );
  await insert(
    db,
    'orders',
    [['id', 'uuid'], ['customer_id', 'uuid'], ['partner_id', 'uuid'], ['reseller_id', 'uuid'], ['kind', 'text'], ['channel', 'text'], ['outcome', 'text'], ['block_reasons', 'text'], ['warnings', 'text'], ['requested_at', 'timestamptz'], ['created_at', 'timestamptz'], ['offer_id', 'text'], ['quantity', 'int'], ['subscription_id', 'uuid'], ['placed_by_id', 'text'], ['idempotency_key', 'text'], ['idempotency_scope', 'text'], ['request_hash', 'text']],
    orders,
  );
  // Alerts in creation order, so the cursor order follows time as it would live.
  alerts.sort((a, b) => (a[5] as Date).getTime() - (b[5] as Date).getTime());
  await insert(
    db,
    'blocked_order_alerts',
    [['order_id', 'uuid'], ['customer_id', 'uuid'], ['partner_id', 'uuid'], ['reseller_id', 'uuid'], ['reasons', 'text'], ['created_at', 'timestamptz'], ['acknowledged_at', 'timestamptz'], ['acknowledged_by_id', 'text']],
    alerts,
  );
  await db.query('analyze');
  return {
    partners,
    relationships: world,
    counts: {
      partners: partners.length,
      resellerLinks: links.length,
      customers: customers.length,
      relationships: relationships.length,
      acceptances: acceptances.length,
      subscriptions: subscriptions.length,
      orders: orders.length,
      blockedOrderAlerts: alerts.length,
    },
    states,
    ms: Date.now() - started,
  };
}
