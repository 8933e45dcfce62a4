import { randomUUID } from 'node:crypto';
import { CLOUD_TEMPLATE_ID, MCA_TEMPLATE_ID } from '../../simulator';
import { aConfirmation, anApp, appOnlyToken, appUserToken, call, useSimulator } from './support';

/** The customer-agreement endpoints (fact sheet sections 2, 3 and 4; section 8, items 1-3). */
const sim = useSimulator();
let token: string;
let userId: string;
beforeAll(async () => {
  const app = anApp(sim());
  userId = app.userId;
  token = await appUserToken(sim(), app);
});

describe('GET /v1/agreements', () => {
  it('without a filter answers the Cloud Agreement only, in the documented collection shape', async () => {
    const res = await call(sim(), 'GET', '/v1/agreements', token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      totalCount: 1,
      items: [{ templateId: CLOUD_TEMPLATE_ID, agreementType: 'MicrosoftCloudAgreement', agreementLink: expect.any(String), versionRank: 0 }],
      attributes: { objectType: 'Collection' },
    });
  });

  it('agreementType=* answers every template, agreementType=MicrosoftCustomerAgreement the MCA', async () => {
    const all = await call(sim(), 'GET', '/v1/agreements?agreementType=*', token);
    expect(all.body.items.map((t: { templateId: string }) => t.templateId).sort()).toEqual([MCA_TEMPLATE_ID, CLOUD_TEMPLATE_ID].sort());
    const mca = await call(sim(), 'GET', '/v1/agreements?agreementType=MicrosoftCustomerAgreement', token);
    expect(mca.body.items).toEqual([{ templateId: MCA_TEMPLATE_ID, agreementType: 'MicrosoftCustomerAgreement', agreementLink: 'https://aka.ms/customeragreement', versionRank: 0 }]);
  });

  it('answers the templates a test set (sim.templates)', async () => {
    const before = sim().templates;
    sim().templates = [...before, { templateId: 'mca-2', agreementType: 'MicrosoftCustomerAgreement', agreementLink: 'https://aka.ms/customeragreement', versionRank: 1 }];
    try {
      const res = await call(sim(), 'GET', '/v1/agreements?agreementType=MicrosoftCustomerAgreement', token);
      expect(res.body.totalCount).toBe(2);
    } finally {
      sim().templates = before;
    }
  });

  it('refuses an AppOnly token with 401 code "400"', async () => {
    const appOnly = await appOnlyToken(sim(), anApp(sim()));
    const res = await call(sim(), 'GET', '/v1/agreements', appOnly);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('400');
  });
});

describe('GET /v1/agreementtemplates/{templateId}/document', () => {
  it('answers display and download links with the country and language asked; defaults US and en-US, unsupported language en-US', async () => {
    const res = await call(sim(), 'GET', `/v1/agreementtemplates/${MCA_TEMPLATE_ID}/document?language=de-DE&country=DE`, token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ displayUri: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/documents\//), downloadUri: expect.any(String), language: 'de-DE', country: 'DE' });
    const defaults = await call(sim(), 'GET', `/v1/agreementtemplates/${MCA_TEMPLATE_ID}/document`, token);
    expect(defaults.body).toMatchObject({ language: 'en-US', country: 'US' });
    const unsupported = await call(sim(), 'GET', `/v1/agreementtemplates/${MCA_TEMPLATE_ID}/document?language=xx-XX&country=FR`, token);
    expect(unsupported.body).toMatchObject({ language: 'en-US', country: 'FR' });
  });

  it('each call gives a new link; the link serves the document (text/html) for 5 minutes, then 410', async () => {
    const one = await call(sim(), 'GET', `/v1/agreementtemplates/${MCA_TEMPLATE_ID}/document?country=NL&language=nl-NL`, token);
    const two = await call(sim(), 'GET', `/v1/agreementtemplates/${MCA_TEMPLATE_ID}/document?country=NL&language=nl-NL`, token);
    expect(one.body.displayUri).not.toBe(two.body.displayUri);
    const page = await fetch(one.body.displayUri);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('country NL, language nl-NL');
    const download = await fetch(one.body.downloadUri);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment/);
    sim().advance(5 * 60_000);
    try {
      expect((await fetch(one.body.displayUri)).status).toBe(410);
    } finally {
      sim().advance(-5 * 60_000);
    }
  });

  it('is for the MCA only: the Cloud Agreement template answers 400', async () => {
    const res = await call(sim(), 'GET', `/v1/agreementtemplates/${CLOUD_TEMPLATE_ID}/document`, token);
    expect(res.status).toBe(400);
  });

  it('country is case-sensitive: a lower-case country answers 400', async () => {
    const res = await call(sim(), 'GET', `/v1/agreementtemplates/${MCA_TEMPLATE_ID}/document?country=us`, token);
    expect(res.status).toBe(400);
  });
});

