import { randomUUID } from 'node:crypto';
import { MCA_TEMPLATE_ID } from '../../simulator';
import { aConfirmation, anApp, anAttestationRequest, appOnlyToken, appUserToken, call, useSimulator } from './support';

/** Enhanced attestation (fact sheet section 4; section 8, item 4). Shapes beyond section 4 are PROVISIONAL (pc-spec.md). */
const sim = useSimulator();
let appOnly: string;
let appUser: string;
beforeAll(async () => {
  const app = anApp(sim());
  appOnly = await appOnlyToken(sim(), app);
  appUser = await appUserToken(sim(), app);
});

const create = (extra: Record<string, unknown> = {}) => call(sim(), 'POST', '/v1/attestations/enhanced', appOnly, anAttestationRequest(extra));
const status = (id: string) => call(sim(), 'GET', `/v1/attestations/enhanced/${id}`, appOnly);
const confirmWith = (customerTenantId: string, attestationId: string, token = appOnly) =>
  call(sim(), 'POST', `/v1/customers/${customerTenantId}/agreements`, token, { ...aConfirmation(sim()), attestationId });

describe('POST /v1/attestations/enhanced', () => {
  it('answers 201 with an id, status LinkGenerated, an acceptance link and its expiration time', async () => {
    const before = sim().now();
    const res = await create({ expirationTimeInMinutes: 30 });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), customerTenantId: expect.any(String), status: 'LinkGenerated', acceptanceLink: expect.stringContaining(`/attestations/${res.body.id}/accept?token=`), expirationTime: expect.any(String) });
    const expires = Date.parse(res.body.expirationTime);
    expect(expires).toBeGreaterThanOrEqual(before + 30 * 60_000);
    expect(expires).toBeLessThanOrEqual(sim().now() + 30 * 60_000);
    expect(sim().attestation(res.body.id)).toMatchObject({ companyName: 'Contoso BV', signatoryEmail: 'grace@contoso.example' });
  });

  it.each(['country', 'language', 'companyName', 'signatoryFirstName', 'signatoryLastName', 'signatoryEmail', 'customerTenantId', 'expirationTimeInMinutes'])(
    'a missing %s answers 400 code 600003 naming the field',
    async (field) => {
      const res = await create({ [field]: undefined });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: '600003', source: 'PartnerFD' });
      expect(res.body.description).toContain(field);
    },
  );

  it('the phone number is optional', async () => {
    expect((await create({ signatoryPhoneNumber: undefined })).status).toBe(201);
  });

  it('expirationTimeInMinutes outside 5..10080 answers 400; 5 and 10080 are accepted', async () => {
    expect((await create({ expirationTimeInMinutes: 4 })).status).toBe(400);
    expect((await create({ expirationTimeInMinutes: 10081 })).status).toBe(400);
    expect((await create({ expirationTimeInMinutes: 5 })).status).toBe(201);
    expect((await create({ expirationTimeInMinutes: 10080 })).status).toBe(201);
  });

  it('country must be ISO 3166-1 alpha-2', async () => {
    expect((await create({ country: 'NLD' })).status).toBe(400);
  });

  it('is AppOnly: an App+User token answers 401 code "400" with WWW-Authenticate', async () => {
    const res = await call(sim(), 'POST', '/v1/attestations/enhanced', appUser, anAttestationRequest());
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('400');
    expect(res.headers.get('www-authenticate')).toMatch(/^OAuth realm=urn:cpsvc:cpid:[0-9a-f-]{36}$/);
  });
});

describe('GET /v1/attestations/enhanced/{id}', () => {
  it('LinkGenerated -> CustomerAccepted (with acceptedAt) -> AgreementCreated after the agreement POST with attestationId', async () => {
    const { body } = await create();
    expect((await status(body.id)).body.status).toBe('LinkGenerated');
    sim().acceptAttestation(body.id);
    const accepted = await status(body.id);
    expect(accepted.body).toMatchObject({ id: body.id, status: 'CustomerAccepted', acceptedAt: expect.any(String) });
    const res = await confirmWith(body.customerTenantId, body.id);
    expect(res.status).toBe(201);
    // PROVISIONAL: the record carries the attestation and is dated when the customer accepted.
    expect(res.body).toMatchObject({ attestationId: body.id, dateAgreed: accepted.body.acceptedAt, templateId: MCA_TEMPLATE_ID });
    expect((await status(body.id)).body.status).toBe('AgreementCreated');
    expect(sim().agreementsOf(body.customerTenantId)).toEqual([expect.objectContaining({ attestationId: body.id })]);
  });

  it('the link turns LinkExpired when its time passes (simulator clock), and can no longer be accepted', async () => {
    const { body } = await create({ expirationTimeInMinutes: 5 });
    sim().advance(5 * 60_000);
    try {
      expect((await status(body.id)).body.status).toBe('LinkExpired');
      expect(() => sim().acceptAttestation(body.id)).toThrow(/LinkExpired/);
    } finally {
      sim().advance(-5 * 60_000);
    }
    // Time going back does not revive it.
    expect((await status(body.id)).body.status).toBe('LinkExpired');
  });

  it('sim.expireAttestationLink expires a link at once', async () => {
    const { body } = await create();
    sim().expireAttestationLink(body.id);
    expect((await status(body.id)).body.status).toBe('LinkExpired');
  });

  it("another partner's attestation is not found (404)", async () => {
    const { body } = await create();
    const other = await appOnlyToken(sim(), anApp(sim()));
    expect((await call(sim(), 'GET', `/v1/attestations/enhanced/${body.id}`, other)).status).toBe(404);
    expect((await call(sim(), 'GET', `/v1/attestations/enhanced/${randomUUID()}`, appOnly)).status).toBe(404);
  });
});

