import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';
import type { Services } from '../kernel/context';
import type { ConnectionSecrets } from '../partner-center/partner-center.queries';
import { syncEngine } from '../partner-center/sync.engine';

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
export class UpstreamUnavailableError extends Error {}

/** Reads of one partner's Partner Center account, with its delegated (App+User) token. */
export interface ReconciliationUpstream {
  customerAgreements(customerTenantId: string, signal?: AbortSignal): Promise<UpstreamAgreement[]>;
  directSignStatus(customerTenantId: string, signal?: AbortSignal): Promise<boolean>;
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

/** The partner's stored connection, with its tenant (null when the partner has none). */
async function connectionOf(em: EntityManager, partnerId: string): Promise<ConnectionSecrets | null> {
  const [row] = await queryRows<{ tenant_id: string; client_id: string; client_secret_enc: string; refresh_token_enc: string; connected_at: Date }>(
    em,
    `select p.tenant_id, pc.client_id, pc.client_secret_enc, pc.refresh_token_enc, pc.connected_at
       from partner_center_connections pc join partners p on p.id = pc.partner_id where pc.partner_id = ?`,
    [partnerId],
  );
  return row
    ? { partnerId, partnerTenantId: row.tenant_id, clientId: row.client_id, clientSecretEnc: row.client_secret_enc, refreshTokenEnc: row.refresh_token_enc, connectedAt: new Date(row.connected_at) }
    : null;
}

/** Whether the partner has a Partner Center connection stored. */
export async function isConnected(em: EntityManager, partnerId: string): Promise<boolean> {
  return (await queryRows(em, 'select 1 from partner_center_connections where partner_id = ?', [partnerId])).length > 0;
}

/**
 * PROVISIONAL: reads through the sync engine's token cache and a plain GET, until the
 * `protocol` branch's client call (shared throttle budget, exchange log) replaces it.
 * A 401 asks for a fresh token once; any other failure is a read error of that customer.
 */
export const partnerCenterUpstream: UpstreamFactory = async (services, em, partnerId) => {
  const secrets = await connectionOf(em, partnerId);
  if (!secrets) throw new UpstreamUnavailableError('This partner has no Partner Center connection');
  const engine = syncEngine(services);
  const base = services.config.partnerCenter.url;
  const token = async (fresh: boolean) => {
    try {
      return await engine.accessToken(em, secrets, fresh);
    } catch (err) {
      throw new UpstreamUnavailableError(`No Partner Center token: ${(err as Error).message}`);
    }
  };
  const get = async (path: string, signal?: AbortSignal): Promise<unknown> => {
    for (let attempt = 0; ; attempt++) {
      const accessToken = await token(attempt > 0);
      let res: Response;
      try {
        const timeout = AbortSignal.timeout(services.config.partnerCenter.timeoutMs);
        res = await fetch(`${base}${path}`, {
          headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json', 'ms-correlationid': randomUUID(), 'ms-requestid': randomUUID() },
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          redirect: 'error',
        });
      } catch (err) {
        throw new UpstreamReadError(`Partner Center could not be reached: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name}`);
      }
      const text = await res.text();
      if (res.status === 401 && attempt === 0) continue;
      if (res.status === 404) return { items: [] };
      if (res.status !== 200) {
        let code: string | undefined;
        try {
          code = String(JSON.parse(text)?.code ?? res.status);
        } catch {
          code = String(res.status);
        }
        throw new UpstreamReadError(`Partner Center answered ${res.status}`, code);
      }
      try {
        return JSON.parse(text);
      } catch {
        throw new UpstreamReadError('Partner Center answered a body that is not JSON');
      }
    }
  };
  return {
    async customerAgreements(tenantId, signal) {
      return agreementsOf(await get(`/v1/customers/${encodeURIComponent(tenantId)}/agreements?agreementType=*`, signal));
    },
    async directSignStatus(tenantId, signal) {
      return isSignedOf(await get(`/v1/customers/${encodeURIComponent(tenantId)}/directSignedMicrosoftCustomerAgreementStatus`, signal));
    },
  };
};
