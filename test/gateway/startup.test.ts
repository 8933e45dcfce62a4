import { createServer, type Server } from 'node:net';
import { Client } from 'pg';
import { freshDatabase } from '../support/database';
import { startGateway, type TestGateway } from '../support/gateway';

/** DESIGN.md section 7: several instances on one database, migrations and seeding under an advisory lock. */
describe('start-up', () => {
  it('several gateway instances starting at once on one empty database migrate and seed it exactly once', async () => {
    const db = await freshDatabase();
    const gateways: TestGateway[] = [];
    try {
      const starts = await Promise.allSettled([1, 2, 3].map(() => startGateway({ seedDemo: true }, db.url)));
      for (const s of starts) if (s.status === 'fulfilled') gateways.push(s.value);
      expect(starts.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);

      const sql = (q: string) => gateways[0].orm.em.getConnection().execute(q);
      const migrations = await sql('select name, count(*)::int as n from mikro_orm_migrations group by name having count(*) > 1');
      expect(migrations).toEqual([]);
      expect(await sql('select count(*)::int as n from partners')).toEqual([{ n: 3 }]);
      expect(await sql("select count(*)::int as n from gateway_settings where key = 'demo_seeded_at'")).toEqual([{ n: 1 }]);
      // Every instance answers.
      for (const gw of gateways) expect((await fetch(`http://127.0.0.1:${gw.port}/readyz`)).status).toBe(200);
    } finally {
      await Promise.all(gateways.map((g) => g.stop().catch(() => undefined)));
      await db.drop();
    }
  });

  it('demo seeding never runs twice: a restart on a seeded database adds nothing', async () => {
    const db = await freshDatabase();
    try {
      const first = await startGateway({ seedDemo: true }, db.url);
      expect(first.demo?.seededNow).toBe(true);
      await first.stop();
      const second = await startGateway({ seedDemo: true }, db.url);
      expect(second.demo?.seededNow).toBe(false);
      expect(second.demo?.users.length).toBe(11);
      expect(await second.orm.em.getConnection().execute('select count(*)::int as n from customers')).toEqual([{ n: 6 }]);
      await second.stop();
    } finally {
      await db.drop();
    }
  });

  it('a start that fails (port taken) leaves no connection to the database behind', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const db = await freshDatabase();
    try {
      await expect(startGateway({ port }, db.url)).rejects.toThrow(/EADDRINUSE/);
      const admin = new Client({ connectionString: process.env.TEST_ADMIN_DATABASE_URL ?? process.env.DATABASE_URL });
      await admin.connect();
      // The pool closes asynchronously after stop; give the server a moment to notice.
      let open = -1;
      for (let i = 0; i < 20 && open !== 0; i++) {
        open = (await admin.query('select count(*)::int as n from pg_stat_activity where datname = $1', [db.name])).rows[0].n;
        if (open) await new Promise((r) => setTimeout(r, 100));
      }
      await admin.end();
      expect(open).toBe(0);
    } finally {
      blocker.close();
      await db.drop();
    }
  });
});
