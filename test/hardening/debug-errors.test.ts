import { loadConfig } from '../../src/config';
import { startGateway, type TestGateway } from '../support/gateway';

const SECRET = 'x'.repeat(32);
const QUERY = '{ partners(first: 1) { totalCount } }';

/** Development answers carry a stack trace only when asked for, never in production. */
describe('stack traces in error responses', () => {
  const gateways: TestGateway[] = [];
  afterAll(async () => {
    for (const gw of gateways) await gw.stop();
  });

  it('DEBUG_ERRORS is off by default, on only when true, and never in production', () => {
    expect(loadConfig({ JWT_SECRET: SECRET }).debugErrors).toBe(false);
    expect(loadConfig({ JWT_SECRET: SECRET, DEBUG_ERRORS: 'true' }).debugErrors).toBe(true);
    expect(loadConfig({ JWT_SECRET: SECRET, DEBUG_ERRORS: 'true', NODE_ENV: 'production' }).debugErrors).toBe(false);
  });

  it('an UNAUTHENTICATED answer in development has no stacktrace unless DEBUG_ERRORS=true', async () => {
    const plain = await startGateway({ production: false });
    gateways.push(plain);
    const quiet = await plain.gql(QUERY);
    expect(quiet.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(quiet.errors?.[0].extensions).not.toHaveProperty('stacktrace');

    const debugging = await startGateway({ production: false, debugErrors: true });
    gateways.push(debugging);
    const verbose = await debugging.gql(QUERY);
    expect(verbose.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(verbose.errors?.[0].extensions?.stacktrace).toEqual(expect.arrayContaining([expect.stringContaining('UnauthenticatedError')]));
  });
});
