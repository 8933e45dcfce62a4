/**
 * `npm run bench:seed` (BENCH_SCALE=10k|100k|1m, BENCH_DATA_ROOT, BENCH_SEED_DAY): seeds the
 * scale's world into its kept data directory, or reuses it (applying new migrations), prints
 * what it did, the step times, the counts and the data directory's size, and stops PostgreSQL.
 */
import { execFileSync } from 'node:child_process';
import { freePort } from './lib';
import { parseScale, prepareScaleWorld } from './scale-seed';

async function main(): Promise<void> {
  const scale = parseScale(process.env.BENCH_SCALE);
  const started = Date.now();
  const prepared = await prepareScaleWorld({ scale, port: await freePort(), seedDay: process.env.BENCH_SEED_DAY });
  const total = Date.now() - started;
  try {
    const { world } = prepared;
    console.log(`\n${prepared.how} ${scale} customers in ${prepared.dir} (seed day ${world.seedDay}) in ${total} ms`);
    console.log('steps (ms):', { ...prepared.steps, ...(prepared.how === 'seeded' ? world.steps : {}) });
    console.log('partners:', world.size);
    console.log('counts:', world.counts);
    console.log('relationship states:', world.states);
    console.log('samples:', world.samples);
    console.log('disk:', execFileSync('du', ['-sh', prepared.dir], { encoding: 'utf8' }).trim());
  } finally {
    await prepared.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
