import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { aConfirmation, anApp, anAttestationRequest, appOnlyToken, appUserToken, call, tokenRequest, useSimulator } from './support';
import { PARTNER_CENTER_RESOURCE } from '../../simulator';

/** What every call shares (fact sheet section 5; section 8, items 5-7) and the misbehaviour switches. */
const sim = useSimulator();
let token: string;
beforeAll(async () => {
  token = await appUserToken(sim(), anApp(sim()));
});
afterEach(() => sim().misbehave({ target: null, answerNext: undefined, latencyMs: 0, failNext: undefined, dropNext: 0, dropAfterNext: 0, hangNext: 0, throttle: null, mfaRequired: false }));

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A raw GET that reports a dropped connection instead of throwing. */
function rawGet(path: string, headers: Record<string, string>): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = request(`${sim().url}${path}`, { headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

describe('response headers', () => {
  it('echoes MS-RequestId and MS-CorrelationId, and answers an ms-cv', async () => {
    const requestId = randomUUID();
    const correlationId = randomUUID();
    const res = await call(sim(), 'GET', '/v1/agreements', token, undefined, { 'MS-RequestId': requestId, 'MS-CorrelationId': correlationId });
    expect(res.headers.get('ms-requestid')).toBe(requestId);
    expect(res.headers.get('ms-correlationid')).toBe(correlationId);
    expect(res.headers.get('ms-cv')).toBeTruthy();
  });

  it('generates ms-requestid, ms-correlationid and ms-cv when the caller sent none', async () => {
    const res = await call(sim(), 'GET', '/v1/agreements', token);
    expect(res.headers.get('ms-requestid')).toMatch(GUID);
    expect(res.headers.get('ms-correlationid')).toMatch(GUID);
    expect(res.headers.get('ms-cv')).toBeTruthy();
  });
});

describe('401', () => {
  it('a missing token answers 401, WWW-Authenticate OAuth realm=urn:cpsvc:cpid:<uuid>, code "800001" in the documented error body', async () => {
    const res = await call(sim(), 'GET', '/v1/agreements', undefined);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^OAuth realm=urn:cpsvc:cpid:[0-9a-f-]{36}$/);
    expect(res.body).toEqual({ code: '800001', description: 'Partner Token missing', data: [], source: 'PartnerFD' });
  });

  it('an unknown or revoked token answers 401 code "400" Access denied', async () => {
    const unknown = await call(sim(), 'GET', '/v1/agreements', 'not-a-token');
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ code: '400', description: 'Access denied', data: [], source: 'PartnerFD' });
    const app = anApp(sim());
    const revoked = await appUserToken(sim(), app);
    sim().revokeAccessTokens(app.tenantId);
    expect((await call(sim(), 'GET', '/v1/agreements', revoked)).body.code).toBe('400');
    expect((await call(sim(), 'GET', '/v1/agreements', token)).status).toBe(200);
  });

  it('with mfaRequired, an App+User token of a grant without MFA answers 401 code "900421"; an MFA grant and AppOnly tokens pass', async () => {
    const noMfa = anApp(sim());
    const withMfa = anApp(sim(), { mfa: true });
    const noMfaToken = await appUserToken(sim(), noMfa);
    const mfaToken = await appUserToken(sim(), withMfa);
    const appOnly = await appOnlyToken(sim(), noMfa);
    sim().misbehave({ mfaRequired: true });
    const res = await call(sim(), 'GET', '/v1/agreements', noMfaToken);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: '900421', source: 'PartnerFD' });
    expect(res.headers.get('www-authenticate')).toMatch(/^OAuth realm=/);
    expect((await call(sim(), 'GET', '/v1/agreements', mfaToken)).status).toBe(200);
    expect((await call(sim(), 'POST', '/v1/attestations/enhanced', appOnly, anAttestationRequest())).status).toBe(201);
  });
});

