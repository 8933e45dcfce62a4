import type { Services } from '../kernel/context';
import { partnerCenterUpstream } from '../partner-center/sync.engine';
import { UpstreamError, type UpstreamRequest, type UpstreamResult } from '../partner-center/upstream';
import {
  parseUpstreamAttestation,
  UpstreamRefusal,
  UpstreamUnavailable,
  type AttestationUpstream,
  type AttestedAgreementBody,
  type CreateAttestationBody,
  type UpstreamAttestation,
  type UpstreamScope,
} from './attestation.upstream';

/**
 * The attestation calls over the Partner Center client's one call primitive
 * (src/partner-center/upstream.ts: tokens, MS-RequestId, throttling, retries of 5xx and
 * timeouts, the exchange log). Enhanced attestation is AppOnly [E]; the agreement from an
 * attestation too (PROVISIONAL, pc-spec). The running gateway's caller is looked up at
 * each call: the partner-center feature starts after this one.
 */
export function attestationUpstream(services: Services): AttestationUpstream {
  const call = async (scope: UpstreamScope, req: Omit<UpstreamRequest, 'partnerId' | 'customerId' | 'attestationId' | 'tokenKind'>): Promise<UpstreamResult> => {
    try {
      return await partnerCenterUpstream(services).request({
        ...req,
        partnerId: scope.partnerId,
        customerId: scope.customerId,
        attestationId: scope.attestationId,
        tokenKind: 'app-only',
      });
    } catch (err) {
      throw asAttestationError(err);
    }
  };
  const refused = (answer: UpstreamResult) => new UpstreamRefusal(answer.status, answer.code, answer.message);
  const attestationOf = (answer: UpstreamResult): UpstreamAttestation => {
    const parsed = parseUpstreamAttestation(answer.body);
    if (!parsed) throw new UpstreamUnavailable(`Partner Center answered ${answer.status} without an attestation`);
    return parsed;
  };
  const path = (id: string) => `/v1/attestations/enhanced/${encodeURIComponent(id)}`;

  return {
    async create(scope, body: CreateAttestationBody, requestId) {
      const answer = await call(scope, { operation: 'attestation_create', method: 'POST', path: '/v1/attestations/enhanced', body, requestId });
      if (!answer.ok) throw refused(answer);
      return attestationOf(answer);
    },
    async status(scope, upstreamId) {
      const answer = await call(scope, { operation: 'attestation_status', method: 'GET', path: path(upstreamId) });
      if (!answer.ok) throw refused(answer);
      return attestationOf(answer);
    },
    async cancel(scope, upstreamId) {
      const answer = await call(scope, { operation: 'attestation_cancel', method: 'DELETE', path: path(upstreamId) });
      if (!answer.ok) throw refused(answer);
    },
    async createAgreement(scope, customerTenantId, body: AttestedAgreementBody, requestId) {
      const answer = await call(scope, {
        operation: 'confirm',
        method: 'POST',
        path: `/v1/customers/${encodeURIComponent(customerTenantId)}/agreements`,
        body,
        requestId,
        echoed: { contact: body.primaryContact },
      });
      if (!answer.ok) throw refused(answer);
      const dateAgreed = (answer.body as { dateAgreed?: unknown } | null)?.dateAgreed;
      return { dateAgreed: typeof dateAgreed === 'string' && !Number.isNaN(Date.parse(dateAgreed)) ? dateAgreed : null };
    },
  };
}

/**
 * What the follower does with a call that ended without a business answer: a refused
 * token of the right kind is final (FAILED with its code); everything else (no
 * connection, a connection to re-authorize, throttling, no answer, 5xx) waits and tries
 * again, with the MS-RequestId the primitive says the retry must send.
 */
function asAttestationError(err: unknown): Error {
  if (!(err instanceof UpstreamError)) return err as Error;
  if (err.kind === 'unauthorized') return new UpstreamRefusal(err.details.status ?? 401, err.details.code ?? null, err.message);
  return new UpstreamUnavailable(err.message, err.details.retryAfterMs, err.details.nextRequestId);
}
