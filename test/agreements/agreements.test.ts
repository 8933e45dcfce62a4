import { anAgreement, aPartner, aPartnerToken } from '../factories';
import { analystToken, platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { Role } from '../../src/auth/roles';

const AGREEMENTS = `query Agreements($type: AgreementType, $country: String, $language: String) {
  agreements(type: $type, country: $country, language: $language) {
    templateId type version versionRank country language displayUri effectiveFrom isCurrent
  }
}`;
const CURRENT = `query CurrentAgreement($type: AgreementType!, $country: String!, $language: String) {
  currentAgreement(type: $type, country: $country, language: $language) { templateId version versionRank displayUri }
}`;
const PUBLISH = `mutation PublishAgreement($input: PublishAgreementInput!) {
  publishAgreement(input: $input) { agreement { templateId version versionRank country language displayUri effectiveFrom isCurrent } }
}`;
const MCA = 'MICROSOFT_CLOUD_AGREEMENT';

const input = (data: Record<string, unknown> = {}) => ({
  type: MCA,
  version: '2025-01',
  versionRank: 1,
  country: 'GLOBAL',
  language: 'en-US',
  displayUri: 'https://example.com/mca-2025.pdf',
  effectiveFrom: '2020-01-01',
  ...data,
});

const templateCount = async (gw: TestGateway) =>
  Number((await gw.orm.em.getConnection().execute('select count(*)::int as n from agreement_templates'))[0].n);

let gw: TestGateway;
let admin: string;
beforeAll(async () => {
  gw = await startGateway();
  admin = await platformAdminToken();
});
afterAll(() => gw?.stop());

describe('reading agreements', () => {
  it('every role reads agreement templates, by type then newest rank first, with isCurrent', async () => {
    await anAgreement(gw, { templateId: 'ca-1', country: 'CA', versionRank: 1 });
    await anAgreement(gw, { templateId: 'ca-2', country: 'CA', versionRank: 2 });
    await anAgreement(gw, { templateId: 'ca-cust', country: 'CA', type: 'MICROSOFT_CUSTOMER_AGREEMENT' as never });
    const partner = await aPartner(gw);
    for (const token of [admin, await analystToken(), await aPartnerToken(partner, Role.VIEWER)]) {
      const res = await gw.gql(AGREEMENTS, { country: 'CA' }, token);
      expect(res.errors).toBeUndefined();
      expect(res.data.agreements.map((a: any) => [a.templateId, a.isCurrent])).toEqual([
        ['ca-2', true],
        ['ca-1', false],
        ['ca-cust', true],
      ]);
    }
  });

  it('filters by type, country (any case) and language', async () => {
    await anAgreement(gw, { templateId: 'ch-de', country: 'CH', language: 'de-CH' });
    await anAgreement(gw, { templateId: 'ch-fr', country: 'CH', language: 'fr-CH' });
    const res = await gw.gql(AGREEMENTS, { type: MCA, country: 'ch', language: 'fr-ch' }, admin);
    expect(res.data.agreements).toEqual([
      expect.objectContaining({ templateId: 'ch-fr', type: MCA, country: 'CH', language: 'fr-CH', effectiveFrom: '2018-11-07', isCurrent: true }),
    ]);
  });

  it('an unknown country filter is BAD_USER_INPUT on country', async () => {
    const res = await gw.gql(AGREEMENTS, { country: 'XX' }, admin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'country' });
  });

  it('without a token agreements are UNAUTHENTICATED', async () => {
    const res = await gw.gql(AGREEMENTS, {});
    expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('the current agreement', () => {
  it("is the country's effective template of highest rank", async () => {
    await anAgreement(gw, { templateId: 'jp-1', country: 'JP', versionRank: 1 });
    await anAgreement(gw, { templateId: 'jp-2', country: 'JP', versionRank: 2 });
    await anAgreement(gw, { templateId: 'jp-3-future', country: 'JP', versionRank: 3, effectiveFrom: '2999-01-01' });
    const res = await gw.gql(CURRENT, { type: MCA, country: 'jp' }, admin);
    expect(res.data.currentAgreement).toMatchObject({ templateId: 'jp-2', versionRank: 2 });
  });

  it('falls back to GLOBAL when the country has no template of its own', async () => {
    await anAgreement(gw, { templateId: 'global-1', versionRank: 1 });
    await anAgreement(gw, { templateId: 'global-2', versionRank: 2 });
    const res = await gw.gql(CURRENT, { type: MCA, country: 'BR' }, admin);
    expect(res.data.currentAgreement).toMatchObject({ templateId: 'global-2', versionRank: 2 });
  });

  it('prefers the asked language among translations of the current version', async () => {
    await anAgreement(gw, { templateId: 'mx-en', country: 'MX', versionRank: 4, language: 'en-US' });
    await anAgreement(gw, { templateId: 'mx-es', country: 'MX', versionRank: 4, language: 'es-MX' });
    await anAgreement(gw, { templateId: 'mx-es-old', country: 'MX', versionRank: 3, language: 'es-MX' });
    expect((await gw.gql(CURRENT, { type: MCA, country: 'MX', language: 'es-MX' }, admin)).data.currentAgreement.templateId).toBe('mx-es');
    expect((await gw.gql(CURRENT, { type: MCA, country: 'MX', language: 'en' }, admin)).data.currentAgreement.templateId).toBe('mx-en');
  });

  it('is null when no template of the type is effective', async () => {
    const res = await gw.gql(CURRENT, { type: 'MICROSOFT_CUSTOMER_AGREEMENT', country: 'NZ' }, admin);
    expect(res.errors).toBeUndefined();
    expect(res.data.currentAgreement).toBeNull();
  });

  it('an unknown country or a malformed language is BAD_USER_INPUT on that argument', async () => {
    const country = await gw.gql(CURRENT, { type: MCA, country: 'ZZ' }, admin);
    expect(country.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'country' });
    const language = await gw.gql(CURRENT, { type: MCA, country: 'US', language: 'not a tag!' }, admin);
    expect(language.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'language' });
  });
});

describe('publishing agreements', () => {
  it('a platform admin publishes a template; country and language are normalized; isCurrent follows', async () => {
    const res = await gw.gql(PUBLISH, { input: input({ templateId: 'se-1', country: 'se', language: 'sv-se' }) }, admin);
    expect(res.errors).toBeUndefined();
    expect(res.data.publishAgreement.agreement).toEqual({
      templateId: 'se-1',
      version: '2025-01',
      versionRank: 1,
      country: 'SE',
      language: 'sv-SE',
      displayUri: 'https://example.com/mca-2025.pdf',
      effectiveFrom: '2020-01-01',
      isCurrent: true,
    });
    const newer = await gw.gql(PUBLISH, { input: input({ templateId: 'se-2', country: 'SE', language: 'sv-SE', versionRank: 2 }) }, admin);
    expect(newer.data.publishAgreement.agreement.isCurrent).toBe(true);
    const list = await gw.gql(AGREEMENTS, { country: 'SE' }, admin);
    expect(list.data.agreements.map((a: any) => [a.templateId, a.isCurrent])).toEqual([
      ['se-2', true],
      ['se-1', false],
    ]);
  });

  it('a template effective in the future is published but not current yet', async () => {
    const res = await gw.gql(PUBLISH, { input: input({ templateId: 'no-future', country: 'NO', effectiveFrom: '2999-12-31' }) }, admin);
    expect(res.data.publishAgreement.agreement.isCurrent).toBe(false);
    expect((await gw.gql(CURRENT, { type: MCA, country: 'NO' }, admin)).data.currentAgreement?.templateId).not.toBe('no-future');
  });

  it('generates the templateId when absent', async () => {
    const res = await gw.gql(PUBLISH, { input: input({ country: 'FI' }) }, admin);
    expect(res.data.publishAgreement.agreement.templateId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('only a platform admin publishes templates', async () => {
    const partner = await aPartner(gw);
    const before = await templateCount(gw);
    for (const token of [await analystToken(), await aPartnerToken(partner, Role.ADMIN), await aPartnerToken(partner, Role.AGENT)]) {
      const res = await gw.gql(PUBLISH, { input: input({ country: 'DK' }) }, token);
      expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    expect(await templateCount(gw)).toBe(before);
  });

  it('a duplicate templateId is BAD_USER_INPUT on templateId', async () => {
    await anAgreement(gw, { templateId: 'taken-id' });
    const before = await templateCount(gw);
    const res = await gw.gql(PUBLISH, { input: input({ templateId: 'taken-id', country: 'IE' }) }, admin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'templateId' });
    expect(await templateCount(gw)).toBe(before);
  });

  it('a second template of the same type, country, language and rank is BAD_USER_INPUT on versionRank', async () => {
    await gw.gql(PUBLISH, { input: input({ templateId: 'it-1', country: 'IT', language: 'it-IT' }) }, admin);
    const before = await templateCount(gw);
    const res = await gw.gql(PUBLISH, { input: input({ templateId: 'it-1b', country: 'it', language: 'IT-it' }) }, admin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'versionRank' });
    // Another language of the same rank is a translation, and welcome.
    const translation = await gw.gql(PUBLISH, { input: input({ templateId: 'it-1-en', country: 'IT', language: 'en-US' }) }, admin);
    expect(translation.errors).toBeUndefined();
    expect(await templateCount(gw)).toBe(before + 1);
  });

  it.each([
    ['versionRank', { versionRank: 0 }],
    ['versionRank', { versionRank: -3 }],
    ['country', { country: 'Germany' }],
    ['country', { country: 'XK1' }],
    ['language', { language: 'english please' }],
    ['displayUri', { displayUri: 'ftp://example.com/mca.pdf' }],
    ['displayUri', { displayUri: 'not a url' }],
    ['version', { version: '   ' }],
    ['templateId', { templateId: '  ' }],
    ['templateId', { templateId: 'has spaces' }],
    ['effectiveFrom', { effectiveFrom: '2025-02-30' }],
  ])('bad input is BAD_USER_INPUT on %s (%j), nothing written', async (field, data) => {
    const before = await templateCount(gw);
    const res = await gw.gql(PUBLISH, { input: input({ country: 'PL', ...data }) }, admin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await templateCount(gw)).toBe(before);
  });
});
