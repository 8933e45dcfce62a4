import type { TemplateFacts } from '../../src/agreements/current';

/** Template facts for the current-template rule's cases (DESIGN.md section 3), shared by its TypeScript and SQL tests. */
export const MCA = 'MICROSOFT_CLOUD_AGREEMENT';
export const MCUA = 'MICROSOFT_CUSTOMER_AGREEMENT';
export const TODAY = '2025-01-01';

export const t = (templateId: string, data: Partial<TemplateFacts> = {}): TemplateFacts => ({
  templateId,
  type: MCA,
  versionRank: 1,
  country: 'GLOBAL',
  language: 'en-US',
  effectiveFrom: '2018-11-07',
  ...data,
});
