import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { adminUrl } from '../support/database';
import { EXPORT_APPLICATION_NAME } from '../../src/audit/audit.export';
import { BinaryRowLines } from '../../src/audit/audit.copy';
import { buildStory, type AuditWorld } from './fixture';

/** The export's COPY stream: rows cut anywhere by the socket's chunks, and a request aborted midway. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('BinaryRowLines', () => {
  let db: Client;
  let copy: Buffer;
  const VALUES = `values ('a', null, ''), ('Zoë 😀 名前', E'line\\nbreak', 'x'), (null, null, null), (repeat('long', 5000), ',"', E'\\\\.')`;
  beforeAll(async () => {
    db = new Client({ connectionString: adminUrl() });
    await db.connect();
    const chunks: Buffer[] = [];
    await pipeline(db.query(copyTo(`copy (select * from (${VALUES}) v(a, b, c)) to stdout (format binary)`)), async function* (source: AsyncIterable<Buffer>) {
      for await (const c of source) chunks.push(c);
    });
    copy = Buffer.concat(chunks);
  });
  afterAll(() => db?.end());

  const line = (r: (string | null)[]) => `${JSON.stringify(r)}\n`;
  const run = async (chunks: Buffer[], header = '') => {
    const out: Buffer[] = [];
    await pipeline(Readable.from(chunks), new BinaryRowLines(line, header), async function* (source: AsyncIterable<Buffer>) {
      for await (const c of source) out.push(c);
    });
    return Buffer.concat(out).toString('utf8');
  };

  it('gives every row, NULLs and unicode included, however the bytes are cut', async () => {
    const { rows } = await db.query({ text: `select * from (${VALUES}) v(a, b, c)`, rowMode: 'array' });
    const expected = `H\n${rows.map(line).join('')}`;
    expect(await run([copy], 'H\n')).toBe(expected);
    const bytes = Array.from({ length: copy.length }, (_, i) => copy.subarray(i, i + 1));
    expect(await run(bytes, 'H\n')).toBe(expected);
    for (const size of [2, 3, 7, 19, 20, 21, 1000]) {
      const cut = Array.from({ length: Math.ceil(copy.length / size) }, (_, i) => copy.subarray(i * size, (i + 1) * size));
      expect(await run(cut, 'H\n')).toBe(expected);
    }
  });

  it('fails on data cut short (no trailer) and on bytes that are not COPY binary', async () => {
    await expect(run([copy.subarray(0, copy.length - 2)])).rejects.toThrow(/trailer/);
    await expect(run([Buffer.from('at,event\n2026-01-01,CONFIRMED\n')])).rejects.toThrow(/not COPY binary/);
  });
});

describe('GET /exports/acceptances: abort', () => {
  let gw: TestGateway;
  let w: AuditWorld;
  let db: Client;
  beforeAll(async () => {
    gw = await startGateway();
    w = await buildStory(gw);
    db = new Client({ connectionString: gw.databaseUrl });
    await db.connect();
    // Far more than the socket buffers and the streams' high-water marks hold.
    await db.query(
      `insert into acceptance_corrections (id, acceptance_id, corrected_by_id, corrected_at, field, old_value, new_value)
       select gen_random_uuid(), a.id, $3, now() + make_interval(secs => g), 'email', 'old' || g || '@example.com', 'new' || g || '@example.com'
         from acceptances a, generate_series(1, 150000) g
        where a.customer_id = $1 and a.partner_id = $2 and a.status = 'ACTIVE'`,
      [w.second.id, w.provider.id, w.users.providerAgent],
    );
  });
  afterAll(async () => {
    await db?.end();
    await gw?.stop();
  });

  const exportConnections = async () =>
    (await db.query('select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = $1', [EXPORT_APPLICATION_NAME])).rows[0].n as number;

  /** Polls until the export's connection is gone (it may take a moment for the backend to notice). */
  async function untilNoExportConnection(): Promise<number> {
    let n = await exportConnections();
    for (let i = 0; i < 200 && n > 0; i++) {
      await sleep(50);
      n = await exportConnections();
    }
    return n;
  }

  it.each([
    ['platform admin, CSV written by PostgreSQL', 'csv', platformAdminToken],
    ['analyst, JSON Lines formatted and masked in the gateway', 'jsonl', analystToken],
  ] as const)('%s: a client that goes away midway ends the COPY and its connection', async (_name, format, token) => {
    const controller = new AbortController();
    const url = `${gw.url.replace(/\/graphql$/, '')}/exports/acceptances?${new URLSearchParams({ partnerId: w.provider.id, format })}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${await token()}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    // The stream waits on the client (backpressure): its connection is still there, mid-COPY.
    expect(await exportConnections()).toBe(1);
    controller.abort();
    await reader.cancel().catch(() => undefined);
    expect(await untilNoExportConnection()).toBe(0);
    // And the gateway serves the next export whole.
    const again = await fetch(`${url.replace(/format=\w+/, 'format=jsonl')}&from=2020-01-01&to=2020-01-02`, { headers: { authorization: `Bearer ${await token()}` } });
    expect(again.status).toBe(200);
    expect(await again.text()).toBe('');
  });
});
