import { registerEnumType } from 'type-graphql';

/** Where the agreement document of a confirmation stands (DESIGN.md section 13). */
export enum DocumentStatus {
  /** Queued: the fetch job has not run yet. */
  PENDING = 'PENDING',
  /** Fetched and hashed by the gateway (sha256, fetchedAt). */
  FETCHED = 'FETCHED',
  /** The fetch failed (the reason kept); no hash. Never blocks the confirmation. */
  FAILED = 'FAILED',
  /** Not fetched: the partner has no Partner Center connection, or the template has no document endpoint (Cloud Agreement). */
  NOT_FETCHED = 'NOT_FETCHED',
}
registerEnumType(DocumentStatus, {
  name: 'DocumentStatus',
  description: "Whether the gateway fetched and hashed the agreement document shown",
  valuesConfig: {
    PENDING: { description: 'Queued: the gateway fetches it shortly after the confirmation' },
    FETCHED: { description: 'Fetched and hashed by the gateway at fetchedAt' },
    FAILED: { description: 'The fetch failed (see error); no hash is known' },
    NOT_FETCHED: { description: 'Not fetched: no Partner Center connection, the template has no document endpoint, or the confirmation predates evidence' },
  },
});
