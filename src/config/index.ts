import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';

/** Everything the gateway reads from its environment, validated once at start-up. */
/** Origins a development gateway allows without configuration: a frontend's dev server on any port (src/server/cors.ts). */
export const DEVELOPMENT_ORIGINS = ['http://localhost:*', 'http://127.0.0.1:*'];

export interface Config {
  port: number;
  /**
   * HOST: the address the HTTP server listens on. Default in development 127.0.0.1 (its
   * demo tokens and development secret are for this machine only); in production every
   * interface, as before.
   */
  host?: string;
  /** Absent: the gateway starts an embedded PostgreSQL under `dataDir`. */
  databaseUrl?: string;
  /**
   * DATABASE_DIRECT_URL: a direct session to the same database for what needs one (the
   * alert LISTEN connection, the start-up advisory lock), when DATABASE_URL goes through
   * a pooler in transaction mode (src/db/topology.ts). Absent: everything on DATABASE_URL.
   */
  databaseDirectUrl?: string;
  /**
   * DATABASE_POOLER: `transaction` when DATABASE_URL passes through a pooler in transaction
   * mode (unnamed statements, no session start-up parameters); `none` otherwise. Default
   * `transaction` when DATABASE_DIRECT_URL is set, else `none`.
   */
  databasePooler: DatabasePooler;
  /** DATABASE_POOL_MAX: most connections this instance holds open (default 20). */
  databasePoolMax: number;
  /**
   * DATABASE_POOL_IDLE_TIMEOUT_MS: how long a pooled connection may sit unused before it is
   * closed (default 600000, 10 min). A new connection prepares every statement again on a
   * backend whose caches are cold: closed after 30 s, a burst after a quiet minute opened up to
   * the whole pool at once and stalled for up to a second (BENCHMARKS.md, issue 23).
   */
  databasePoolIdleTimeoutMs: number;
  /** Limits PostgreSQL enforces on the gateway's own sessions (src/db/orm.ts); 0 turns one off. */
  databaseSession: DatabaseSessionLimits;
  /**
   * SHUTDOWN_DELAY_MS: on SIGTERM, how long /readyz answers 503 while the gateway still serves
   * everything, before it drains (default 0): time for a balancer's health check to take the
   * instance out. Kubernetes needs none (its preStop hook waits while the endpoint is removed).
   */
  shutdownDelayMs: number;
  /** WORKERS: gateway processes sharing the port, one core each (default 1; src/server/cluster.ts). */
  workers: number;
  dataDir: string;
  embeddedPgPort: number;
  production: boolean;
  jwt: {
    /** HS256 secret (development, or explicitly configured in production). */
    secret?: string;
    /** RS256 key set URL (production). */
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
    /**
     * JWT_MAX_LIFETIME_SECONDS: longest a token may live from its issue (`exp` − `iat`);
     * longer ones are refused. Default 24 hours in production, 30 days otherwise (the
     * development tokens' lifetime). Absent (only when built by hand): no cap.
     */
    maxLifetimeSeconds?: number;
  };
  seedDemo: boolean;
  logLevel: string;
  introspection: boolean;
  /** HTTP operations run compiled by graphql-jit (src/server/jit.ts); off: graphql-js's execute. */
  graphqlJit: boolean;
  /** Stack traces in error responses: only when asked (DEBUG_ERRORS=true), never in production. */
  debugErrors: boolean;
  corsOrigins: string[];
  /** Query limits, the same on HTTP and WebSocket (src/server/limits.ts). */
  limits: QueryLimits;
  /** Live subscriptions (graphql-ws) one caller may hold on this instance (src/server/ws.ts). */
  subscriptions: {
    /** MAX_SUBSCRIPTIONS_PER_SOCKET: running subscriptions on one socket (default 50). */
    perSocket: number;
    /** MAX_SUBSCRIPTIONS_PER_USER: running subscriptions of one user (token `sub`) across its sockets (default 500). */
    perUser: number;
  };
  rateLimit: {
    /** Mutations per partner (or platform user) per window. */
    mutationsPerMinute: number;
    /** Shared counters across instances; in memory per process when absent. */
    redisUrl?: string;
  };
  /** The renewal-risk scan (src/renewals): its pg-boss schedule and its start-up run. */
  renewalScan: {
    /** RENEWAL_SCAN_CRON, in UTC (default `0 6 * * *`). */
    cron: string;
    /** RENEWAL_SCAN_SCHEDULE: run pg-boss with the schedule (default true; false under NODE_ENV=test, so test gateways start fast). */
    schedule: boolean;
    /** RENEWAL_SCAN_ON_START: scan once at start-up (default true; false under NODE_ENV=test). */
    onStart: boolean;
    /** RENEWAL_SCAN_WITHIN_DAYS: the window of the scheduled and start-up scans (default 60). */
    withinDays: number;
  };
  /** Partner Center middleware (src/partner-center, DESIGN.md section 8). */
  partnerCenter: PartnerCenterConfig;
  /** Enhanced attestations (src/attestations, DESIGN.md section 11). */
  attestations: AttestationsConfig;
  /** Reconciliation with Partner Center (src/reconciliation, DESIGN.md section 11). */
  reconciliation: {
    /** RECONCILIATION_CRON, in UTC (default `30 2 * * *`): the daily run of every connected partner. */
    cron: string;
    /** RECONCILIATION_SCHEDULE: run pg-boss with the daily schedule (default true; false under NODE_ENV=test). */
    schedule: boolean;
    /** RECONCILIATION_CONCURRENCY: customers read from Partner Center at once by one run (default 4). */
    concurrency: number;
    /** How often an idle worker polls for a partner's job. */
    pollingIntervalSeconds: number;
  };
  /** Proof of acceptance (src/evidence, DESIGN.md section 13). */
  evidence: {
    /** EVIDENCE_FETCH_DOCUMENTS: fetch and hash the agreement document of each new Customer Agreement confirmation (default true; off: NOT_FETCHED). */
    fetchDocuments: boolean;
  };
  /** GET /exports/acceptances (src/audit/audit.export.ts; docs/operations.md). */
  auditExport: {
    /** EXPORT_MAX_CONCURRENT: exports at once in one gateway process, each on a connection of its own (default 8). */
    maxConcurrent: number;
    /** EXPORT_MAX_PER_PARTNER: exports at once for one partner (default 2). */
    maxPerPartner: number;
    /** EXPORT_WRITE_TIMEOUT_MS: an export whose client takes nothing for this long is ended, and its connection with it (default 30 s). */
    writeTimeoutMs: number;
  };
  /** POST /imports/acceptances (src/partner-center/import.route.ts; docs/operations.md). */
  bulkImport: {
    /** IMPORT_MAX_BYTES: the largest file (default 50 MiB); it is read whole before the database is touched. */
    maxBytes: number;
  };
}