describe('POST .../agreements with attestationId', () => {
  it('only from CustomerAccepted: LinkGenerated answers 400 code 600070 and creates nothing', async () => {
    const { body } = await create();
    const res = await confirmWith(body.customerTenantId, body.id);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('600070');
    expect(sim().agreementsOf(body.customerTenantId)).toEqual([]);
  });

  it('an expired or cancelled attestation answers 600070', async () => {
    const expired = (await create()).body;
    sim().expireAttestationLink(expired.id);
    expect((await confirmWith(expired.customerTenantId, expired.id)).body.code).toBe('600070');
    const cancelled = (await create()).body;
    await call(sim(), 'DELETE', `/v1/attestations/enhanced/${cancelled.id}`, appOnly);
    expect((await confirmWith(cancelled.customerTenantId, cancelled.id)).body.code).toBe('600070');
  });

  it("another customer's attestation answers 600070", async () => {
    const { body } = await create();
    sim().acceptAttestation(body.id);
    expect((await confirmWith(randomUUID(), body.id)).body.code).toBe('600070');
  });

  it('is accepted while legacyRetired is on', async () => {
    const { body } = await create();
    sim().acceptAttestation(body.id);
    sim().misbehave({ legacyRetired: true });
    try {
      expect((await confirmWith(body.customerTenantId, body.id)).status).toBe(201);
    } finally {
      sim().misbehave({ legacyRetired: false });
    }
  });
});

describe('DELETE /v1/attestations/enhanced/{id}', () => {
  it('answers 204 and the status is Cancelled; the page then answers 410', async () => {
    const { body } = await create();
    const res = await call(sim(), 'DELETE', `/v1/attestations/enhanced/${body.id}`, appOnly);
    expect(res.status).toBe(204);
    expect((await status(body.id)).body.status).toBe('Cancelled');
    expect((await fetch(body.acceptanceLink)).status).toBe(410);
  });

  it('after AgreementCreated answers 400 and the status stays AgreementCreated', async () => {
    const { body } = await create();
    sim().acceptAttestation(body.id);
    await confirmWith(body.customerTenantId, body.id);
    expect((await call(sim(), 'DELETE', `/v1/attestations/enhanced/${body.id}`, appOnly)).status).toBe(400);
    expect((await status(body.id)).body.status).toBe('AgreementCreated');
  });
});

describe('the acceptance page over plain HTTP', () => {
  it('GET shows the form; POST agree=on marks CustomerAccepted and says Thank you; a wrong token is 404', async () => {
    const { body } = await create();
    const page = await fetch(body.acceptanceLink);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('id="agree"');
    expect(html).toContain('I accept the Microsoft Customer Agreement');
    expect(html).toContain('id="accept"');
    expect(html).not.toMatch(/<(script|link)\b|src="http/);
    expect((await fetch(body.acceptanceLink.replace(/token=.*/, 'token=wrong'))).status).toBe(404);
    const withoutTick = await fetch(body.acceptanceLink, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(withoutTick.status).toBe(400);
    expect(sim().attestation(body.id)!.status).toBe('LinkGenerated');
    const accepted = await fetch(body.acceptanceLink, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'agree=on' });
    expect(accepted.status).toBe(200);
    expect(await accepted.text()).toContain('Thank you');
    expect(sim().attestation(body.id)!.status).toBe('CustomerAccepted');
  });

  it('an expired link answers 410 "This link has expired"', async () => {
    const { body } = await create();
    sim().expireAttestationLink(body.id);
    const page = await fetch(body.acceptanceLink);
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('This link has expired');
  });
});
