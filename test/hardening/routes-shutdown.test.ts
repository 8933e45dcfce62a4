import { request, type ClientRequest } from 'node:http';
import { Client } from 'pg';
import { aCustomer, anAcceptance, anAgreement, aPartner, aPartnerToken } from '../factories';
import { platformAdminToken } from '../support/gateway';
import { freshDatabase } from '../support/database';
import { startLoggedGateway, type HardeningGateway } from './support';
import { Role } from '../../src/auth/roles';
import { EXPORT_APPLICATION_NAME } from '../../src/audit/audit.export';

/**
 * The gateway's stop (what SIGTERM runs, src/main.ts) with an export whose client never
 * reads and an upload that trickles: stop ends both within the shutdown grace (the HTTP
 * drain's 10 s), and leaves no connection of the gateway behind.
 */

jest.setTimeout(60_000);

it('stop ends an export that waits on its client and a trickling upload, and leaves no connection behind', async () => {
  const db = await freshDatabase();
  let gw: HardeningGateway | undefined = await startLoggedGateway({ auditExport: { maxConcurrent: 8, maxPerPartner: 2, writeTimeoutMs: 3_600_000 } }, {}, db.url);
  const watcher = new Client({ connectionString: db.url });
  await watcher.connect();
  const held: ClientRequest[] = [];
  try {
    const partner = await aPartner(gw);
    const customer = await aCustomer(gw, { partners: [{ partner }] });
    const agent = await aPartnerToken(partner, Role.AGENT);
    // An export far larger than the socket buffers: many corrections of one acceptance.
    const acceptance = await anAcceptance(gw, { customer, partner, template: await anAgreement(gw) });
    await watcher.query(
      `insert into acceptance_corrections (id, acceptance_id, corrected_by_id, corrected_at, field, old_value, new_value)
       select gen_random_uuid(), a.id, a.confirmed_by_id, now() + make_interval(secs => g), 'email', 'old' || g || '@example.com', 'new' || g || '@example.com'
         from acceptances a, generate_series(1, 100000) g where a.id = $1`,
      [acceptance.id],
    );
    const base = `http://127.0.0.1:${gw.port}`;
    const admin = await platformAdminToken();
    const exportStatus = await new Promise<number>((resolve) => {
      const req = request(`${base}/exports/acceptances?partnerId=${partner.id}&format=csv`, { headers: { authorization: `Bearer ${admin}` } }, (res) => {
        res.pause();
        resolve(res.statusCode!);
      });
      req.on('error', () => undefined);
      held.push(req);
      req.end();
    });
    expect(exportStatus).toBe(200);
    const upload = request(`${base}/imports/acceptances`, { method: 'POST', headers: { 'content-type': 'text/csv', 'transfer-encoding': 'chunked', authorization: `Bearer ${agent}` } });
    upload.on('error', () => undefined);
    held.push(upload);
    upload.write('customerTenantId,firstName,lastName,email,phoneNumber,dateAgreed,templateId\n');

    const connections = async () =>
      (await watcher.query('select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [db.name])).rows[0].n as number;
    const exports = async () =>
      (await watcher.query('select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = $2', [db.name, EXPORT_APPLICATION_NAME])).rows[0].n as number;
    expect(await exports()).toBe(1);

    await gw.stop();
    gw = undefined;
    let left = await connections();
    for (let i = 0; i < 100 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = await connections();
    }
    expect(left).toBe(0);
  } finally {
    for (const r of held) r.destroy();
    await gw?.stop().catch(() => undefined);
    await watcher.end();
    await db.drop();
  }
});
