import type { Services } from '../kernel/context';
import { UpstreamUnavailable, type AttestationUpstream } from './attestation.upstream';

/**
 * PROVISIONAL until the Partner Center client's generic `request(...)` lands (branch
 * `protocol`): every call is passing trouble, so attestations wait REQUESTED and are
 * followed once the real implementation is wired here.
 */
export function attestationUpstream(_services: Services): AttestationUpstream {
  const unwired = async (): Promise<never> => {
    throw new UpstreamUnavailable('the Partner Center attestation calls are not wired yet');
  };
  return { create: unwired, status: unwired, cancel: unwired, createAgreement: unwired };
}
