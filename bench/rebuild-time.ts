/**
 * `BENCH_SCALE=100k node -r reflect-metadata -r @swc-node/register bench/rebuild-time.ts [runs]`:
 * times the derived tables' rebuilds (DERIVED_REBUILDS) on the kept scale world (prepared
 * as `npm run bench:seed` does), each `runs` times (default 1), wall time and the server's CPU.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { initOrm } from '../src/db/orm';
import { entities } from '../src/features';
import { freePort } from './lib';
import { DERIVED_REBUILDS, parseScale, prepareScaleWorld } from './scale-seed';

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 1);
  const prepared = await prepareScaleWorld({ scale: parseScale(process.env.BENCH_SCALE), port: await freePort() });
  const orm = await initOrm(prepared.url, entities);
  try {
    for (let i = 0; i < runs; i++) {
      for (const rebuild of DERIVED_REBUILDS) {
        const started = Date.now();
        await rebuild.run(orm.em.fork() as unknown as EntityManager);
        console.log(`rebuild ${rebuild.name}: ${Date.now() - started} ms`);
      }
    }
  } finally {
    await orm.close();
    await prepared.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
