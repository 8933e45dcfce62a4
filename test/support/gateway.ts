import 'reflect-metadata';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config';
import { createGateway, type Gateway } from '../../src/gateway';
import { mintToken } from '../../src/auth/token';
import { Role } from '../../src/auth/roles';
import { freshDatabase } from './database';

export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256';

export interface TestGateway extends Gateway {
  databaseUrl: string;
  /** POST /graphql; answers the parsed JSON body and the HTTP status. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResponse<T>>;
  /** SQL statements run while `work` runs. */
  countStatements(work: () => Promise<unknown>): Promise<number>;
}

export interface GqlResponse<T> {
  status: number;
  data?: T;
  errors?: { message: string; path?: string[]; extensions?: { code?: string; field?: string; [k: string]: unknown } }[];
}

/**
 * Permissive rules for the tests of the founding FAQ's rules (issue 18): accepting either
 * agreement type with no minimum date, from 2019-10-01 (when the Customer Agreement came)
 * on, one beside every later default rule and one today, so tests that state no
 * `requestedAt`, or replay a year back (renewals), get the founding FAQ's answers. Orders
 * before 2019-10-01 are judged by the default timeline, as it stands.
 */
export const FOUNDING_RULES_SQL = `insert into acceptance_policy_rules (id, effective_from, channel, accepted_types, description, created_at)
  select gen_random_uuid(), d.day, null, '{MICROSOFT_CLOUD_AGREEMENT,MICROSOFT_CUSTOMER_AGREEMENT}', 'tests: the founding FAQ''s rules', now()
    from (select effective_from as day from acceptance_policy_rules where effective_from >= '2019-10-01'
          union select (now() at time zone 'utc')::date) d
   where not exists (select 1 from acceptance_policy_rules where description = 'tests: the founding FAQ''s rules')`;

export interface StartOptions {
  /** Adds `FOUNDING_RULES_SQL`'s permissive rules. Default true; tests of the default policy pass false. */
  foundingRules?: boolean;
}

/** Counts the SQL statements the gateway runs (knex's `query` event, which `queryRows` announces too) while `work` runs. */
export function statementCounter(gateway: Pick<Gateway, 'orm'>): TestGateway['countStatements'] {
  let statements = 0;
  gateway.orm.em.getConnection().getKnex().on('query', () => {
    statements++;
  });
  return async (work) => {
    const before = statements;
    await work();
    return statements - before;
  };
}

/** Starts the gateway on a random port against a fresh, migrated database. */
export async function startGateway(overrides: Partial<Config> = {}, databaseUrl?: string, options: StartOptions = {}): Promise<TestGateway> {
  const db = databaseUrl ? undefined : await freshDatabase();
  const url = databaseUrl ?? db!.url;
  const base = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_SECRET, SEED_DEMO: 'false' });
  const config: Config = { ...base, port: 0, databaseUrl: url, seedDemo: false, logLevel: 'silent', ...overrides };
  const gateway = await createGateway(config, pino({ level: 'silent' }));
  if (options.foundingRules ?? true) await gateway.orm.em.getConnection().execute(FOUNDING_RULES_SQL);
  return {
    ...gateway,
    databaseUrl: url,
    stop: async () => {
      await gateway.stop();
      await db?.drop();
    },
    gql: (query, variables, token) => gql(gateway.url, query, variables, token),
    countStatements: statementCounter(gateway),
  };
}

export async function gql<T = any>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as GqlResponse<T>;
  return { ...body, status: res.status };
}

export function tokenFor(claims: { sub: string; name?: string; partnerId?: string; roles: Role[] }, options = {}): Promise<string> {
  return mintToken(TEST_SECRET, claims, options);
}

export const platformAdminToken = () => tokenFor({ sub: 'test-platform-admin', name: 'Platform Admin', roles: [Role.PLATFORM_ADMIN] });
export const analystToken = () => tokenFor({ sub: 'test-analyst', name: 'Analyst', roles: [Role.ANALYST] });

/** Waits until a gateway on this port answers `/readyz` with 200 (a spawned `src/main.ts`), at most `tries` × 100 ms. */
export async function untilReady(port: number, tries = 300): Promise<void> {
  for (let i = 0; i < tries; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(async (r) => (await r.text(), r.status === 200), () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Statements the request path runs while `work` runs, leaving out the alert hub's own read
 * of new alerts (it follows a blocked order's NOTIFY in the background, for its subscribers,
 * and reads blocked_order_alerts without touching orders).
 */
export async function requestStatements(gateway: Gateway, work: () => Promise<unknown>): Promise<number> {
  const seen: string[] = [];
  const knex = gateway.orm.em.getConnection().getKnex();
  const listener = (q: { sql: string }) => seen.push(q.sql);
  knex.on('query', listener);
  try {
    await work();
  } finally {
    knex.removeListener('query', listener);
  }
  const hubRead = (sql: string) => /blocked_order_alerts/.test(sql) && !/\borders\b/.test(sql);
  return seen.filter((sql) => !hubRead(sql)).length;
}
