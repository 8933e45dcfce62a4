import type { Feature } from '../kernel/feature';
import { AcceptanceEvidenceRecord } from './evidence.entity';

/** Proof of acceptance (DESIGN.md section 13): evidence per confirmation, the chain's verification, the bundle. */
export const evidenceFeature: Feature = {
  name: 'evidence',
  entities: [AcceptanceEvidenceRecord],
};
