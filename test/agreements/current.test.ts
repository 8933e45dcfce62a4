import { currentTemplate, isCurrentTemplate, isEffective, languageFit, languageOfCountry, todayUtc, type TemplateFacts } from '../../src/agreements/current';

const MCA = 'MICROSOFT_CLOUD_AGREEMENT';
const MCUA = 'MICROSOFT_CUSTOMER_AGREEMENT';
const t = (templateId: string, data: Partial<TemplateFacts> = {}): TemplateFacts => ({
  templateId,
  type: MCA,
  versionRank: 1,
  country: 'GLOBAL',
  language: 'en-US',
  effectiveFrom: '2018-11-07',
  ...data,
});
const TODAY = '2025-01-01';

describe('the current template', () => {
  it('is the effective template of highest rank for the country', () => {
    const templates = [t('de-1', { country: 'DE' }), t('de-3', { country: 'DE', versionRank: 3 }), t('de-2', { country: 'DE', versionRank: 2 })];
    expect(currentTemplate(templates, { type: MCA, country: 'DE', today: TODAY })?.templateId).toBe('de-3');
  });

  it('ignores templates not yet effective (effectiveFrom after today)', () => {
    const templates = [t('v1'), t('v2', { versionRank: 2, effectiveFrom: '2025-01-02' })];
    expect(currentTemplate(templates, { type: MCA, country: 'US', today: TODAY })?.templateId).toBe('v1');
    expect(currentTemplate(templates, { type: MCA, country: 'US', today: '2025-01-02' })?.templateId).toBe('v2');
  });

  it('falls back to GLOBAL when the country has no effective template', () => {
    const templates = [t('global-2', { versionRank: 2 }), t('fr-future', { country: 'FR', versionRank: 5, effectiveFrom: '2030-01-01' })];
    expect(currentTemplate(templates, { type: MCA, country: 'FR', today: TODAY })?.templateId).toBe('global-2');
  });

  it("prefers the country's own template even when GLOBAL has a higher rank", () => {
    const templates = [t('global-9', { versionRank: 9 }), t('de-1', { country: 'DE' })];
    expect(currentTemplate(templates, { type: MCA, country: 'de', today: TODAY })?.templateId).toBe('de-1');
  });

  it('considers only templates of the asked type', () => {
    const templates = [t('mca-1'), t('mcua-7', { type: MCUA, versionRank: 7 })];
    expect(currentTemplate(templates, { type: MCA, country: 'US', today: TODAY })?.templateId).toBe('mca-1');
    expect(currentTemplate(templates, { type: MCUA, country: 'US', today: TODAY })?.templateId).toBe('mcua-7');
  });

  it('is null when nothing is effective', () => {
    expect(currentTemplate([t('later', { effectiveFrom: '2026-01-01' })], { type: MCA, country: 'US', today: TODAY })).toBeNull();
    expect(currentTemplate([], { type: MCA, country: 'US', today: TODAY })).toBeNull();
  });

  it('uses the language only to choose among templates of the same rank', () => {
    const templates = [t('en-2', { versionRank: 2 }), t('de-2', { versionRank: 2, language: 'de-DE' }), t('de-1', { language: 'de-DE' })];
    expect(currentTemplate(templates, { type: MCA, country: 'AT', language: 'de-DE', today: TODAY })?.templateId).toBe('de-2');
    // de-AT has no exact match: the same primary language wins over English.
    expect(currentTemplate(templates, { type: MCA, country: 'AT', language: 'de-AT', today: TODAY })?.templateId).toBe('de-2');
    // A language with no template of the current rank does not bring back an older rank.
    expect(currentTemplate(templates, { type: MCA, country: 'AT', language: 'fr-FR', today: TODAY })?.versionRank).toBe(2);
  });

  it('breaks remaining ties by the smallest templateId, so the answer is stable', () => {
    const templates = [t('b', { language: 'de-DE' }), t('a', { language: 'fr-FR' })];
    expect(currentTemplate(templates, { type: MCA, country: 'US', today: TODAY })?.templateId).toBe('a');
    expect(currentTemplate([...templates].reverse(), { type: MCA, country: 'US', today: TODAY })?.templateId).toBe('a');
  });
});

describe('helpers', () => {
  it('judges effectiveness by calendar date, effectiveFrom included', () => {
    expect(isEffective({ effectiveFrom: '2025-01-01' }, '2025-01-01')).toBe(true);
    expect(isEffective({ effectiveFrom: '2025-01-02' }, '2025-01-01')).toBe(false);
  });

  it('today is the UTC calendar date', () => {
    expect(todayUtc(new Date('2025-03-04T23:30:00-05:00'))).toBe('2025-03-05');
  });

  it('scores language fit: same tag, same primary language, other', () => {
    expect(languageFit('en-US', 'en-us')).toBe(2);
    expect(languageFit('en-GB', 'en-US')).toBe(1);
    expect(languageFit('de-DE', 'en-US')).toBe(0);
    expect(languageFit('de-DE', null)).toBe(0);
  });

  it('every translation of the current rank is current; older ranks and other countries are not', () => {
    const current = t('en-2', { versionRank: 2 });
    expect(isCurrentTemplate(t('de-2', { versionRank: 2, language: 'de-DE' }), current, TODAY)).toBe(true);
    expect(isCurrentTemplate(t('en-1'), current, TODAY)).toBe(false);
    expect(isCurrentTemplate(t('us-2', { versionRank: 2, country: 'US' }), current, TODAY)).toBe(false);
    expect(isCurrentTemplate(t('en-2'), null, TODAY)).toBe(false);
  });

  it("a country's likely language picks among translations of the current version", () => {
    expect(languageOfCountry('DE')).toBe('de');
    expect(languageOfCountry('us')).toBe('en');
    expect(languageOfCountry('GLOBAL')).toBeNull();
    const translations = [t('mca-de', { versionRank: 2, language: 'de-DE' }), t('mca-en', { versionRank: 2, language: 'en-US' })];
    expect(currentTemplate(translations, { type: translations[0].type, country: 'US', language: languageOfCountry('US'), today: TODAY })?.templateId).toBe('mca-en');
    expect(currentTemplate(translations, { type: translations[0].type, country: 'DE', language: languageOfCountry('DE'), today: TODAY })?.templateId).toBe('mca-de');
  });
});
