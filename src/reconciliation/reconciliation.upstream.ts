import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';
import type { Services } from '../kernel/context';
import { partnerCenterUpstream } from '../partner-center/sync.engine';
import { UpstreamError, type UpstreamErrorKind } from '../partner-center/upstream';

/**
 * What reconciliation reads from Partner Center, per customer (PARTNER-CENTER.md section 3):
 * `GET /v1/customers/{id}/agreements?agreementType=*` (both types, history kept) and
 * `GET /v1/customers/{id}/directSignedMicrosoftCustomerAgreementStatus`. Two calls per
 * customer at most; the second is skipped when the customer's direct acceptance is
 * already known.
 */

/** One upstream agreement record, as Partner Center answers it (PARTNER-CENTER.md section 3; pc-spec.md). */
export interface UpstreamAgreement {
  templateId: string;
  /** `MicrosoftCloudAgreement` or `MicrosoftCustomerAgreement` (the record's `type`). */
  type: string | null;
  /** ISO date-time (UTC) or date, as sent. */
  dateAgreed: string;
  primaryContact: { firstName: string; lastName: string; email: string; phoneNumber?: string | null };
  attestationId?: string | null;
}

/** A customer could not be read this time (transport, 5xx, throttled past the budget, refused): the run goes on without it. */
export class UpstreamReadError extends Error {
  constructor(
    message: string,
    /** The upstream code or HTTP status, when there was an answer. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The partner's connection cannot be used at all (no credentials, dead grant, unreadable secrets): the run stops. */
export class UpstreamUnavailableError extends Error {
  constructor(
    message: string,
    readonly kind: UpstreamErrorKind,
    readonly status?: number,
    readonly code?: string | null,
  ) {
    super(message);
  }
}

/** The customer as the reads name it: its tenant upstream, its id in the exchange log. */
export interface CustomerRef {
  id: string;
  tenantId: string;
}

/** Reads of one partner's Partner Center account, with its delegated (App+User) token. */
export interface ReconciliationUpstream {
  customerAgreements(customer: CustomerRef, signal?: AbortSignal): Promise<UpstreamAgreement[]>;
  directSignStatus(customer: CustomerRef, signal?: AbortSignal): Promise<boolean>;
}

/** Builds the reader for one partner; tests and the bench may replace it. */
export type UpstreamFactory = (services: Services, em: EntityManager, partnerId: string) => Promise<ReconciliationUpstream>;

/** The shapes Partner Center answers, checked: anything else is a read error, never a guess. */
export function agreementsOf(body: unknown): UpstreamAgreement[] {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) throw new UpstreamReadError('Partner Center answered customer agreements without items');
  return items.flatMap((i): UpstreamAgreement[] => {
    const c = i?.primaryContact;
    if (typeof i?.templateId !== 'string' || typeof i?.dateAgreed !== 'string' || !c || typeof c !== 'object') return [];
    return [
      {
        templateId: i.templateId.trim(),
        type: typeof i.type === 'string' ? i.type : typeof i.agreementType === 'string' ? i.agreementType : null,
        dateAgreed: i.dateAgreed,
        primaryContact: {
          firstName: String(c.firstName ?? ''),
          lastName: String(c.lastName ?? ''),
          email: String(c.email ?? ''),
          phoneNumber: typeof c.phoneNumber === 'string' && c.phoneNumber.trim() !== '' ? c.phoneNumber : null,
        },
        attestationId: typeof i.attestationId === 'string' ? i.attestationId : null,
      },
    ];
  });
}

export function isSignedOf(body: unknown): boolean {
  const signed = (body as { isSigned?: unknown } | null)?.isSigned;
  if (typeof signed !== 'boolean') throw new UpstreamReadError('Partner Center answered the direct-acceptance status without isSigned');
  return signed;
}

/** Whether the partner has a Partner Center connection stored. */
export async function isConnected(em: EntityManager, partnerId: string): Promise<boolean> {
  return (await queryRows(em, 'select 1 from partner_center_connections where partner_id = ?', [partnerId])).length > 0;
}

/**
 * Reads through the protocol's one call primitive (src/partner-center/upstream.ts): the
 * delegated token, one request budget per partner tenant shared by every instance (a 429
 * waits there), retries of timeouts and 5xx, a fresh token after a 401, every exchange
 * logged. What it cannot get past: the connection is unusable (not connected, needs
 * re-authorization, refused credentials) -> the run stops; anything else -> that customer
 * is a read error and the run goes on. A 404 (a customer Partner Center does not know)
 * reads as no records (PROVISIONAL: the vendor does not document it for these calls).
 */
export const readsFromPartnerCenter: UpstreamFactory = async (services, em, partnerId) => {
  const upstream = partnerCenterUpstream(services);
  const get = async (operation: 'agreements' | 'direct_status', path: string, customerId: string, signal?: AbortSignal): Promise<unknown | null> => {
    let answer;
    try {
      answer = await upstream.request({ partnerId, operation, method: 'GET', path, customerId, tokenKind: 'delegated', signal }, em);
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      if (err.kind === 'throttled' || err.kind === 'unavailable') throw new UpstreamReadError(err.message, err.details.code ?? (err.details.status ? String(err.details.status) : err.kind));
      throw new UpstreamUnavailableError(err.message, err.kind, err.details.status, err.details.code);
    }
    if (answer.status === 404) return null;
    if (!answer.ok) throw new UpstreamReadError(answer.message, answer.code ?? String(answer.status));
    return answer.body;
  };
  return {
    async customerAgreements(customer, signal) {
      const body = await get('agreements', `/v1/customers/${encodeURIComponent(customer.tenantId)}/agreements?agreementType=*`, customer.id, signal);
      return body === null ? [] : agreementsOf(body);
    },
    async directSignStatus(customer, signal) {
      const body = await get('direct_status', `/v1/customers/${encodeURIComponent(customer.tenantId)}/directSignedMicrosoftCustomerAgreementStatus`, customer.id, signal);
      return body === null ? false : isSignedOf(body);
    },
  };
};
