import { networkInterfaces } from 'node:os';
import { request } from 'node:http';
import { startGateway, type TestGateway } from '../support/gateway';
import { loadConfig } from '../../src/config';

/** Development's demo logins mint tokens for this machine's clients only, and development listens on loopback. */

/** An address of this machine that is not loopback: a request to it arrives from that address. */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)!.address;

/** GET to `host` over plain http, answering the status and body. */
function get(host: string, port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let gw: TestGateway;
let sub: string;
beforeAll(async () => {
  // Every interface, so a request can arrive from an address that is not loopback.
  gw = await startGateway({ seedDemo: true, host: '0.0.0.0' });
  sub = gw.demo!.users[0].sub;
});
afterAll(() => gw?.stop());

describe('/graphiql/demo-token', () => {
  it('mints a token for a loopback client', async () => {
    const res = await get('127.0.0.1', gw.port, `/graphiql/demo-token?sub=${encodeURIComponent(sub)}`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).token).toMatch(/^ey/);
  });

  it(`refuses a client from another address (${outsideAddress}) with 403, and lists no demo users on its page`, async () => {
    const res = await get(outsideAddress, gw.port, `/graphiql/demo-token?sub=${encodeURIComponent(sub)}`);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).errors[0].extensions.code).toBe('FORBIDDEN');
    const page = await get(outsideAddress, gw.port, '/graphiql');
    expect(page.status).toBe(200);
    expect(page.body).not.toContain(sub);
    expect((await get('127.0.0.1', gw.port, '/graphiql')).body).toContain(sub);
  });

  it('refuses a request relayed by a proxy on this machine', async () => {
    const res = await get('127.0.0.1', gw.port, `/graphiql/demo-token?sub=${encodeURIComponent(sub)}`, { 'x-forwarded-for': '203.0.113.9' });
    expect(res.status).toBe(403);
  });
});

describe('the listening address', () => {
  it('is 127.0.0.1 in development unless HOST says otherwise; production listens on every interface unless HOST says', () => {
    expect(loadConfig({ NODE_ENV: 'development', JWT_SECRET: 'x'.repeat(32) }).host).toBe('127.0.0.1');
    expect(loadConfig({ NODE_ENV: 'development', JWT_SECRET: 'x'.repeat(32), HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).host).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), HOST: '10.0.0.5' }).host).toBe('10.0.0.5');
  });

  it('a development gateway answers on loopback and not on another address', async () => {
    const local = await startGateway();
    try {
      expect((await get('127.0.0.1', local.port, '/healthz')).status).toBe(200);
      await expect(get(outsideAddress, local.port, '/healthz')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await local.stop();
    }
  });

  it('a gateway on one address named by HOST answers only there, and its url names it', async () => {
    const one = await startGateway({ host: outsideAddress });
    try {
      expect(one.url).toBe(`http://${outsideAddress}:${one.port}/graphql`);
      expect((await get(outsideAddress, one.port, '/healthz')).status).toBe(200);
      await expect(get('127.0.0.1', one.port, '/healthz')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await one.stop();
    }
  });
});
