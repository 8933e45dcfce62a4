import { aCustomer, anAgreement, aPartner, aPartnerToken } from '../factories';
import { platformAdminToken } from '../support/gateway';
import { startLoggedGateway, type HardeningGateway } from './support';
import { ChildPostgres } from './child-postgres';
import { Role } from '../../src/auth/roles';
import type { Customer } from '../../src/customers/customer.entity';
import type { Partner } from '../../src/partners/partner.entity';

/**
 * The export and the import with the database down (the test's own PostgreSQL, in a child
 * process, stopped): 503 SERVICE_UNAVAILABLE with Retry-After, as GraphQL answers, never a
 * 500 or a reset connection; afterwards both work again without a restart.
 */

jest.setTimeout(60_000);

const HEADER = 'customerTenantId,firstName,lastName,email,phoneNumber,dateAgreed,templateId';

let pg: ChildPostgres;
let gw: HardeningGateway;
let partner: Partner;
let customer: Customer;
let agent: string;
let base: string;

beforeAll(async () => {
  const started = await ChildPostgres.start();
  pg = started.pg;
  gw = await startLoggedGateway({}, {}, started.url);
  base = `http://127.0.0.1:${gw.port}`;
  partner = await aPartner(gw);
  customer = await aCustomer(gw, { partners: [{ partner }] });
  await anAgreement(gw, { templateId: 'mca-outage', effectiveFrom: '2020-01-01' });
  agent = await aPartnerToken(partner, Role.AGENT);
});
afterAll(async () => {
  await gw?.stop();
  await pg?.dispose();
});

const exportAs = (token: string) => fetch(`${base}/exports/acceptances?partnerId=${partner.id}&format=csv`, { headers: { authorization: `Bearer ${token}` } });
const importAs = (token: string) =>
  fetch(`${base}/imports/acceptances`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv', authorization: `Bearer ${token}` },
    body: `${HEADER}\n${customer.tenantId},Ada,Lovelace,ada@example.com,,2024-03-01,mca-outage\n`,
  });

async function expectUnavailable(res: Response): Promise<void> {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('5');
  expect(((await res.json()) as any).errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
}

describe('database down', () => {
  it('export and import answer 503 SERVICE_UNAVAILABLE (callers seen before and new ones), then work again', async () => {
    // Seen before: the viewer is known without the database.
    expect((await exportAs(agent)).status).toBe(200);
    expect((await importAs(agent)).status).toBe(200);
    const admin = await platformAdminToken();
    const newcomer = await aPartnerToken(partner, Role.AGENT, 'outage-newcomer');

    await pg.stop();
    await expectUnavailable(await exportAs(agent));
    await expectUnavailable(await importAs(agent));
    // Whose viewer (or partner check) needs the database.
    await expectUnavailable(await exportAs(newcomer));
    await expectUnavailable(await importAs(newcomer));
    await expectUnavailable(await exportAs(admin));
    expect(gw.log.lines.filter((l) => l.msg === 'request failed')).toEqual([]);

    await pg.restart();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await exportAs(agent)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect((await importAs(newcomer)).status).toBe(200);
  });
});
