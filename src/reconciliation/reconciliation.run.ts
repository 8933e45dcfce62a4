import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { recordConfirmations } from '../acceptance/acceptance.service';
import { appendAuditChain } from '../audit/audit.chain';
import { Channel, EvidenceSource } from '../acceptance/acceptance.enums';
import { AgreementType } from '../agreements/agreement.enums';
import { todayUtc } from '../agreements/current';
import { Role } from '../auth/roles';
import type { Viewer } from '../auth/viewer';
import { normalizeContact } from '../common/contact';
import { DirectAcceptanceSource, type DirectAcceptanceInput } from '../customers/direct-acceptance';
import { DirectAcceptanceService } from '../customers/direct-acceptance.service';
import { queryRows } from '../db/query';
import { ConflictError, ForbiddenError } from '../errors';
import type { Services } from '../kernel/context';
import type { ReconciliationMetrics } from './reconciliation.metrics';
import {
  customersToCheck,
  extendLease,
  finishRun,
  knownTemplates,
  localStates,
  lockPairAndHasActive,
  plainDrift,
  resolveDrift,
  takeLease,
  upsertDrift,
  type CustomerToCheck,
  type DriftFound,
} from './reconciliation.queries';
import type { AcceptanceDriftRecord } from './reconciliation.entity';
import { DriftKind } from './reconciliation.enums';
import { dayOf, driftOf, type Finding } from './reconciliation.rules';
import { UpstreamReadError, type ReconciliationUpstream, type UpstreamAgreement, type UpstreamFactory } from './reconciliation.upstream';

/** The gateway's own user: it records what reconciliation imports (confirmedBy), for scheduled and on-demand runs alike. */
export const RECONCILIATION_USER = 'partner-center-reconciliation';
/** The direct-acceptance service records for platform admins; reconciliation acts as one for that call only. */
const RECONCILIATION_VIEWER: Viewer = { userId: RECONCILIATION_USER, displayName: 'Partner Center reconciliation', roles: [Role.PLATFORM_ADMIN] };

/** Customers read per page (and written per transaction). */
const PAGE = 200;
/** A run holds its partner's lease this long past its last progress. */
const LEASE_SECONDS = 300;

export interface RunDeps {
  services: Services;
  upstream: UpstreamFactory;
  metrics: ReconciliationMetrics;
  /** Customers read from Partner Center at once, per run. */
  concurrency: number;
  log: Logger;
  signal?: AbortSignal;
}

export interface RunResult {
  checked: number;
  failed: number;
  drift: AcceptanceDriftRecord[];
}

/** Runs `work` over `items`, at most `limit` at a time, answering results in order. */
async function mapLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

type Read = { customer: CustomerToCheck; agreements: UpstreamAgreement[]; directSigned: boolean | null } | { customer: CustomerToCheck; error: UpstreamReadError };

/** At most two calls per customer: its agreements of both types, and the direct-sign status unless already known. */
async function readCustomer(upstream: ReconciliationUpstream, customer: CustomerToCheck, signal?: AbortSignal): Promise<Read> {
  try {
    const agreements = await upstream.customerAgreements(customer, signal);
    const directSigned = customer.directKnown ? null : await upstream.directSignStatus(customer, signal);
    return { customer, agreements, directSigned };
  } catch (err) {
    if (err instanceof UpstreamReadError) return { customer, error: err };
    throw err;
  }
}

async function ensureReconciliationUser(em: EntityManager): Promise<void> {
  await queryRows(
    em,
    `insert into users (id, display_name, partner_id, roles, first_seen_at, last_seen_at) values (?, ?, null, '{}', now(), now()) on conflict (id) do nothing`,
    [RECONCILIATION_USER, RECONCILIATION_VIEWER.displayName],
  );
}

/**
 * Applies one finding that asks for a write, inside the chunk's transaction; answers the
 * finding as recorded (its detail says when the write was not made) and the acceptance concerned.
 */
