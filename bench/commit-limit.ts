/**
 * The database's own ceiling for the write workload, without the gateway: how many
 * transactions per second PostgreSQL on this machine commits from 16 clients (the write
 * workload's concurrency), with `synchronous_commit = on` as the gateway runs it.
 *
 *  - concurrent: each transaction inserts one row and commits; commits of different
 *    clients may share a WAL flush (PostgreSQL's group commit). The ceiling of completed orders.
 *  - serialized: each transaction first takes one transaction-scoped advisory lock, as a
 *    blocked order does (the alert cursor must follow commit order, src/alerts/alert.record.ts),
 *    so commits happen one at a time, each with its own flush. The ceiling of blocked orders.
 *
 * Uses a scratch table in the bench's embedded PostgreSQL (seeded or not), dropped at the end.
 *
 *   node -r reflect-metadata -r @swc-node/register bench/commit-limit.ts
 */
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { ROOT, summarize } from './lib';

const DATA_DIR = join(ROOT, process.env.BENCH_DATA_DIR ?? 'bench/.data/gw');
const PG_PORT = Number(process.env.BENCH_PG_PORT ?? 54339);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const SECONDS = Number(process.env.BENCH_DURATION ?? 10);

async function run(url: string, kind: 'concurrent' | 'serialized') {
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const c = new Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  const latencies: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < until) {
        const t = performance.now();
        if (kind === 'concurrent') {
          await c.query({ name: 'ins', text: 'insert into bench_commit_limit (payload) values ($1)', values: ['order'] });
        } else {
          await c.query('begin');
          await c.query({ name: 'lock', text: 'select pg_advisory_xact_lock(8675309)', values: [] });
          await c.query({ name: 'ins', text: 'insert into bench_commit_limit (payload) values ($1)', values: ['order'] });
          await c.query('commit');
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  await Promise.all(clients.map((c) => c.end()));
  const s = summarize(latencies);
  return { kind, clients: CLIENTS, perSecond: Math.round(latencies.length / SECONDS), p50: +s.p50.toFixed(1), p99: +s.p99.toFixed(1) };
}

async function main() {
  const pg = await startEmbeddedPostgres(join(DATA_DIR, 'pg'), PG_PORT);
  const admin = new Client({ connectionString: pg.url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ synchronous_commit: string }>('show synchronous_commit');
    await admin.query('create table if not exists bench_commit_limit (id bigserial primary key, payload text not null)');
    const results = [];
    for (const kind of ['concurrent', 'serialized', 'concurrent', 'serialized'] as const) results.push(await run(pg.url, kind));
    console.log(JSON.stringify({ synchronousCommit: rows[0].synchronous_commit, results }, null, 1));
  } finally {
    await admin.query('drop table if exists bench_commit_limit');
    await admin.end();
    await pg.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
