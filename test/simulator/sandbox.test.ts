import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PARTNER_CENTER_RESOURCE } from '../../simulator';

/** `npm run partner-center:sandbox`: the simulator with a demo partner app, as a developer starts it. */
const ROOT = join(__dirname, '..', '..');
let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGTERM');
});

/** Starts the script as package.json runs it (PORT=0: a free port) and answers what it printed once ready. */
function startSandbox(): Promise<string> {
  const pkg = require(join(ROOT, 'package.json')) as { scripts: Record<string, string> };
  const [node, ...args] = pkg.scripts['partner-center:sandbox'].split(' ');
  expect(node).toBe('node');
  child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (c) => {
      out += c;
      if (out.includes('refreshToken')) resolve(out);
    });
    child!.on('exit', (code) => reject(new Error(`sandbox exited (${code}): ${out}`)));
  });
}

describe('npm run partner-center:sandbox', () => {
  it('prints the URL, the token URL and demo credentials that get a token', async () => {
    const out = await startSandbox();
    const url = /PARTNER_CENTER_URL=(\S+)/.exec(out)![1];
    const tokenUrl = /PARTNER_CENTER_TOKEN_URL=(\S+)/.exec(out)![1];
    expect(tokenUrl).toBe(`${url}/{tenantId}/oauth2/token`);
    const field = (name: string) => new RegExp(`${name}\\s+(\\S+)`).exec(out)![1];
    const res = await fetch(tokenUrl.replace('{tenantId}', field('tenantId')), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        resource: PARTNER_CENTER_RESOURCE,
        grant_type: 'refresh_token',
        refresh_token: field('refreshToken'),
        client_id: field('clientId'),
        client_secret: field('clientSecret'),
      }).toString(),
    });
    expect(res.status).toBe(200);
    const agreements = await fetch(`${url}/v1/agreements?agreementType=*`, { headers: { authorization: `Bearer ${((await res.json()) as { access_token: string }).access_token}` } });
    expect(((await agreements.json()) as { totalCount: number }).totalCount).toBe(2);
  });
});
