import { RuntimeSlot, type Feature } from '../kernel/feature';
import { AcceptanceEvidenceRecord } from './evidence.entity';
import { DocumentRuntime } from './evidence.document';
import { bundleRoute } from './evidence.bundle';
import { AcceptanceEvidenceResolver, CustomerAuditVerificationResolver, EvidenceFieldsResolver } from './evidence.resolver';

const documents = new RuntimeSlot<DocumentRuntime>('evidence');

/** Proof of acceptance (DESIGN.md section 13): evidence per confirmation and its document worker, the chain's verification, the bundle. */
export const evidenceFeature: Feature<DocumentRuntime> = {
  name: 'evidence',
  entities: [AcceptanceEvidenceRecord],
  resolvers: [AcceptanceEvidenceResolver, EvidenceFieldsResolver, CustomerAuditVerificationResolver],
  routes: [bundleRoute],
  runtime: documents,
  start: async (services) => {
    const runtime = new DocumentRuntime(services);
    await runtime.start();
    return runtime;
  },
  stop: (runtime) => runtime.stop(),
};
