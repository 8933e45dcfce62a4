/**
 * What the follower needs of Partner Center for an enhanced attestation (pc-spec:
 * `POST/GET/DELETE /v1/attestations/enhanced`, `POST /v1/customers/{id}/agreements` with
 * `attestationId`). The follower and its tests see only this interface; the
 * implementation over the Partner Center client's one call primitive is
 * attestation.upstream.client.ts.
 */

/** Upstream attestation states (PROVISIONAL: CloudCockpit's states, PARTNER-CENTER.md section 4). */
export type UpstreamAttestationStatus = 'LinkGenerated' | 'CustomerAccepted' | 'LinkExpired' | 'AgreementCreated' | 'Cancelled';

export interface UpstreamAttestation {
  id: string;
  status: UpstreamAttestationStatus;
  acceptanceLink: string | null;
  expirationTime: Date | null;
  /** Once accepted: when the customer accepted. */
  acceptedAt: Date | null;
}

/** The body of `POST /v1/attestations/enhanced` (documented: country, language, companyName, signatory names; the rest PROVISIONAL). */
export interface CreateAttestationBody {
  customerTenantId: string;
  country: string;
  language: string;
  companyName: string;
  signatoryFirstName: string;
  signatoryLastName: string;
  signatoryEmail: string;
  signatoryPhoneNumber?: string;
  expirationTimeInMinutes: number;
}

/** The body of the agreement created from an accepted attestation. */
export interface AttestedAgreementBody {
  primaryContact: { firstName: string; lastName: string; email: string; phoneNumber?: string };
  dateAgreed: string;
  templateId: string;
  type: 'MicrosoftCustomerAgreement';
  attestationId: string;
}

export interface CreatedAgreement {
  /** The acceptance date upstream (ISO), when the answer carries it. */
  dateAgreed: string | null;
}

/** Who the call is for: the billing partner (its app-only credentials), the attestation and customer for the exchange log. */
export interface UpstreamScope {
  partnerId: string;
  attestationId: string;
  customerId: string;
}

/** Partner Center refused the call with a business error (4xx): final, with the upstream code. */
export class UpstreamRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
  ) {
    super(message);
  }

  /** As `lastError` shows it: the upstream code first. */
  get lastError(): string {
    return this.code ? `${this.code}: ${this.message}` : `HTTP ${this.status}: ${this.message}`;
  }
}

/**
 * The connection cannot be used (not connected any more, credentials refused): the
 * follower waits and tries again later rather than failing the attestation.
 */
export class UpstreamUnavailable extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    /** The MS-RequestId the retry must send: the same after no answer, a new one after an answer. */
    readonly nextRequestId?: string,
  ) {
    super(message);
  }
}

/**
 * The four calls. Each throws UpstreamRefusal for a 4xx business answer and
 * UpstreamUnavailable (or any other error) for passing trouble (timeouts, 5xx, 429,
 * tokens): the follower retries those.
 */
export interface AttestationUpstream {
  create(scope: UpstreamScope, body: CreateAttestationBody, requestId: string): Promise<UpstreamAttestation>;
  status(scope: UpstreamScope, upstreamId: string): Promise<UpstreamAttestation>;
  cancel(scope: UpstreamScope, upstreamId: string): Promise<void>;
  createAgreement(scope: UpstreamScope, customerTenantId: string, body: AttestedAgreementBody, requestId: string): Promise<CreatedAgreement>;
}

const STATUSES: readonly UpstreamAttestationStatus[] = ['LinkGenerated', 'CustomerAccepted', 'LinkExpired', 'AgreementCreated', 'Cancelled'];

const dateOf = (v: unknown): Date | null => {
  if (typeof v !== 'string' || !v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
};

/** Reads an upstream attestation object (201 of create, 200 of status); null when it is not one. */
export function parseUpstreamAttestation(body: unknown): UpstreamAttestation | null {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.id !== 'string' || !b.id) return null;
  const status = STATUSES.find((s) => s.toLowerCase() === String(b.status ?? '').toLowerCase());
  if (!status) return null;
  return {
    id: b.id,
    status,
    acceptanceLink: typeof b.acceptanceLink === 'string' ? b.acceptanceLink : null,
    expirationTime: dateOf(b.expirationTime),
    acceptedAt: dateOf(b.acceptedAt),
  };
}
