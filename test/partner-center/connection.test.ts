import { Writable } from 'node:stream';
import pino from 'pino';
import { aCustomer, anAgreement, aPartner, aPartnerToken } from '../factories';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { exchangesOf } from '../../src/partner-center/exchange.queries';
import { syncEngine } from '../../src/partner-center/sync.engine';
import { refreshIdleGrants } from '../../src/partner-center/refresh';
import { startPartnerCenterSimulator, type PartnerCenterSimulator } from '../../simulator';
import { analystToken, platformAdminToken, type TestGateway } from '../support/gateway';
import { Role } from '../../src/auth/roles';
import { CredentialCipher } from '../../src/partner-center/credentials';
import { aConnectedPartner, CONFIRM, CONNECT, CREDENTIALS_KEY, eventually, startPcGateway, SYNC_OF, tokenRequestsOf } from './support';

let fake: PartnerCenterSimulator;
let gw: TestGateway;
/** Every line the gateway logs, at every level. */
const logLines: string[] = [];
/** Every GraphQL answer the tests received. */
const answers: string[] = [];

beforeAll(async () => {
  fake = await startPartnerCenterSimulator();
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  gw = await startPcGateway(fake, { log: pino({ level: 'trace' }, sink) });
  const gql = gw.gql;
  gw.gql = async (query, variables, token) => {
    const res = await gql(query, variables, token);
    answers.push(JSON.stringify(res));
    return res;
  };
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

const STATUS = `query Q($partnerId: ID) { partnerCenterConnection(partnerId: $partnerId) { status clientId connectedAt lastTokenAt lastError } }`;

describe('connecting a partner to Partner Center', () => {
  test('connecting verifies the credentials with one token request of the documented (v1, resource=) form, and answers no secret', async () => {
    const p = await aConnectedPartner(gw, fake, { connect: false });
    const before = tokenRequestsOf(fake).length;
    const res = await gw.gql(CONNECT, { input: p.creds }, p.admin);
    expect(res.errors).toBeUndefined();
    expect(res.data.connectPartnerCenter.connection).toMatchObject({ partner: { id: p.partner.id }, clientId: p.creds.clientId, status: 'CONNECTED', lastError: null });
    expect(res.data.connectPartnerCenter.connection.lastTokenAt).toEqual(expect.any(String));
    const requests = tokenRequestsOf(fake).slice(before);
    expect(requests).toHaveLength(1);
    expect(requests[0].path).toBe(`/${p.partner.tenantId}/oauth2/token`);
    expect(requests[0].headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(requests[0].body).toEqual({
      resource: 'https://api.partnercenter.microsoft.com',
      grant_type: 'refresh_token',
      refresh_token: p.creds.refreshToken,
      client_id: p.creds.clientId,
      client_secret: p.creds.clientSecret,
    });
    const log = await exchangesOf(gw.orm.em.fork() as any, { partnerId: p.partner.id });
    expect(log.map((x) => [x.operation, x.method, x.path, x.httpStatus, x.outcome])).toEqual([['token', 'POST', `/${p.partner.tenantId}/oauth2/token`, 200, 'ok']]);
  });

  test('secrets are encrypted at rest (AES-256-GCM, bound to the partner)', async () => {
    const p = await aConnectedPartner(gw, fake);
    const [row] = await gw.orm.em.fork().getConnection().execute('select * from partner_center_connections where partner_id = ?', [p.partner.id]);
    expect(JSON.stringify(row)).not.toContain(p.creds.clientSecret);
    expect(JSON.stringify(row)).not.toContain(p.creds.refreshToken);
    const cipher = new CredentialCipher(CREDENTIALS_KEY);
    expect(cipher.decrypt(row.client_secret_enc, p.partner.id, 'clientSecret')).toBe(p.creds.clientSecret);
    // The refresh token the connection check's answer rotated to (each use answers a new one).
    expect(cipher.decrypt(row.refresh_token_enc, p.partner.id, 'refreshToken')).toMatch(/^sim-rt-/);
    expect(() => cipher.decrypt(row.client_secret_enc, p.partner.id, 'refreshToken')).toThrow(/cannot be decrypted/);
  });

  test('credentials Partner Center refuses are BAD_USER_INPUT, and nothing is stored', async () => {
    const p = await aConnectedPartner(gw, fake, { connect: false });
    const badSecret = await gw.gql(CONNECT, { input: { ...p.creds, clientSecret: 'WRONG-SECRET-value' } }, p.admin);
    expect(badSecret.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'clientSecret' });
    const badRefresh = await gw.gql(CONNECT, { input: { ...p.creds, refreshToken: 'WRONG-REFRESH-value' } }, p.admin);
    expect(badRefresh.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'refreshToken' });
    expect(badRefresh.errors?.[0].message).toContain('invalid_grant');
    const blank = await gw.gql(CONNECT, { input: { ...p.creds, clientId: '  ' } }, p.admin);
    expect(blank.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'clientId' });
    expect((await gw.gql(STATUS, {}, p.admin)).data.partnerCenterConnection).toMatchObject({ status: 'DISCONNECTED', clientId: null });
  });

  test('without CREDENTIALS_KEY the gateway refuses to store credentials', async () => {
    const bare = await startPcGateway(fake, { pc: { credentialsKey: undefined } });
    try {
      const partner = await aPartner(bare);
      const before = tokenRequestsOf(fake).length;
      const res = await bare.gql(CONNECT, { input: { clientId: 'c', clientSecret: 'SECRET-no-key', refreshToken: 'REFRESH-no-key' } }, await aPartnerToken(partner, Role.ADMIN));
      expect(res.errors?.[0].extensions?.code).toBe('NOT_APPLICABLE');
      expect(res.errors?.[0].message).toContain('CREDENTIALS_KEY');
      expect(tokenRequestsOf(fake).length).toBe(before);
      expect(await bare.orm.em.fork().getConnection().execute('select 1 from partner_center_connections')).toHaveLength(0);
    } finally {
      await bare.stop();
    }
  });

  test("who may connect: the partner's ADMIN or a platform admin naming the partner; an AGENT is FORBIDDEN, another partner's id NOT_FOUND", async () => {
    const p = await aConnectedPartner(gw, fake, { connect: false });
    const other = await aConnectedPartner(gw, fake, { connect: false });
    expect((await gw.gql(CONNECT, { input: p.creds }, p.agent)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await gw.gql(CONNECT, { input: p.creds }, await analystToken())).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await gw.gql(CONNECT, { input: { ...p.creds, partnerId: p.partner.id } }, other.admin)).errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'partnerId' });
    expect((await gw.gql(CONNECT, { input: p.creds }, await platformAdminToken())).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'partnerId' });
    const byAdmin = await gw.gql(CONNECT, { input: { ...p.creds, partnerId: p.partner.id } }, await platformAdminToken());
    expect(byAdmin.data.connectPartnerCenter.connection.status).toBe('CONNECTED');
    const disconnect = `mutation D($partnerId: ID) { disconnectPartnerCenter(partnerId: $partnerId) { connection { status } } }`;
    expect((await gw.gql(disconnect, { partnerId: p.partner.id }, other.admin)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await gw.gql(disconnect, {}, p.agent)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await gw.gql(disconnect, { partnerId: p.partner.id }, await platformAdminToken())).data.disconnectPartnerCenter.connection.status).toBe('DISCONNECTED');
  });

  test('a refresh token returned by the token endpoint replaces the stored one, encrypted', async () => {
    const p = await aConnectedPartner(gw, fake);
    const [row] = await gw.orm.em.fork().getConnection().execute('select refresh_token_enc from partner_center_connections where partner_id = ?', [p.partner.id]);
    const stored = new CredentialCipher(CREDENTIALS_KEY).decrypt(row.refresh_token_enc, p.partner.id, 'refreshToken');
    expect(stored).not.toBe(p.creds.refreshToken);
    // The simulator answered it: the one its token endpoint issued.
    const [answered] = tokenRequestsOf(fake, p.partner.tenantId);
    expect(answered.status).toBe(200);
  });

  test('a dead grant (invalid_grant) is NEEDS_REAUTHORIZATION, with the reason, its delivery PAUSED with no attempt spent', async () => {
    const p = await aConnectedPartner(gw, fake);
    const template = await anAgreement(gw, { templateId: `local-${Date.now()}`, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2020-01-01' });
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    fake.revokeGrant(p.partner.tenantId, 'AADSTS700082');
    fake.revokeAccessTokens(p.partner.tenantId);
    syncEngine(gw.services).forget(p.partner.id);
    await gw.gql(CONFIRM, { input: { customerId: customer.id, templateId: template.templateId, dateAgreed: '2024-05-01', contact: { firstName: 'A', lastName: 'B', email: 'a@example.com' } } }, p.agent);
    const sync = await eventually(async () => (await gw.gql(SYNC_OF, { id: customer.id }, p.agent)).data.customer.acceptanceHistory[0].sync, (s) => s.status === 'PAUSED');
    expect(sync).toMatchObject({ status: 'PAUSED', attempts: 0 });
    const status = (await gw.gql(STATUS, {}, p.admin)).data.partnerCenterConnection;
    expect(status.status).toBe('NEEDS_REAUTHORIZATION');
    expect(status.lastError).toContain('AADSTS700082');
  });

  test('the app-only token comes from the same stored credentials by client credentials, cached apart from the delegated one', async () => {
    const p = await aConnectedPartner(gw, fake);
    const engine = syncEngine(gw.services);
    const before = tokenRequestsOf(fake, p.partner.tenantId).length;
    const answer = await engine.upstream.request({ partnerId: p.partner.id, operation: 'attestation_status', method: 'GET', path: '/v1/attestations/enhanced/00000000-0000-4000-8000-000000000000', tokenKind: 'app-only' });
    expect(answer.status).toBe(404);
    await engine.upstream.request({ partnerId: p.partner.id, operation: 'attestation_status', method: 'GET', path: '/v1/attestations/enhanced/00000000-0000-4000-8000-000000000001', tokenKind: 'app-only' });
    const requests = tokenRequestsOf(fake, p.partner.tenantId).slice(before);
    expect(requests).toHaveLength(1);
    expect(requests[0].body).toEqual({ resource: 'https://api.partnercenter.microsoft.com', grant_type: 'client_credentials', client_id: p.creds.clientId, client_secret: p.creds.clientSecret });
    // A delegated call still uses the delegated token cached by the connection check.
    const direct = await engine.upstream.request({ partnerId: p.partner.id, operation: 'direct_status', method: 'GET', path: `/v1/customers/${p.partner.tenantId}/directSignedMicrosoftCustomerAgreementStatus`, tokenKind: 'delegated' });
    expect(direct).toMatchObject({ status: 200, ok: true, body: { isSigned: false } });
    expect(tokenRequestsOf(fake, p.partner.tenantId).slice(before)).toHaveLength(1);
  });

  test('refresh tokens are used often enough not to expire idle: the sweep refreshes every connection idle for N days and stores the rotated token encrypted', async () => {
    const idle = await aConnectedPartner(gw, fake);
    const fresh = await aConnectedPartner(gw, fake);
    const dead = await aConnectedPartner(gw, fake);
    const conn = gw.orm.em.fork().getConnection();
    await conn.execute(`update partner_center_connections set delegated_token_at = now() - interval '8 days' where partner_id in (?, ?)`, [idle.partner.id, dead.partner.id]);
    await conn.execute(`update partner_center_connections set reauthorization_required_at = now() where partner_id = ?`, [dead.partner.id]);
    const [before] = await conn.execute('select refresh_token_enc from partner_center_connections where partner_id = ?', [idle.partner.id]);
    const counts = () => [idle, fresh, dead].map((p) => tokenRequestsOf(fake, p.partner.tenantId).length);
    const was = counts();
    const result = await refreshIdleGrants(syncEngine(gw.services), gw.orm.em.fork() as any, 7);
    expect(result).toMatchObject({ refreshed: 1, failed: 0 });
    expect(counts()).toEqual([was[0] + 1, was[1], was[2]]);
    const request = tokenRequestsOf(fake, idle.partner.tenantId).at(-1)!;
    expect(request.body.grant_type).toBe('refresh_token');
    const [after] = await conn.execute('select refresh_token_enc, delegated_token_at from partner_center_connections where partner_id = ?', [idle.partner.id]);
    expect(after.refresh_token_enc).not.toBe(before.refresh_token_enc);
    expect(Date.now() - new Date(after.delegated_token_at).getTime()).toBeLessThan(60_000);
    const cipher = new CredentialCipher(CREDENTIALS_KEY);
    expect(cipher.decrypt(after.refresh_token_enc, idle.partner.id, 'refreshToken')).not.toBe(cipher.decrypt(before.refresh_token_enc, idle.partner.id, 'refreshToken'));
  });

  test('importAgreementTemplates asks for every type and upserts by templateId (link → displayUri, GLOBAL), reading type or agreementType, versionRank or VersionRank; running it twice changes nothing', async () => {
    const p = await aConnectedPartner(gw, fake);
    fake.templates = [
      { templateId: 'pc-mca-1', agreementType: 'MicrosoftCloudAgreement', agreementLink: 'https://aka.ms/mca-1', versionRank: 1 },
      // The resource table's spelling (PARTNER-CENTER.md section 2).
      { templateId: 'pc-mca-2', type: 'MicrosoftCustomerAgreement', agreementLink: 'https://aka.ms/mca-2', VersionRank: 2 } as any,
    ];
    const M = `mutation ImportAgreementTemplates($partnerId: ID!) { importAgreementTemplates(partnerId: $partnerId) { imported updated templates { templateId versionRank displayUri country type } } }`;
    const admin = await platformAdminToken();
    const first = await gw.gql(M, { partnerId: p.partner.id }, admin);
    expect(first.errors).toBeUndefined();
    expect(first.data.importAgreementTemplates).toMatchObject({ imported: 2, updated: 0 });
    expect(first.data.importAgreementTemplates.templates).toEqual([
      { templateId: 'pc-mca-1', versionRank: 1, displayUri: 'https://aka.ms/mca-1', country: 'GLOBAL', type: 'MICROSOFT_CLOUD_AGREEMENT' },
      { templateId: 'pc-mca-2', versionRank: 2, displayUri: 'https://aka.ms/mca-2', country: 'GLOBAL', type: 'MICROSOFT_CUSTOMER_AGREEMENT' },
    ]);
    const metadata = fake.requests.filter((r) => r.path === '/v1/agreements').at(-1)!;
    expect(metadata.query.get('agreementType')).toBe('*');
    expect(metadata.headers['ms-contract-version']).toBe('v1');
    expect((await gw.gql(M, { partnerId: p.partner.id }, admin)).data.importAgreementTemplates).toMatchObject({ imported: 0, updated: 0 });
    fake.templates[1].agreementLink = 'https://aka.ms/mca-2b';
    expect((await gw.gql(M, { partnerId: p.partner.id }, admin)).data.importAgreementTemplates).toMatchObject({ imported: 0, updated: 1 });
    expect((await gw.gql(M, { partnerId: p.partner.id }, p.admin)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const unconnected = await aPartner(gw);
    expect((await gw.gql(M, { partnerId: unconnected.id }, admin)).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'partnerId' });
  });

  test('importAgreementTemplates: Partner Center refusing access (401 after one refresh, 900421, a dead grant) is a clear FORBIDDEN with the upstream code, not SERVICE_UNAVAILABLE', async () => {
    const M = `mutation ImportAgreementTemplates($partnerId: ID!) { importAgreementTemplates(partnerId: $partnerId) { imported } }`;
    const admin = await platformAdminToken();
    const p = await aConnectedPartner(gw, fake);
    fake.misbehave({ mfaRequired: true });
    try {
      const mfa = await gw.gql(M, { partnerId: p.partner.id }, admin);
      expect(mfa.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', upstreamStatus: 401, upstreamCode: '900421' });
      expect(mfa.errors?.[0].message).toContain('900421');
      // One fresh token, one more try, then the error.
      expect(fake.requests.filter((r) => r.path === '/v1/agreements').slice(-2).map((r) => r.status)).toEqual([401, 401]);
    } finally {
      fake.misbehave({ mfaRequired: false });
    }
    fake.misbehave({ failNext: { count: 10, status: 503 } });
    try {
      const down = await gw.gql(M, { partnerId: p.partner.id }, admin);
      expect(down.errors?.[0].extensions?.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      fake.misbehave({ failNext: { count: 0 } });
    }
    fake.revokeGrant(p.partner.tenantId);
    fake.revokeAccessTokens(p.partner.tenantId);
    syncEngine(gw.services).forget(p.partner.id);
    const dead = await gw.gql(M, { partnerId: p.partner.id }, admin);
    expect(dead.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', upstreamCode: 'AADSTS700082' });
    expect(dead.errors?.[0].message).toContain('connect again');
  });

  // Last: it greps everything the earlier tests made the gateway say.
  test('credentials never leak: not in GraphQL answers, errors, logs, /metrics or sync errors', async () => {
    fake.misbehave({ echoInErrors: true });
    try {
      const p = await aConnectedPartner(gw, fake);
      // A careless token endpoint that echoes what it was sent, into an error and a log line.
      const wrong = { ...p.creds, clientSecret: `${p.creds.clientSecret}-WRONG` };
      const refused = await gw.gql(CONNECT, { input: wrong }, p.admin);
      expect(refused.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(refused.errors?.[0].message).toContain('[redacted]');
      const metrics = await (await fetch(gw.url.replace('/graphql', '/metrics'))).text();
      const syncErrors = await gw.orm.em.fork().getConnection().execute<{ last_error: string }[]>('select last_error from acceptance_syncs where last_error is not null union all select last_error from partner_center_connections where last_error is not null');
      const everything = [...answers, ...logLines, metrics, ...syncErrors.map((r) => r.last_error)].join('\n');
      expect(logLines.length).toBeGreaterThan(10);
      expect(everything).not.toMatch(/SECRET-\d+-/);
      expect(everything).not.toMatch(/REFRESH-\d+-/);
      expect(everything).not.toMatch(/sim-rt-/);
      const tokens = fake.requests.map((r) => r.headers.authorization?.replace(/^Bearer /, '')).filter((t): t is string => !!t);
      expect(tokens.length).toBeGreaterThan(0);
      for (const token of tokens) expect(everything).not.toContain(token);
      const exchanges = JSON.stringify(await gw.orm.em.fork().getConnection().execute('select * from partner_center_exchanges'));
      expect(exchanges).not.toMatch(/SECRET-\d+-|REFRESH-\d+-/);
      for (const token of tokens) expect(exchanges).not.toContain(token);
    } finally {
      fake.misbehave({ echoInErrors: false });
    }
  });
});
