import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { freePort } from '../hardening/child-postgres';

jest.setTimeout(120_000);

/** The gateway's own PostgreSQL (no DATABASE_URL): what a new cluster orders and folds by, whatever the machine's locale. */
describe('the embedded PostgreSQL of a fresh machine', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let db: Client | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cg-embedded-locale-'));
    chmodSync(dir, 0o755); // started by root, the database runs as its own user, which must reach the folder
    // The plainest environment: left to initdb, it made a SQL_ASCII cluster compared byte by byte.
    const env = { ...process.env, LANG: 'C', LC_ALL: 'C' };
    child = spawn(process.execPath, ['-r', '@swc-node/register', join(__dirname, 'embedded-child.ts'), join(dir, 'pg'), String(await freePort())], {
      env,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const [line] = await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next().then((r) => [r.value as string | undefined]);
    if (!line) throw new Error('the embedded PostgreSQL did not start');
    db = new Client({ connectionString: (JSON.parse(line) as { url: string }).url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.stdin!.end();
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("is UTF-8 with PostgreSQL's builtin C.UTF-8 collation, under LANG=C too", async () => {
    const { rows } = await db!.query(`select datlocprovider, datlocale, pg_encoding_to_char(encoding) as encoding from pg_database where datname = current_database()`);
    expect(rows).toEqual([{ datlocprovider: 'b', datlocale: 'C.UTF-8', encoding: 'UTF8' }]);
  });

  it('orders text by code point and folds case in Unicode (names of every country sort and search alike)', async () => {
    const { rows } = await db!.query(`select array_agg(x order by x) as sorted, lower('ÄÉÎ MÜLLER GmbH') as folded from unnest(array['é', 'a', 'Z', 'Ä', 'b']) x`);
    expect(rows).toEqual([{ sorted: ['Z', 'a', 'b', 'Ä', 'é'], folded: 'äéî müller gmbh' }]);
  });
});
