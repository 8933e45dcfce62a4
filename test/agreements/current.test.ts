import { preferredTranslation } from '../../src/agreements/agreement.queries';
import { isCurrentTemplate, isEffective, languageFit, languageOfCountry, todayUtc, type TemplateFacts } from '../../src/agreements/current';
import { MCA, MCUA, t, TODAY } from './template-facts';


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
    expect(preferredTranslation(translations, languageOfCountry('US'))?.templateId).toBe('mca-en');
    expect(preferredTranslation(translations, languageOfCountry('DE'))?.templateId).toBe('mca-de');
  });
});