export interface PartnerCenterConfig {
  /** PARTNER_CENTER_URL: base URL of the Partner Center API. */
  url: string;
  /** PARTNER_CENTER_TOKEN_URL: the token endpoint; `{tenantId}` is replaced by the partner's tenant id. */
  tokenUrl: string;
  /** PARTNER_CENTER_MAX_ATTEMPTS: delivery attempts before a sync is FAILED (default 8). */
  maxAttempts: number;
  /** PARTNER_CENTER_RETRY_BASE_MS: the first retry delay; it doubles (with jitter) per attempt, capped at 15 minutes. */
  retryBaseMs: number;
  /** CREDENTIALS_KEY: key material for stored client secrets and refresh tokens; absent, credentials are refused. */
  credentialsKey?: string;
  /** PARTNER_CENTER_TIMEOUT_MS: timeout of one upstream HTTP request (default 30 s). */
  timeoutMs: number;
  /** PARTNER_CENTER_CONCURRENCY: upstream requests in flight per partner, per gateway instance (default 16). */
  concurrency: number;
  /** How often idle delivery workers look for due jobs (pg-boss; at least 0.5). */
  pollingIntervalSeconds: number;
  /** A job still active this long (its gateway died mid-delivery) is retried by another worker. */
  jobExpireSeconds: number;
  /** How often pg-boss looks for such expired jobs. */
  maintenanceIntervalSeconds: number;
  /** PARTNER_CENTER_BUDGET_PER_MINUTE: upstream API calls per partner tenant per minute, one budget shared by every instance (default 300). */
  budgetPerMinute?: number;
  /** PARTNER_CENTER_MAX_WAIT_MS: the longest one call waits in process for the budget or a Retry-After before it gives up as throttled (default 60 s). */
  maxWaitMs?: number;
  /** PARTNER_CENTER_CALL_RETRIES: retries of one call after a timeout, a dropped connection or a 5xx (default 3, as the vendor's SDK). */
  callRetries?: number;
  /** PARTNER_CENTER_CALL_RETRY_BASE_MS: the first in-call retry delay, doubling (default 500, the SDK's 0.5 s, 1.5 s, 3.5 s roughly). */
  callRetryBaseMs?: number;
  /** PARTNER_CENTER_TOKEN_REFRESH_DAYS: every connection's delegated token is refreshed at least this often, so its refresh token never expires from idleness (default 7). */
  tokenRefreshDays?: number;
  /** PARTNER_CENTER_TOKEN_REFRESH_CRON: when the refresh sweep runs, in UTC (default hourly); it refreshes only the connections due. */
  tokenRefreshCron?: string;
  /** PARTNER_CENTER_TOKEN_REFRESH_SCHEDULE: schedule the sweep with pg-boss (default true; false under NODE_ENV=test). */
  tokenRefreshSchedule?: boolean;
}