async function apply(tx: EntityManager, partnerId: string, customerId: string, f: Finding, at: Date): Promise<{ finding: Finding; acceptanceId: string | null }> {
  if (f.importRecord) {
    const record = f.importRecord;
    const notImported = (why: string) => ({ finding: { ...f, importRecord: undefined, detail: f.detail.replace(/; imported as .*$/, `; not imported: ${why}`) }, acceptanceId: null });
    // Never over a local confirmation: one recorded since the read wins, and this stays drift.
    if (await lockPairAndHasActive(tx, customerId, partnerId)) return notImported('a local confirmation was recorded meanwhile');
    let contact;
    try {
      contact = normalizeContact(record.primaryContact, 'primaryContact');
    } catch {
      return notImported("Partner Center's contact is not valid here");
    }
    const { outcomes } = await recordConfirmations(tx, partnerId, RECONCILIATION_USER, [
      { customerId, templateId: record.templateId, dateAgreed: dayOf(record.dateAgreed)!, contact, onBehalfOf: null, channel: Channel.API, source: EvidenceSource.PARTNER_CENTER },
    ], at);
    const outcome = outcomes[0];
    if (outcome instanceof ForbiddenError) return notImported('the partner no longer serves the customer');
    return { finding: f, acceptanceId: outcome.id };
  }
  if (f.recordDirect) {
    const [row] = await queryRows<{ known: boolean }>(tx, 'select direct_acceptance_type is not null as known from customers where id = ? for update', [customerId]);
    if (row && !row.known) {
      const input = { customerId, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, acceptedOn: todayUtc(at) } as DirectAcceptanceInput;
      await new DirectAcceptanceService(tx, RECONCILIATION_VIEWER).record(input, DirectAcceptanceSource.PARTNER_CENTER, at);
    }
  }
  return { finding: f, acceptanceId: null };
}

/**
 * Reconciles one partner with Partner Center (DESIGN.md section 11): every public-cloud
 * customer it serves as billing partner, page by page, `concurrency` customers read at
 * once; each page's findings written in one transaction (imports, direct acceptances,
 * drift opened or moved on, drift no longer found resolved). A customer that cannot be
 * read is counted `failed` and its open drift kept. One run per partner at a time across
 * instances (the lease); a second is CONFLICT.
 */
export async function reconcilePartner(deps: RunDeps, partnerId: string): Promise<RunResult> {
  const em = deps.services.orm.em.fork() as EntityManager;
  if (!(await takeLease(em, partnerId, LEASE_SECONDS))) throw new ConflictError('A reconciliation of this partner is running; its result will be in acceptanceDrift');
  const result: RunResult = { checked: 0, failed: 0, drift: [] };
  try {
    await ensureReconciliationUser(em);
    const upstream = await deps.upstream(deps.services, em, partnerId);
    let after: string | null = null;
    for (;;) {
      deps.signal?.throwIfAborted();
      const customers = await customersToCheck(em, partnerId, after, PAGE);
      if (!customers.length) break;
      after = customers[customers.length - 1].id;
      const [locals, reads] = await Promise.all([localStates(em, partnerId, customers), mapLimit(customers, deps.concurrency, (c) => readCustomer(upstream, c, deps.signal))]);
      const ok = reads.filter((r): r is Extract<Read, { agreements: UpstreamAgreement[] }> => 'agreements' in r);
      for (const r of reads) if ('error' in r) deps.log.warn({ partnerId, customerId: r.customer.id, code: r.error.code, err: r.error.message }, 'reconciliation could not read a customer');
      const known = await knownTemplates(em, [...new Set(ok.flatMap((r) => r.agreements.map((a) => a.templateId)))]);
      const at = new Date();
      const written = await em.transactional(async (t) => {
        const tx = t as EntityManager;
        const found: DriftFound[] = [];
        for (const r of ok) {
          const local = locals.get(r.customer.id)!;
          for (const f of driftOf(local, { agreements: r.agreements, directSigned: r.directSigned }, (id) => known.has(id))) {
            const { finding, acceptanceId } = await apply(tx, partnerId, r.customer.id, f, at);
            found.push({ customerId: r.customer.id, kind: finding.kind, detail: finding.detail, acceptanceId: acceptanceId ?? (finding.kind === DriftKind.UNKNOWN_LOCALLY ? null : local.active?.id ?? null) });
          }
        }
        const rows = await upsertDrift(tx, partnerId, found, at);
        await resolveDrift(tx, partnerId, ok.map((r) => r.customer.id), found, at);
        // Newly found drift is an audit event (DRIFT_DETECTED): chained in this transaction.
        await appendAuditChain(tx, rows.filter((r) => r.inserted).map((r) => ({ customerId: r.customer_id, partnerId })));
        return rows;
      });
      for (const row of written) if (row.inserted) deps.metrics.drift.inc({ kind: row.kind });
      deps.metrics.customers.inc({ outcome: 'ok' }, ok.length);
      deps.metrics.customers.inc({ outcome: 'failed' }, reads.length - ok.length);
      result.checked += ok.length;
      result.failed += reads.length - ok.length;
      result.drift.push(...written.map(plainDrift));
      await extendLease(em, partnerId, LEASE_SECONDS, { checked: result.checked, failed: result.failed, drift: result.drift.length });
    }
  } finally {
    await finishRun(em, partnerId, { checked: result.checked, failed: result.failed, drift: result.drift.length }).catch((err) => deps.log.warn({ err, partnerId }, 'reconciliation lease not released'));
  }
  deps.log.info({ partnerId, checked: result.checked, failed: result.failed, drift: result.drift.length }, 'partner center reconciliation done');
  return result;
}