describe('429 throttling, per partner tenant', () => {
  it('over the limit answers 429 with Retry-After and the documented body; another partner tenant is not throttled', async () => {
    const a = await appUserToken(sim(), anApp(sim()));
    const b = await appUserToken(sim(), anApp(sim()));
    sim().misbehave({ throttle: { limit: 2, windowMs: 57_000 } });
    expect((await call(sim(), 'GET', '/v1/agreements', a)).status).toBe(200);
    expect((await call(sim(), 'GET', '/v1/agreements', a)).status).toBe(200);
    const third = await call(sim(), 'GET', '/v1/agreements', a);
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('57');
    expect(third.body).toEqual({ statusCode: 429, message: 'Rate limit is exceeded. Try again in 57 seconds.' });
    expect((await call(sim(), 'GET', '/v1/agreements', b)).status).toBe(200);
  });

  it("counts by the token's tenant across its App+User and AppOnly tokens, and lets calls through again after the window (simulator clock)", async () => {
    const app = anApp(sim());
    const user = await appUserToken(sim(), app);
    const only = await appOnlyToken(sim(), app);
    sim().misbehave({ throttle: { limit: 1, windowMs: 10_000 } });
    expect((await call(sim(), 'GET', '/v1/agreements', user)).status).toBe(200);
    expect((await call(sim(), 'POST', '/v1/attestations/enhanced', only, anAttestationRequest())).status).toBe(429);
    sim().advance(10_000);
    try {
      expect((await call(sim(), 'GET', '/v1/agreements', user)).status).toBe(200);
    } finally {
      sim().advance(-10_000);
    }
  });

  it("with scope 'partner+customer' counts each customer of a partner apart", async () => {
    const t = await appUserToken(sim(), anApp(sim()));
    const [c1, c2] = [randomUUID(), randomUUID()];
    sim().misbehave({ throttle: { limit: 1, windowMs: 30_000, scope: 'partner+customer' } });
    const status = (c: string) => call(sim(), 'GET', `/v1/customers/${c}/directSignedMicrosoftCustomerAgreementStatus`, t);
    expect((await status(c1)).status).toBe(200);
    expect((await status(c1)).status).toBe(429);
    expect((await status(c2)).status).toBe(200);
  });

  it('does not throttle the token endpoint', async () => {
    const app = anApp(sim());
    sim().misbehave({ throttle: { limit: 0, windowMs: 60_000 } });
    const form = { resource: PARTNER_CENTER_RESOURCE, grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret };
    expect((await tokenRequest(sim(), app.tenantId, form)).status).toBe(200);
  });
});

describe('idempotency by MS-RequestId', () => {
  it('the same MS-RequestId and body replays the first answer and creates nothing', async () => {
    const customer = randomUUID();
    const body = aConfirmation(sim());
    const requestId = randomUUID();
    const first = await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, body, { 'MS-RequestId': requestId });
    const again = await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, body, { 'MS-RequestId': requestId });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('ms-requestid')).toBe(requestId);
    expect(sim().agreementsOf(customer)).toHaveLength(1);
    // A new id for the same body is a new request: here the 600061 rule answers.
    expect((await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, body, { 'MS-RequestId': randomUUID() })).body.code).toBe(600061);
  });

  it('replays a business failure too (a client must use a new id after any answer)', async () => {
    const customer = randomUUID();
    const requestId = randomUUID();
    const future = { ...aConfirmation(sim()), dateAgreed: new Date(sim().now() + 86_400_000).toISOString() };
    expect((await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, future, { 'MS-RequestId': requestId })).body.code).toBe('600002');
    expect((await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, future, { 'MS-RequestId': requestId })).body.code).toBe('600002');
  });

  it('the same MS-RequestId with a different body answers 409 and creates nothing (the simulator rule)', async () => {
    const customer = randomUUID();
    const requestId = randomUUID();
    expect((await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, aConfirmation(sim()), { 'MS-RequestId': requestId })).status).toBe(201);
    const other = await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, aConfirmation(sim()), { 'MS-RequestId': requestId });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ code: '409', source: 'PartnerFD' });
    expect(sim().agreementsOf(customer)).toHaveLength(1);
  });

  it('an enhanced attestation POST replays its first answer: one attestation', async () => {
    const appOnly = await appOnlyToken(sim(), anApp(sim()));
    const body = anAttestationRequest();
    const requestId = randomUUID();
    const first = await call(sim(), 'POST', '/v1/attestations/enhanced', appOnly, body, { 'MS-RequestId': requestId });
    const again = await call(sim(), 'POST', '/v1/attestations/enhanced', appOnly, body, { 'MS-RequestId': requestId });
    expect(again.body.id).toBe(first.body.id);
    expect(sim().attestations.filter((a) => a.customerTenantId === body.customerTenantId)).toHaveLength(1);
  });

  it('an injected 5xx is not remembered: the retry with the same id is processed', async () => {
    const customer = randomUUID();
    const requestId = randomUUID();
    const body = aConfirmation(sim());
    sim().misbehave({ failNext: { count: 1, status: 503 } });
    expect((await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, body, { 'MS-RequestId': requestId })).status).toBe(503);
    expect((await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, body, { 'MS-RequestId': requestId })).status).toBe(201);
    expect(sim().agreementsOf(customer)).toHaveLength(1);
  });

  it('an answer lost after processing (dropAfterNext) is replayed to the retry with the same id', async () => {
    const customer = randomUUID();
    const requestId = randomUUID();
    const body = aConfirmation(sim());
    sim().misbehave({ dropAfterNext: 1 });
    await expect(call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, body, { 'MS-RequestId': requestId })).rejects.toThrow();
    expect(sim().agreementsOf(customer)).toHaveLength(1);
    const retry = await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, body, { 'MS-RequestId': requestId });
    expect(retry.status).toBe(201);
    expect(sim().agreementsOf(customer)).toHaveLength(1);
  });
});

