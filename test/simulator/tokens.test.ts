import { PARTNER_CENTER_RESOURCE } from '../../simulator';
import { anApp, appUserToken, call, tokenRequest, useSimulator } from './support';

/** The Entra ID token endpoint of the simulator (fact sheet section 6). */
const sim = useSimulator();

const refreshForm = (app: { refreshToken: string; clientId: string; clientSecret: string }, refreshToken = app.refreshToken) => ({
  resource: PARTNER_CENTER_RESOURCE,
  grant_type: 'refresh_token',
  refresh_token: refreshToken,
  client_id: app.clientId,
  client_secret: app.clientSecret,
});

describe('POST /{tenantId}/oauth2/token', () => {
  it('the refresh-token grant answers a Bearer access token for 3600 s and a NEW refresh token; the old one stays valid', async () => {
    const app = anApp(sim());
    const first = await tokenRequest(sim(), app.tenantId, refreshForm(app));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(typeof first.body.access_token).toBe('string');
    expect(first.body.refresh_token).toEqual(expect.any(String));
    expect(first.body.refresh_token).not.toBe(app.refreshToken);
    const withNew = await tokenRequest(sim(), app.tenantId, refreshForm(app, first.body.refresh_token));
    expect(withNew.status).toBe(200);
    const withOld = await tokenRequest(sim(), app.tenantId, refreshForm(app));
    expect(withOld.status).toBe(200);
    expect(new Set([first.body.refresh_token, withNew.body.refresh_token, withOld.body.refresh_token]).size).toBe(3);
  });

  it('client_credentials answers an AppOnly token without a refresh token', async () => {
    const app = anApp(sim());
    const res = await tokenRequest(sim(), app.tenantId, { resource: PARTNER_CENTER_RESOURCE, grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(res.body.refresh_token).toBeUndefined();
  });

  it('a revoked grant answers 400 invalid_grant AADSTS700082 (default) and AADSTS50173 on cue; client_credentials still works', async () => {
    const idle = anApp(sim());
    sim().revokeGrant(idle.tenantId);
    const res = await tokenRequest(sim(), idle.tenantId, refreshForm(idle));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_grant', error_codes: [700082] });
    expect(res.body.error_description).toMatch(/^AADSTS700082: The refresh token has expired due to inactivity\./);

    const revoked = anApp(sim());
    sim().revokeGrant(revoked.tenantId, 'AADSTS50173');
    const res2 = await tokenRequest(sim(), revoked.tenantId, refreshForm(revoked));
    expect(res2.status).toBe(400);
    expect(res2.body).toMatchObject({ error: 'invalid_grant', error_codes: [50173] });
    expect(res2.body.error_description).toMatch(/^AADSTS50173:/);

    const appOnly = await tokenRequest(sim(), idle.tenantId, { resource: PARTNER_CENTER_RESOURCE, grant_type: 'client_credentials', client_id: idle.clientId, client_secret: idle.clientSecret });
    expect(appOnly.status).toBe(200);
  });

  it('a wrong client secret or client id answers 401 invalid_client', async () => {
    const app = anApp(sim());
    const badSecret = await tokenRequest(sim(), app.tenantId, { ...refreshForm(app), client_secret: 'nope' });
    expect(badSecret.status).toBe(401);
    expect(badSecret.body.error).toBe('invalid_client');
    const badId = await tokenRequest(sim(), app.tenantId, { resource: PARTNER_CENTER_RESOURCE, grant_type: 'client_credentials', client_id: 'other', client_secret: app.clientSecret });
    expect(badId.status).toBe(401);
    expect(badId.body.error).toBe('invalid_client');
  });

  it('an unknown refresh token answers 400 invalid_grant, a wrong resource 400 invalid_resource', async () => {
    const app = anApp(sim());
    expect((await tokenRequest(sim(), app.tenantId, refreshForm(app, 'forged'))).body.error).toBe('invalid_grant');
    const res = await tokenRequest(sim(), app.tenantId, { ...refreshForm(app), resource: 'https://graph.windows.net' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_resource');
  });

  it('access tokens expire after 3600 s of the simulator clock (401 code "400")', async () => {
    const app = anApp(sim());
    const token = await appUserToken(sim(), app);
    expect((await call(sim(), 'GET', '/v1/agreements', token)).status).toBe(200);
    sim().advance(3600_000);
    try {
      const res = await call(sim(), 'GET', '/v1/agreements', token);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('400');
    } finally {
      sim().advance(-3600_000);
    }
  });

  it('records each token request with its form parsed', async () => {
    const app = anApp(sim());
    await appUserToken(sim(), app);
    const rec = sim().requests.filter((r) => r.path === `/${app.tenantId}/oauth2/token`);
    expect(rec).toHaveLength(1);
    expect(rec[0]).toMatchObject({ method: 'POST', status: 200, body: { grant_type: 'refresh_token', client_id: app.clientId } });
    expect(rec[0].headers['content-type']).toBe('application/x-www-form-urlencoded');
  });
});
