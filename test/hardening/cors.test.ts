import { loadConfig } from '../../src/config';
import { originAllowed } from '../../src/server/cors';
import { startGateway, TEST_SECRET, type TestGateway } from '../support/gateway';

/** A frontend's dev server on any localhost port may call a development gateway; production allows only CORS_ORIGINS. */
describe('CORS in development', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw?.stop());

  const preflight = (origin: string) =>
    fetch(gw.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });

  it('a preflight from http://localhost on any port is allowed without configuration', async () => {
    for (const origin of ['http://localhost:5173', 'http://localhost:3000', 'http://127.0.0.1:8080']) {
      const res = await preflight(origin);
      expect([origin, res.status, res.headers.get('access-control-allow-origin')]).toEqual([origin, 204, origin]);
    }
  });

  it('other origins stay refused with 403 until CORS_ORIGINS names them', async () => {
    for (const origin of ['https://portal.example.com', 'http://localhost.evil.example:5173', 'https://localhost:5173']) {
      expect([origin, (await preflight(origin)).status]).toEqual([origin, 403]);
    }
  });

  it('CORS_ORIGINS entries: exact, any origin, any port; production adds no localhost', () => {
    expect(originAllowed('https://portal.example.com', ['https://portal.example.com'])).toBe(true);
    expect(originAllowed('https://portal.example.com:8443', ['https://portal.example.com'])).toBe(false);
    expect(originAllowed('https://portal.example.com:8443', ['https://portal.example.com:*'])).toBe(true);
    expect(originAllowed('https://portal.example.com.evil:8443', ['https://portal.example.com:*'])).toBe(false);
    expect(originAllowed('https://anything.example', ['*'])).toBe(true);
    expect(loadConfig({ JWT_SECRET: TEST_SECRET }).corsOrigins).toEqual(['http://localhost:*', 'http://127.0.0.1:*']);
    expect(loadConfig({ JWT_SECRET: TEST_SECRET, NODE_ENV: 'production', CORS_ORIGINS: 'https://portal.example.com' }).corsOrigins).toEqual(['https://portal.example.com']);
  });
});