describe('misbehaviour switches', () => {
  it('failNext answers the next N calls with the 5xx asked, then recovers', async () => {
    sim().misbehave({ failNext: { count: 2, status: 502 } });
    const one = await call(sim(), 'GET', '/v1/agreements', token);
    const two = await call(sim(), 'GET', '/v1/agreements', token);
    expect([one.status, two.status]).toEqual([502, 502]);
    expect(one.body).toMatchObject({ code: '502', source: 'PartnerFD' });
    expect((await call(sim(), 'GET', '/v1/agreements', token)).status).toBe(200);
  });

  it('failNext defaults to 500 and applies to the token endpoint too', async () => {
    const app = anApp(sim());
    sim().misbehave({ failNext: { count: 1 } });
    const res = await tokenRequest(sim(), app.tenantId, { resource: PARTNER_CENTER_RESOURCE, grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret });
    expect(res.status).toBe(500);
  });

  it('dropNext destroys the socket without an answer and records the request without a status', async () => {
    sim().misbehave({ dropNext: 1 });
    const before = sim().requests.length;
    const res = await rawGet('/v1/agreements', { authorization: `Bearer ${token}` });
    expect(res.status).toBeUndefined();
    expect(res.error).toBe('ECONNRESET');
    const rec = sim().requests[before];
    expect(rec.path).toBe('/v1/agreements');
    expect(rec.status).toBeUndefined();
    expect((await rawGet('/v1/agreements', { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('hangNext keeps the request open and unanswered until releaseHanging()', async () => {
    sim().misbehave({ hangNext: 1 });
    const before = sim().requests.length;
    const pending = rawGet('/v1/agreements', { authorization: `Bearer ${token}` });
    while (sim().requests.length === before) await new Promise((r) => setTimeout(r, 10));
    expect(sim().requests[before].status).toBeUndefined();
    sim().releaseHanging();
    expect((await pending).error).toBe('ECONNRESET');
    expect((await call(sim(), 'GET', '/v1/agreements', token)).status).toBe(200);
  });

  it('dropNext: Infinity is an upstream that is down until the switch is set back to 0', async () => {
    sim().misbehave({ dropNext: Infinity });
    expect((await rawGet('/v1/agreements', { authorization: `Bearer ${token}` })).error).toBe('ECONNRESET');
    expect((await rawGet('/v1/agreements', { authorization: `Bearer ${token}` })).error).toBe('ECONNRESET');
    sim().misbehave({ dropNext: 0 });
    expect((await rawGet('/v1/agreements', { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('answerNext gives the next targeted requests a canned answer as is, processing nothing', async () => {
    const customer = randomUUID();
    sim().misbehave({ answerNext: { count: 1, status: 400, body: { code: 2001, description: 'The template is not valid for this customer' }, headers: { 'x-extra': '1' } } });
    const res = await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, aConfirmation(sim()));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ code: 2001, description: 'The template is not valid for this customer' });
    expect(res.headers.get('x-extra')).toBe('1');
    expect(sim().agreementsOf(customer)).toEqual([]);
    expect(sim().misbehaviour.answerNext).toBeUndefined();
  });

  it("target scopes the switches: 'api' spares the token endpoint, a RegExp on 'METHOD /path' only the calls it matches", async () => {
    const app = anApp(sim());
    sim().misbehave({ target: 'api', failNext: { count: 1, status: 503 } });
    const appOnly = await appOnlyToken(sim(), app);
    expect((await call(sim(), 'GET', '/v1/agreements', token)).status).toBe(503);

    sim().misbehave({ target: /^POST \/v1\/customers\/[^/]+\/agreements$/, failNext: { count: 1, status: 500 } });
    expect((await call(sim(), 'GET', '/v1/agreements', token)).status).toBe(200);
    expect((await call(sim(), 'POST', '/v1/attestations/enhanced', appOnly, anAttestationRequest())).status).toBe(201);
    expect((await call(sim(), 'POST', `/v1/customers/${randomUUID()}/agreements`, token, aConfirmation(sim()))).status).toBe(500);

    sim().misbehave({ target: 'token', failNext: { count: 1, status: 502 } });
    expect((await call(sim(), 'GET', '/v1/agreements', token)).status).toBe(200);
    await expect(appOnlyToken(sim(), app)).rejects.toThrow(/502/);
  });

  it('latencyMs delays answers (still answered correctly)', async () => {
    sim().misbehave({ latencyMs: 20 });
    expect((await call(sim(), 'GET', '/v1/agreements', token)).status).toBe(200);
  });

  it('switches leave the browser pages alone', async () => {
    const appOnly = await appOnlyToken(sim(), anApp(sim()));
    const { body } = await call(sim(), 'POST', '/v1/attestations/enhanced', appOnly, anAttestationRequest());
    sim().misbehave({ failNext: { count: 1, status: 500 } });
    expect((await fetch(body.acceptanceLink)).status).toBe(200);
    expect(sim().misbehaviour.failNext).toEqual({ count: 1, status: 500 });
  });
});

describe('recorded requests', () => {
  it('records method, path, query, lower-case headers, parsed body, raw text, status and the simulator time', async () => {
    const customer = randomUUID();
    const body = aConfirmation(sim());
    const before = sim().requests.length;
    const at = Date.parse('2026-06-01T12:00:00Z');
    sim().clock(() => at);
    try {
      await call(sim(), 'POST', `/v1/customers/${customer}/agreements?x=1`, token, { ...body, dateAgreed: '2026-06-01T11:00:00.000Z' }, { 'MS-CorrelationId': 'c-1' });
    } finally {
      sim().clock(Date.now);
    }
    const rec = sim().requests[before];
    const sent = { ...body, dateAgreed: '2026-06-01T11:00:00.000Z' };
    expect(rec).toMatchObject({ method: 'POST', path: `/v1/customers/${customer}/agreements`, body: sent, raw: JSON.stringify(sent), status: 201, at });
    expect(rec.query.get('x')).toBe('1');
    expect(rec.headers['ms-correlationid']).toBe('c-1');
    expect(rec.headers.authorization).toBe(`Bearer ${token}`);
  });
});

describe('helpers for tests', () => {
  it('waitForRequest answers a request already recorded or the next one to arrive', async () => {
    const since = sim().requests.length;
    const customer = randomUUID();
    const waiting = sim().waitForRequest((r) => r.path === `/v1/customers/${customer}/directSignedMicrosoftCustomerAgreementStatus`, { since });
    await call(sim(), 'GET', `/v1/customers/${customer}/directSignedMicrosoftCustomerAgreementStatus`, token);
    expect((await waiting).method).toBe('GET');
    expect((await sim().waitForRequest((r) => r.path.includes(customer))).path).toContain(customer);
    await expect(sim().waitForRequest((r) => r.path === '/never', { timeoutMs: 50 })).rejects.toThrow(/No matching request/);
  });

  it('tokenOf tells what an access token stands for; refreshTokensOf lists the grant\'s refresh tokens, none once revoked', async () => {
    const app = anApp(sim(), { mfa: true });
    const user = await appUserToken(sim(), app);
    const only = await appOnlyToken(sim(), app);
    expect(sim().tokenOf(user)).toMatchObject({ tenantId: app.tenantId, kind: 'AppUser', userId: app.userId, mfa: true });
    expect(sim().tokenOf(only)).toMatchObject({ tenantId: app.tenantId, kind: 'AppOnly' });
    expect(sim().tokenOf('nope')).toBeUndefined();
    expect(sim().refreshTokensOf(app.tenantId)).toHaveLength(2);
    expect(sim().refreshTokensOf(app.tenantId)).toContain(app.refreshToken);
    sim().revokeGrant(app.tenantId);
    expect(sim().refreshTokensOf(app.tenantId)).toEqual([]);
  });

  it('registering a tenant again re-consents: a revoked grant works again with the new refresh token', async () => {
    const app = anApp(sim());
    sim().revokeGrant(app.tenantId, 'AADSTS50173');
    await expect(appUserToken(sim(), app)).rejects.toThrow(/invalid_grant/);
    const again = sim().registerApp({ ...app, refreshToken: `rt-${randomUUID()}` });
    expect(await appUserToken(sim(), again)).toEqual(expect.any(String));
  });
});

describe('the simulator clock', () => {
  it('sim.clock replaces the time source and sim.advance adds to it', () => {
    const s = sim();
    s.clock(() => Date.parse('2026-01-05T00:00:00Z'));
    try {
      expect(new Date(s.now()).toISOString()).toBe('2026-01-05T00:00:00.000Z');
      s.advance(1000);
      expect(new Date(s.now()).toISOString()).toBe('2026-01-05T00:00:01.000Z');
      s.advance(-1000);
    } finally {
      s.clock(Date.now);
    }
  });
});
