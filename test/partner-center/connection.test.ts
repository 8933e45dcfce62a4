import { Writable } from 'node:stream';
import pino from 'pino';
import { aCustomer, anAgreement, aPartner, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, type TestGateway } from '../support/gateway';
import { Role } from '../../src/auth/roles';
import { CredentialCipher } from '../../src/partner-center/credentials';
import { FakePartnerCenter } from './fake';
import { aConnectedPartner, CONFIRM, CONNECT, CREDENTIALS_KEY, eventually, startPcGateway, SYNC_OF } from './support';

let fake: FakePartnerCenter;
let gw: TestGateway;
/** Every line the gateway logs, at every level. */
const logLines: string[] = [];
/** Every GraphQL answer the tests received. */
const answers: string[] = [];

beforeAll(async () => {
  fake = await new FakePartnerCenter().start();
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
  await fake?.stop();
});

const STATUS = `query Q($partnerId: ID) { partnerCenterConnection(partnerId: $partnerId) { status clientId connectedAt lastTokenAt lastError } }`;

describe('connecting a partner to Partner Center', () => {
  test('connecting verifies the credentials with one token request of the documented form, and answers no secret', async () => {
    const p = await aConnectedPartner(gw, fake, { connect: false });
    const before = fake.tokenRequests().length;
    const res = await gw.gql(CONNECT, { input: p.creds }, p.admin);
    expect(res.errors).toBeUndefined();
    expect(res.data.connectPartnerCenter.connection).toMatchObject({ partner: { id: p.partner.id }, clientId: p.creds.clientId, status: 'CONNECTED', lastError: null });
    expect(res.data.connectPartnerCenter.connection.lastTokenAt).toEqual(expect.any(String));
    const requests = fake.tokenRequests().slice(before);
    expect(requests).toHaveLength(1);
    expect(requests[0].path).toBe(`/${p.partner.tenantId}/oauth2/v2.0/token`);
    expect(requests[0].headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(requests[0].body).toEqual({
      grant_type: 'refresh_token',
      refresh_token: p.creds.refreshToken,
      client_id: p.creds.clientId,
      client_secret: p.creds.clientSecret,
      scope: 'https://api.partnercenter.microsoft.com/user_impersonation offline_access',
    });
  });

  test('secrets are encrypted at rest (AES-256-GCM, bound to the partner)', async () => {
    const p = await aConnectedPartner(gw, fake);
    const [row] = await gw.orm.em.fork().getConnection().execute('select * from partner_center_connections where partner_id = ?', [p.partner.id]);
    expect(JSON.stringify(row)).not.toContain(p.creds.clientSecret);
    expect(JSON.stringify(row)).not.toContain(p.creds.refreshToken);
    const cipher = new CredentialCipher(CREDENTIALS_KEY);
    expect(cipher.decrypt(row.client_secret_enc, p.partner.id, 'clientSecret')).toBe(p.creds.clientSecret);
    expect(cipher.decrypt(row.refresh_token_enc, p.partner.id, 'refreshToken')).toBe(p.creds.refreshToken);
    expect(() => cipher.decrypt(row.client_secret_enc, p.partner.id, 'refreshToken')).toThrow(/cannot be decrypted/);
  });

  test('credentials Partner Center refuses are BAD_USER_INPUT, and nothing is stored', async () => {
    const p = await aConnectedPartner(gw, fake, { connect: false });
    const badSecret = await gw.gql(CONNECT, { input: { ...p.creds, clientSecret: 'WRONG-SECRET-value' } }, p.admin);
    expect(badSecret.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'clientSecret' });
    const badRefresh = await gw.gql(CONNECT, { input: { ...p.creds, refreshToken: 'WRONG-REFRESH-value' } }, p.admin);
    expect(badRefresh.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'refreshToken' });
    expect(badRefresh.errors?.[0].message).toContain('AADSTS70000');
    const blank = await gw.gql(CONNECT, { input: { ...p.creds, clientId: '  ' } }, p.admin);
    expect(blank.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'clientId' });
    expect((await gw.gql(STATUS, {}, p.admin)).data.partnerCenterConnection).toMatchObject({ status: 'DISCONNECTED', clientId: null });
  });

  test('without CREDENTIALS_KEY the gateway refuses to store credentials', async () => {
    const bare = await startPcGateway(fake, { pc: { credentialsKey: undefined } });
    try {
      const partner = await aPartner(bare);
      const before = fake.tokenRequests().length;
      const res = await bare.gql(CONNECT, { input: { clientId: 'c', clientSecret: 'SECRET-no-key', refreshToken: 'REFRESH-no-key' } }, await aPartnerToken(partner, Role.ADMIN));
      expect(res.errors?.[0].extensions?.code).toBe('NOT_APPLICABLE');
      expect(res.errors?.[0].message).toContain('CREDENTIALS_KEY');
      expect(fake.tokenRequests().length).toBe(before);
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

  test('a refresh token returned by the token endpoint replaces the stored one', async () => {
    fake.rotateRefreshTokens = true;
    try {
      const p = await aConnectedPartner(gw, fake);
      const [row] = await gw.orm.em.fork().getConnection().execute('select refresh_token_enc from partner_center_connections where partner_id = ?', [p.partner.id]);
      const stored = new CredentialCipher(CREDENTIALS_KEY).decrypt(row.refresh_token_enc, p.partner.id, 'refreshToken');
      expect(stored).not.toBe(p.creds.refreshToken);
      expect(fake.refreshTokensOf(p.partner.tenantId)).toContain(stored);
    } finally {
      fake.rotateRefreshTokens = false;
    }
  });

  test('a connection whose token requests fail is FAILING, with the reason', async () => {
    const p = await aConnectedPartner(gw, fake);
    const template = await anAgreement(gw, { effectiveFrom: '2020-01-01' });
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    fake.revokeRefreshTokens(p.partner.tenantId);
    fake.revokeAccessTokens();
    await gw.gql(CONFIRM, { input: { customerId: customer.id, templateId: template.templateId, dateAgreed: '2024-05-01', contact: { firstName: 'A', lastName: 'B', email: 'a@example.com' } } }, p.agent);
    const sync = await eventually(async () => (await gw.gql(SYNC_OF, { id: customer.id }, p.agent)).data.customer.acceptanceHistory[0].sync, (s) => s.attempts >= 1 && s.lastError);
    expect(sync.status).toBe('PENDING');
    expect(sync.lastError).toContain('invalid_grant');
    const status = (await gw.gql(STATUS, {}, p.admin)).data.partnerCenterConnection;
    expect(status.status).toBe('FAILING');
    expect(status.lastError).toContain('AADSTS70000');
  });

  test('importAgreementTemplates upserts by templateId (link → displayUri, GLOBAL); running it twice changes nothing', async () => {
    const p = await aConnectedPartner(gw, fake);
    fake.templates = [
      { templateId: 'pc-mca-1', agreementType: 'MicrosoftCloudAgreement', agreementLink: 'https://aka.ms/mca-1', versionRank: 1 },
      { templateId: 'pc-mca-2', agreementType: 'MicrosoftCloudAgreement', agreementLink: 'https://aka.ms/mca-2', versionRank: 2 },
    ];
    const M = `mutation ImportAgreementTemplates($partnerId: ID!) { importAgreementTemplates(partnerId: $partnerId) { imported updated templates { templateId versionRank displayUri country type } } }`;
    const admin = await platformAdminToken();
    const first = await gw.gql(M, { partnerId: p.partner.id }, admin);
    expect(first.errors).toBeUndefined();
    expect(first.data.importAgreementTemplates).toMatchObject({ imported: 2, updated: 0 });
    expect(first.data.importAgreementTemplates.templates).toEqual([
      { templateId: 'pc-mca-1', versionRank: 1, displayUri: 'https://aka.ms/mca-1', country: 'GLOBAL', type: 'MICROSOFT_CLOUD_AGREEMENT' },
      { templateId: 'pc-mca-2', versionRank: 2, displayUri: 'https://aka.ms/mca-2', country: 'GLOBAL', type: 'MICROSOFT_CLOUD_AGREEMENT' },
    ]);
    const metadata = fake.requests.filter((r) => r.path === '/v1/agreements').at(-1)!;
    expect(metadata.query.get('agreementType')).toBe('MicrosoftCloudAgreement');
    expect((await gw.gql(M, { partnerId: p.partner.id }, admin)).data.importAgreementTemplates).toMatchObject({ imported: 0, updated: 0 });
    fake.templates[1].agreementLink = 'https://aka.ms/mca-2b';
    expect((await gw.gql(M, { partnerId: p.partner.id }, admin)).data.importAgreementTemplates).toMatchObject({ imported: 0, updated: 1 });
    expect((await gw.gql(M, { partnerId: p.partner.id }, p.admin)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const unconnected = await aPartner(gw);
    expect((await gw.gql(M, { partnerId: unconnected.id }, admin)).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'partnerId' });
  });

  // Last: it greps everything the earlier tests made the gateway say.
  test('credentials never leak: not in GraphQL answers, errors, logs, /metrics or sync errors', async () => {
    fake.echoSecretsInErrors = true;
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
      expect(everything).not.toMatch(/rt-[0-9a-f]{24}/);
      for (const token of fake.issuedTokens) expect(everything).not.toContain(token);
    } finally {
      fake.echoSecretsInErrors = false;
    }
  });
});