describe('POST /v1/customers/{customerTenantId}/agreements', () => {
  it('answers 201 with the agreement and the userId of the token, and keeps the record', async () => {
    const customer = randomUUID();
    const body = aConfirmation(sim(), { phoneNumber: '+31201234567' });
    const res = await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, body);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ ...body, dateAgreed: body.dateAgreed, agreementLink: 'https://aka.ms/customeragreement', userId });
    expect(sim().agreementsOf(customer)).toEqual([expect.objectContaining({ customerTenantId: customer, primaryContact: body.primaryContact, userId, templateId: MCA_TEMPLATE_ID })]);
  });

  it('refuses the Cloud Agreement template: 400 "Template ID … is no longer supported", nothing kept', async () => {
    const customer = randomUUID();
    const res = await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, { ...aConfirmation(sim()), templateId: CLOUD_TEMPLATE_ID, type: 'MicrosoftCloudAgreement' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ code: '600041', description: `Template ID ${CLOUD_TEMPLATE_ID} is no longer supported`, data: [], source: 'PartnerFD' });
    expect(sim().agreementsOf(customer)).toEqual([]);
  });

  it('refuses a future dateAgreed: 400 code 600002 "Date of agreement cannot be greater than the current date"', async () => {
    const customer = randomUUID();
    const res = await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, { ...aConfirmation(sim()), dateAgreed: new Date(sim().now() + 3600_000).toISOString() });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: '600002', description: 'Date of agreement cannot be greater than the current date' });
    expect(sim().agreementsOf(customer)).toEqual([]);
  });

  it('a contact identical to the customer\'s latest record answers 600061 with the documented body (400, or 409 on cue)', async () => {
    const customer = randomUUID();
    const body = aConfirmation(sim(), { phoneNumber: '+31201234567' });
    expect((await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, body)).status).toBe(201);
    const again = await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, { ...body, dateAgreed: new Date(sim().now()).toISOString() });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({
      code: 600061,
      message: expect.any(String),
      description: expect.any(String),
      errorName: 'PartnerConfirmedAgreementAlreadyExists',
      isRetryable: false,
      parameters: {},
      errorMessageExtended: 'InternalErrorCode=600061',
    });
    sim().misbehave({ status600061: 409 });
    try {
      expect((await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, body)).status).toBe(409);
    } finally {
      sim().misbehave({ status600061: undefined });
    }
    expect(sim().agreementsOf(customer)).toHaveLength(1);
  });

  it('a changed contact records a new agreement: history is kept and GET answers every record', async () => {
    const customer = randomUUID();
    const first = aConfirmation(sim(), { email: 'first@example.com' });
    const second = aConfirmation(sim(), { email: 'second@example.com' });
    expect((await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, first)).status).toBe(201);
    expect((await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, second)).status).toBe(201);
    const res = await call(sim(), 'GET', `/v1/customers/${customer}/agreements?agreementType=MicrosoftCustomerAgreement`, token);
    expect(res.status).toBe(200);
    expect(res.body.totalCount).toBe(2);
    expect(res.body.items.map((i: any) => i.primaryContact.email)).toEqual(['first@example.com', 'second@example.com']);
    expect(res.body.items[0]).toEqual({ primaryContact: first.primaryContact, templateId: MCA_TEMPLATE_ID, dateAgreed: first.dateAgreed, type: 'MicrosoftCustomerAgreement', agreementLink: 'https://aka.ms/customeragreement' });
  });

  it('a missing contact field answers 400 naming the field, nothing kept', async () => {
    const customer = randomUUID();
    const body = aConfirmation(sim());
    const res = await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, { ...body, primaryContact: { ...body.primaryContact, email: undefined } });
    expect(res.status).toBe(400);
    expect(res.body.description).toContain('email');
    expect(sim().agreementsOf(customer)).toEqual([]);
  });

  it('without attestationId needs an App+User token: AppOnly answers 401 code "400"', async () => {
    const appOnly = await appOnlyToken(sim(), anApp(sim()));
    const res = await call(sim(), 'POST', `/v1/customers/${randomUUID()}/agreements`, appOnly, aConfirmation(sim()));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('400');
  });

  it('with legacyRetired on, a POST without attestationId answers 400 code 600071', async () => {
    const customer = randomUUID();
    sim().misbehave({ legacyRetired: true });
    try {
      const res = await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, aConfirmation(sim()));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: '600071', description: 'Legacy attestation is retired; use enhanced attestation' });
    } finally {
      sim().misbehave({ legacyRetired: false });
    }
    expect(sim().agreementsOf(customer)).toEqual([]);
  });
});

describe('GET /v1/customers/{id}/agreements', () => {
  it('without a filter answers Cloud Agreement records only, with * every record; seeded records show too', async () => {
    const customer = randomUUID();
    sim().seedAgreement(customer, { primaryContact: { firstName: 'Old', lastName: 'Record', email: 'old@example.com' }, templateId: CLOUD_TEMPLATE_ID, dateAgreed: '2019-05-01T00:00:00Z' });
    await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, token, aConfirmation(sim()));
    const plain = await call(sim(), 'GET', `/v1/customers/${customer}/agreements`, token);
    expect(plain.body.items.map((i: any) => i.type)).toEqual(['MicrosoftCloudAgreement']);
    expect(plain.body.items[0].dateAgreed).toBe('2019-05-01T00:00:00.000Z');
    const all = await call(sim(), 'GET', `/v1/customers/${customer}/agreements?agreementType=*`, token);
    expect(all.body.items.map((i: any) => i.type)).toEqual(['MicrosoftCloudAgreement', 'MicrosoftCustomerAgreement']);
  });
});

describe('GET /v1/customers/{id}/directSignedMicrosoftCustomerAgreementStatus', () => {
  it('answers {isSigned} from the settable flag, independent of the agreement records', async () => {
    const customer = randomUUID();
    const path = `/v1/customers/${customer}/directSignedMicrosoftCustomerAgreementStatus`;
    expect((await call(sim(), 'GET', path, token)).body).toEqual({ isSigned: false });
    sim().setDirectSigned(customer, true);
    expect((await call(sim(), 'GET', path, token)).body).toEqual({ isSigned: true });
    expect(sim().agreementsOf(customer)).toEqual([]);
  });
});
