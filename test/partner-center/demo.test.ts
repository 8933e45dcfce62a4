import type { EntityManager } from '@mikro-orm/postgresql';
import { loadConfig } from '../../src/config';
import { Partner } from '../../src/partners/partner.entity';
import { Role } from '../../src/auth/roles';
import { DEMO_PARTNERS } from '../../src/seed/demo';
import { demoApp, withDemoPartnerCenter, type DemoPartnerCenter } from '../../src/seed/demo-partner-center';
import { aPartnerToken } from '../factories';
import { startGateway, TEST_SECRET, type TestGateway } from '../support/gateway';
import { CONNECT } from './support';

/** The demo never reaches the internet (DESIGN.md section 11): `npm start` brings its own Partner Center. */

const demoConfig = () => ({ ...loadConfig({ NODE_ENV: 'development', JWT_SECRET: TEST_SECRET }), seedDemo: true, workers: 1 });

describe('the demo Partner Center', () => {
  let demo: DemoPartnerCenter | undefined;
  let gw: TestGateway | undefined;
  afterAll(async () => {
    await gw?.stop();
    await demo?.sim.close();
  });

  it('is not started in production, without demo data, or when a Partner Center is configured', async () => {
    expect(await withDemoPartnerCenter({ ...demoConfig(), production: true }, {})).toBeUndefined();
    expect(await withDemoPartnerCenter({ ...demoConfig(), seedDemo: false }, {})).toBeUndefined();
    expect(await withDemoPartnerCenter(demoConfig(), { PARTNER_CENTER_URL: 'https://api.partnercenter.microsoft.com' })).toBeUndefined();
  });

  it('points the demo gateway at the bundled simulator, where each demo partner connects with the printed sandbox credentials', async () => {
    demo = await withDemoPartnerCenter(demoConfig(), {});
    expect(demo).toBeDefined();
    expect(demo!.config.partnerCenter.url).toBe(demo!.sim.url);
    expect(demo!.config.partnerCenter.tokenUrl).toBe(demo!.sim.tokenUrl);
    const direct = DEMO_PARTNERS.find((p) => p.type === 'DIRECT_BILL')!;
    expect(demo!.lines.join('\n')).toContain(demoApp(direct.key).clientSecret);

    gw = await startGateway({ seedDemo: true, partnerCenter: demo!.config.partnerCenter });
    const partner = await (gw.orm.em.fork() as EntityManager).findOneOrFail(Partner, { tenantId: direct.tenantId });
    const res = await gw.gql(CONNECT, { input: demoApp(direct.key) }, await aPartnerToken(partner, Role.ADMIN));
    expect(res.errors).toBeUndefined();
    expect(res.data.connectPartnerCenter.connection.status).toBe('CONNECTED');
    expect(demo!.sim.requests.some((r) => r.path === `/${direct.tenantId}/oauth2/token`)).toBe(true);
  });
});
