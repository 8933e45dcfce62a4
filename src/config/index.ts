import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';

/** Everything the gateway reads from its environment, validated once at start-up. */
export interface Config {
  port: number;
  /** Absent: the gateway starts an embedded PostgreSQL under `dataDir`. */
  databaseUrl?: string;
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
  };
  seedDemo: boolean;
  logLevel: string;
  introspection: boolean;
  corsOrigins: string[];
  /** Query limits, the same on HTTP and WebSocket (src/server/limits.ts). */
  limits: QueryLimits;
  rateLimit: {
    /** Mutations per partner (or platform user) per window. */
    mutationsPerMinute: number;
    /** Shared counters across instances; in memory per process when absent. */
    redisUrl?: string;
  };
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
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir,
    embeddedPgPort: intVar(env, 'EMBEDDED_PG_PORT', 54329, 1),
    production,
    jwt: { secret, jwksUrl, issuer: env.JWT_ISSUER || undefined, audience: env.JWT_AUDIENCE || undefined },
    seedDemo: boolVar(env, 'SEED_DEMO', true),
    logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'silent' : 'info'),
    introspection: boolVar(env, 'GRAPHQL_INTROSPECTION', !production),
    corsOrigins: (env.CORS_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    limits: {
      depth: intVar(env, 'MAX_QUERY_DEPTH', 10, 1, 1000),
      cost: intVar(env, 'MAX_QUERY_COST', 10_000, 1, 10_000_000),
      aliases: intVar(env, 'MAX_QUERY_ALIASES', 30, 0, 100_000),
      tokens: intVar(env, 'MAX_QUERY_TOKENS', 3_000, 100, 1_000_000),
    },
    rateLimit: {
      mutationsPerMinute: intVar(env, 'RATE_LIMIT_MUTATIONS_PER_MINUTE', 600, 1, 10_000_000),
      redisUrl: redisUrl(env.REDIS_URL),
    },
  };
}