export interface AttestationsConfig {
  /** ATTESTATION_POLL_SECONDS: between two status polls of an issued acceptance link (default 30). */
  pollSeconds: number;
  /** ATTESTATION_RETRY_SECONDS: after passing trouble upstream (timeouts, 5xx, 429, tokens), the next try (default 60). */
  retrySeconds: number;
  /** A follow job still active this long (its gateway died mid-step) is retried by another worker. */
  jobExpireSeconds: number;
  /** How often pg-boss looks for such expired jobs. */
  maintenanceIntervalSeconds: number;
  /** How often idle follow workers look for due jobs (pg-boss; at least 0.5). */
  pollingIntervalSeconds: number;
}

export type DatabasePooler = 'none' | 'transaction';

export interface DatabaseSessionLimits {
  /** DATABASE_STATEMENT_TIMEOUT_MS: longest one statement may run (default 30 s). */
  statementTimeoutMs: number;
  /** DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: longest a session may sit idle inside a transaction before PostgreSQL ends it (default 15 s). */
  idleInTransactionTimeoutMs: number;
}

export interface QueryLimits {
  /** Deepest field nesting (introspection fields excepted). */
  depth: number;
  /** Highest estimated cost: a field costs 1, a paged list `first` × its children. */
  cost: number;
  /** Most aliases in one document, fragments expanded. */
  aliases: number;
  /** Most lexical tokens in one document. */
  tokens: number;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function intVar(env: Env, name: string, fallback: number, min = 0, max = 65535): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function boolVar(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/**
 * A development secret is generated once and kept in the data folder, so a fresh
 * clone runs without configuration and printed tokens survive restarts.
 */
export function developmentSecret(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}

/** A five- or six-field cron expression (pg-boss checks it fully when it schedules). */
function cronVar(env: Env, name: string, fallback: string): string {
  const raw = (env[name] ?? '').trim() || fallback;
  if (!/^\S+(\s+\S+){4,5}$/.test(raw)) throw new ConfigError(`${name} must be a cron expression of 5 or 6 fields, got "${raw}"`);
  return raw;
}

function urlVar(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  try {
    const url = new URL(raw.replace('{tenantId}', 'tenant'));
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error();
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

function credentialsKey(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  if (raw.length < 32) throw new ConfigError('CREDENTIALS_KEY must be at least 32 characters (e.g. 32 random bytes, base64)');
  return raw;
}

function redisUrl(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`REDIS_URL is not a URL: "${raw}"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ConfigError(`REDIS_URL must start with redis:// or rediss://, got "${raw}"`);
  return raw;
}

function postgresUrl(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new ConfigError(`${name} must start with postgres:// or postgresql://`);
  return raw;
}

/** DATABASE_URL, DATABASE_DIRECT_URL and DATABASE_POOLER, checked together. */
function databaseTopology(env: Env): Pick<Config, 'databaseUrl' | 'databaseDirectUrl' | 'databasePooler'> {
  const databaseUrl = env.DATABASE_URL || undefined;
  const databaseDirectUrl = postgresUrl(env, 'DATABASE_DIRECT_URL');
  if (databaseDirectUrl && !databaseUrl) throw new ConfigError('DATABASE_DIRECT_URL is set without DATABASE_URL (the pooled URL everything else uses)');
  const pooler = env.DATABASE_POOLER || (databaseDirectUrl ? 'transaction' : 'none');
  if (pooler !== 'none' && pooler !== 'transaction') throw new ConfigError(`DATABASE_POOLER must be none or transaction, got "${pooler}"`);
  if (pooler === 'transaction' && !databaseDirectUrl) {
    throw new ConfigError('DATABASE_POOLER=transaction needs DATABASE_DIRECT_URL: LISTEN and the start-up advisory lock cannot run through a transaction pooler');
  }
  return { databaseUrl, databaseDirectUrl, databasePooler: pooler };
}

export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const dataDir = resolve(env.DATA_DIR ?? '.data');
  const jwksUrl = env.JWT_JWKS_URL || undefined;
  let secret = env.JWT_SECRET || undefined;
  if (jwksUrl) {
    try {
      new URL(jwksUrl);
    } catch {
      throw new ConfigError(`JWT_JWKS_URL is not a URL: "${jwksUrl}"`);
    }
  }
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError('JWT_SECRET must be at least 32 characters');
  }
  if (!secret && !jwksUrl) {
    if (production) throw new ConfigError('JWT_JWKS_URL or JWT_SECRET is required when NODE_ENV=production');
    secret = developmentSecret(dataDir);
  }
  return {
    port: intVar(env, 'PORT', 4000),
    host: env.HOST || (production ? undefined : '127.0.0.1'),
    ...databaseTopology(env),
    databasePoolMax: intVar(env, 'DATABASE_POOL_MAX', 20, 1, 1000),
    databasePoolIdleTimeoutMs: intVar(env, 'DATABASE_POOL_IDLE_TIMEOUT_MS', 600_000, 1_000, 86_400_000),
    databaseSession: {
      statementTimeoutMs: intVar(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 30_000, 0, 86_400_000),
      idleInTransactionTimeoutMs: intVar(env, 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', 15_000, 0, 86_400_000),
    },
    shutdownDelayMs: intVar(env, 'SHUTDOWN_DELAY_MS', 0, 0, 600_000),
    workers: intVar(env, 'WORKERS', 1, 1, 64),
    dataDir,
    embeddedPgPort: intVar(env, 'EMBEDDED_PG_PORT', 54329, 1),
    production,
    jwt: {
      secret,
      jwksUrl,
      issuer: env.JWT_ISSUER || undefined,
      audience: env.JWT_AUDIENCE || undefined,
      maxLifetimeSeconds: intVar(env, 'JWT_MAX_LIFETIME_SECONDS', production ? 24 * 3600 : 30 * 24 * 3600, 60, 366 * 24 * 3600),
    },
    seedDemo: boolVar(env, 'SEED_DEMO', true),
    logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'silent' : 'info'),
    introspection: boolVar(env, 'GRAPHQL_INTROSPECTION', !production),
    graphqlJit: boolVar(env, 'GRAPHQL_JIT', true),
    debugErrors: !production && boolVar(env, 'DEBUG_ERRORS', false),
    corsOrigins: [
      ...(env.CORS_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      // A frontend's dev server (Vite, Next, …) on any local port works without configuration.
      ...(production ? [] : DEVELOPMENT_ORIGINS),
    ],
    limits: {
      depth: intVar(env, 'MAX_QUERY_DEPTH', 10, 1, 1000),
      cost: intVar(env, 'MAX_QUERY_COST', 10_000, 1, 10_000_000),
      aliases: intVar(env, 'MAX_QUERY_ALIASES', 30, 0, 100_000),
      tokens: intVar(env, 'MAX_QUERY_TOKENS', 3_000, 100, 1_000_000),
    },
    subscriptions: {
      perSocket: intVar(env, 'MAX_SUBSCRIPTIONS_PER_SOCKET', 50, 1, 100_000),
      perUser: intVar(env, 'MAX_SUBSCRIPTIONS_PER_USER', 500, 1, 1_000_000),
    },
    rateLimit: {
      mutationsPerMinute: intVar(env, 'RATE_LIMIT_MUTATIONS_PER_MINUTE', 600, 1, 10_000_000),
      redisUrl: redisUrl(env.REDIS_URL),
    },
    renewalScan: {
      cron: cronVar(env, 'RENEWAL_SCAN_CRON', '0 6 * * *'),
      schedule: boolVar(env, 'RENEWAL_SCAN_SCHEDULE', env.NODE_ENV !== 'test'),
      onStart: boolVar(env, 'RENEWAL_SCAN_ON_START', env.NODE_ENV !== 'test'),
      withinDays: intVar(env, 'RENEWAL_SCAN_WITHIN_DAYS', 60, 0, 1096),
    },
    reconciliation: {
      cron: cronVar(env, 'RECONCILIATION_CRON', '30 2 * * *'),
      schedule: boolVar(env, 'RECONCILIATION_SCHEDULE', env.NODE_ENV !== 'test'),
      concurrency: intVar(env, 'RECONCILIATION_CONCURRENCY', 4, 1, 64),
      pollingIntervalSeconds: 2,
    },
    partnerCenter: {
      url: urlVar(env, 'PARTNER_CENTER_URL', 'https://api.partnercenter.microsoft.com'),
      // The v1 endpoint with `resource=`, as the vendor documents App+User and AppOnly tokens (PARTNER-CENTER.md section 6).
      tokenUrl: urlVar(env, 'PARTNER_CENTER_TOKEN_URL', 'https://login.microsoftonline.com/{tenantId}/oauth2/token'),
      maxAttempts: intVar(env, 'PARTNER_CENTER_MAX_ATTEMPTS', 8, 1, 100),
      retryBaseMs: intVar(env, 'PARTNER_CENTER_RETRY_BASE_MS', 1000, 1, 900_000),
      credentialsKey: credentialsKey(env.CREDENTIALS_KEY),
      timeoutMs: intVar(env, 'PARTNER_CENTER_TIMEOUT_MS', 30_000, 100, 600_000),
      concurrency: intVar(env, 'PARTNER_CENTER_CONCURRENCY', 16, 1, 1000),
      pollingIntervalSeconds: 0.5,
      jobExpireSeconds: 300,
      maintenanceIntervalSeconds: 60,
      budgetPerMinute: intVar(env, 'PARTNER_CENTER_BUDGET_PER_MINUTE', 300, 1, 1_000_000),
      maxWaitMs: intVar(env, 'PARTNER_CENTER_MAX_WAIT_MS', 60_000, 0, 3_600_000),
      callRetries: intVar(env, 'PARTNER_CENTER_CALL_RETRIES', 3, 0, 10),
      callRetryBaseMs: intVar(env, 'PARTNER_CENTER_CALL_RETRY_BASE_MS', 500, 1, 60_000),
      tokenRefreshDays: intVar(env, 'PARTNER_CENTER_TOKEN_REFRESH_DAYS', 7, 1, 80),
      tokenRefreshCron: cronVar(env, 'PARTNER_CENTER_TOKEN_REFRESH_CRON', '17 * * * *'),
      tokenRefreshSchedule: boolVar(env, 'PARTNER_CENTER_TOKEN_REFRESH_SCHEDULE', env.NODE_ENV !== 'test'),
    },
    attestations: {
      pollSeconds: intVar(env, 'ATTESTATION_POLL_SECONDS', 30, 1, 86_400),
      retrySeconds: intVar(env, 'ATTESTATION_RETRY_SECONDS', 60, 1, 86_400),
      jobExpireSeconds: 300,
      maintenanceIntervalSeconds: 60,
      pollingIntervalSeconds: 1,
    },
    evidence: {
      fetchDocuments: boolVar(env, 'EVIDENCE_FETCH_DOCUMENTS', true),
    },
    auditExport: {
      maxConcurrent: intVar(env, 'EXPORT_MAX_CONCURRENT', 8, 1, 1000),
      maxPerPartner: intVar(env, 'EXPORT_MAX_PER_PARTNER', 2, 1, 1000),
      writeTimeoutMs: intVar(env, 'EXPORT_WRITE_TIMEOUT_MS', 30_000, 100, 3_600_000),
    },
    bulkImport: {
      maxBytes: intVar(env, 'IMPORT_MAX_BYTES', 50 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    },
  };
}
