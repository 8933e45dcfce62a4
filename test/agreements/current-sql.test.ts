import type { EntityManager } from '@mikro-orm/postgresql';
import { currentTemplate } from '../../src/agreements/agreement.queries';
import type { TemplateFacts } from '../../src/agreements/current';
import { queryRows } from '../../src/db/query';
import { startGateway, type TestGateway } from '../support/gateway';
import { MCA, MCUA, t, TODAY } from './template-facts';

/**
 * The current-template rule (DESIGN.md section 3) as every caller asks it: the SQL
 * function `current_agreement_templates`, through `currentTemplate`. Each case writes its
 * templates inside a transaction that is rolled back, so the cases do not see each other's.
 */

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.stop());


class RolledBack extends Error {}

/** The current template among `templates` (and no others), asked of the database. */
async function current(templates: TemplateFacts[], q: { type: string; country: string; language?: string | null; today: string }) {
  let answer: { templateId: string; versionRank: number } | null = null;
  await gw.orm.em
    .fork()
    .transactional(async (tx: EntityManager) => {
      for (const x of templates) {
        await queryRows(
          tx,
          `insert into agreement_templates (template_id, type, version, version_rank, country, language, display_uri, effective_from, created_at)
           values (?, ?, ?, ?, ?, ?, ?, ?, now())`,
          [x.templateId, x.type, `v${x.versionRank}`, x.versionRank, x.country, x.language, `https://example.com/${x.templateId}`, x.effectiveFrom],
        );
      }
      answer = await currentTemplate(tx, { type: q.type, country: q.country, language: q.language, day: q.today });
      throw new RolledBack();
    })
    .catch((err) => {
      if (!(err instanceof RolledBack)) throw err;
    });
  return answer as { templateId: string; versionRank: number } | null;
}

describe('the current template', () => {
  it('is the effective template of highest rank for the country', async () => {
    const templates = [t('de-1', { country: 'DE' }), t('de-3', { country: 'DE', versionRank: 3 }), t('de-2', { country: 'DE', versionRank: 2 })];
    expect((await current(templates, { type: MCA, country: 'DE', today: TODAY }))?.templateId).toBe('de-3');
  });

  it('ignores templates not yet effective (effectiveFrom after today)', async () => {
    const templates = [t('v1'), t('v2', { versionRank: 2, effectiveFrom: '2025-01-02' })];
    expect((await current(templates, { type: MCA, country: 'US', today: TODAY }))?.templateId).toBe('v1');
    expect((await current(templates, { type: MCA, country: 'US', today: '2025-01-02' }))?.templateId).toBe('v2');
  });

  it('falls back to GLOBAL when the country has no effective template', async () => {
    const templates = [t('global-2', { versionRank: 2 }), t('fr-future', { country: 'FR', versionRank: 5, effectiveFrom: '2030-01-01' })];
    expect((await current(templates, { type: MCA, country: 'FR', today: TODAY }))?.templateId).toBe('global-2');
  });

  it("prefers the country's own template even when GLOBAL has a higher rank", async () => {
    const templates = [t('global-9', { versionRank: 9 }), t('de-1', { country: 'DE' })];
    expect((await current(templates, { type: MCA, country: 'de', today: TODAY }))?.templateId).toBe('de-1');
  });

  it('considers only templates of the asked type', async () => {
    const templates = [t('mca-1'), t('mcua-7', { type: MCUA, versionRank: 7 })];
    expect((await current(templates, { type: MCA, country: 'US', today: TODAY }))?.templateId).toBe('mca-1');
    expect((await current(templates, { type: MCUA, country: 'US', today: TODAY }))?.templateId).toBe('mcua-7');
  });

  it('is null when nothing is effective', async () => {
    expect(await current([t('later', { effectiveFrom: '2026-01-01' })], { type: MCA, country: 'US', today: TODAY })).toBeNull();
    expect(await current([], { type: MCA, country: 'US', today: TODAY })).toBeNull();
  });

  it('uses the language only to choose among templates of the same rank', async () => {
    const templates = [t('en-2', { versionRank: 2 }), t('de-2', { versionRank: 2, language: 'de-DE' }), t('de-1', { language: 'de-DE' })];
    expect((await current(templates, { type: MCA, country: 'AT', language: 'de-DE', today: TODAY }))?.templateId).toBe('de-2');
    // de-AT has no exact match: the same primary language wins over English.
    expect((await current(templates, { type: MCA, country: 'AT', language: 'de-AT', today: TODAY }))?.templateId).toBe('de-2');
    // A language with no template of the current rank does not bring back an older rank.
    expect((await current(templates, { type: MCA, country: 'AT', language: 'fr-FR', today: TODAY }))?.versionRank).toBe(2);
  });

  it('breaks remaining ties by the smallest templateId, so the answer is stable', async () => {
    const templates = [t('b', { language: 'de-DE' }), t('a', { language: 'fr-FR' })];
    expect((await current(templates, { type: MCA, country: 'US', today: TODAY }))?.templateId).toBe('a');
    expect((await current([...templates].reverse(), { type: MCA, country: 'US', today: TODAY }))?.templateId).toBe('a');
  });
});
