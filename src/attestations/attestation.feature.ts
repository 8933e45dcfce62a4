import type { Feature } from '../kernel/feature';
import { alertHub } from '../alerts/alert.runtime';
import { Attestation, AttestationUpdate } from './attestation.entity';
import { AttestationResolver } from './attestation.resolver';
import { ATTESTATION_UPDATES, AttestationRuntime, attestationRuntimes } from './attestation.runtime';
import { attestationUpstream } from './attestation.upstream.client';

/**
 * Enhanced attestations: status changes attach to the alert hub (so the feature starts
 * after alerts and stops before them), pg-boss follows every open attestation.
 */
export const attestationsFeature: Feature<AttestationRuntime> = {
  name: 'attestations',
  entities: [Attestation, AttestationUpdate],
  resolvers: [AttestationResolver],
  runtime: attestationRuntimes,
  async start(services) {
    const updates = await alertHub(services).attach(ATTESTATION_UPDATES);
    const runtime = new AttestationRuntime(services, updates, attestationUpstream(services));
    await runtime.start();
    return runtime;
  },
  stop: (runtime) => runtime.stop(),
};
