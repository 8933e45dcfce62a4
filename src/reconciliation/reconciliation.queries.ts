import type { EntityManager } from '@mikro-orm/postgresql';
import { UPSTREAM_SOURCES } from '../acceptance/acceptance.enums';
import { TOTAL_COUNT_CAP, type SqlCondition } from '../common/connection';
import { queryRows } from '../db/query';
import type { AcceptanceDriftRecord } from './reconciliation.entity';
import type { DriftKind } from './reconciliation.enums';
import type { LocalState } from './reconciliation.rules';

/** One customer to reconcile: served by the partner as billing partner, on the public cloud. */
export interface CustomerToCheck {
  id: string;
  tenantId: string;
  directKnown: boolean;
}

/** A page of the partner's public-cloud customers after `afterId`, in id order. */
export async function customersToCheck(em: EntityManager, partnerId: string, afterId: string | null, limit: number): Promise<CustomerToCheck[]> {
  const rows = await queryRows<{ id: string; tenant_id: string; direct_known: boolean }>(
    em,
    `select c.id, c.tenant_id, (c.direct_acceptance_type is not null) as direct_known
       from customer_relationships r join customers c on c.id = r.customer_id
      where r.partner_id = ? and c.cloud = 'PUBLIC' and c.id > coalesce(?::uuid, '00000000-0000-0000-0000-000000000000'::uuid)
      order by c.id limit ?`,
    [partnerId, afterId, limit],
  );
  return rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, directKnown: r.direct_known }));
}

interface LocalRow {
  customer_id: string;
  id: string | null;
  template_id: string | null;
  date_agreed: string | null;
  contact_first_name: string | null;
  contact_last_name: string | null;
  contact_email: string | null;
  contact_phone_number: string | null;
  source: string | null;
  sync_status: string | null;
  latest_status: string | null;
}

/** Each customer's local state with the partner (its active confirmation, whether the latest was withdrawn), in one statement. */
export async function localStates(em: EntityManager, partnerId: string, customers: CustomerToCheck[]): Promise<Map<string, LocalState>> {
  const rows = await queryRows<LocalRow>(
    em,
    `select c.id as customer_id, a.id, a.template_id, to_char(a.date_agreed, 'YYYY-MM-DD') as date_agreed, a.contact_first_name, a.contact_last_name,
            a.contact_email, a.contact_phone_number, a.source, s.status as sync_status,
            (select l.status from acceptances l where l.customer_id = c.id and l.partner_id = ? order by l.recorded_at desc, l.id desc limit 1) as latest_status
       from unnest(?::uuid[]) as c(id)
       left join acceptances a on a.customer_id = c.id and a.partner_id = ? and a.status = 'ACTIVE'
       left join acceptance_syncs s on s.acceptance_id = a.id`,
    [partnerId, customers.map((c) => c.id), partnerId],
  );
  const direct = new Map(customers.map((c) => [c.id, c.directKnown]));
  return new Map(
    rows.map((r) => [
      r.customer_id,
      {
        active: r.id
          ? {
              id: r.id,
              templateId: r.template_id!,
              dateAgreed: r.date_agreed!,
              contact: { firstName: r.contact_first_name!, lastName: r.contact_last_name!, email: r.contact_email!, phoneNumber: r.contact_phone_number },
              onRecordUpstream: r.sync_status === 'SYNCED' || (UPSTREAM_SOURCES as readonly string[]).includes(r.source ?? ''),
            }
          : null,
        withdrawn: !r.id && r.latest_status === 'WITHDRAWN',
        directKnown: direct.get(r.customer_id) ?? false,
      },
    ]),
  );
}

/** Of these template ids, the ones known locally. */
export async function knownTemplates(em: EntityManager, templateIds: string[]): Promise<Set<string>> {
  if (!templateIds.length) return new Set();
  const rows = await queryRows<{ template_id: string }>(em, 'select template_id from agreement_templates where template_id = any(?::text[])', [templateIds]);
  return new Set(rows.map((r) => r.template_id));
}

/** Whether the pair has an active confirmation now (inside the import's transaction, after locking the relationship). */
export async function lockPairAndHasActive(tx: EntityManager, customerId: string, partnerId: string): Promise<boolean> {
  await queryRows(tx, 'select id from customer_relationships where customer_id = ? and partner_id = ? for update', [customerId, partnerId]);
  const rows = await queryRows(tx, `select 1 from acceptances where customer_id = ? and partner_id = ? and status = 'ACTIVE'`, [customerId, partnerId]);
  return rows.length > 0;
}

export interface DriftRow {
  id: string;
  customer_id: string;
  partner_id: string;
  kind: DriftKind;
  detail: string;
  acceptance_id: string | null;
  first_detected_at: string;
  detected_at: string;
  resolved_at: string | null;
}

export const plainDrift = (r: DriftRow): AcceptanceDriftRecord =>
  ({
    id: r.id,
    customer: { id: r.customer_id },
    partner: { id: r.partner_id },
    kind: r.kind,
    detail: r.detail,
    acceptanceId: r.acceptance_id,
    firstDetectedAt: new Date(r.first_detected_at),
    detectedAt: new Date(r.detected_at),
    resolvedAt: r.resolved_at ? new Date(r.resolved_at) : null,
  }) as unknown as AcceptanceDriftRecord;

export interface DriftFound {
  customerId: string;
  kind: DriftKind;
  detail: string;
  acceptanceId: string | null;
}

/**
 * Records a chunk's findings: a new open row per (customer, partner, kind), or the open
 * one's `detectedAt` and `detail` moved on (its first detail and acceptance, which the
 * hash-chained audit event shows, stay). Answers every row written, and which were new.
 */
export async function upsertDrift(tx: EntityManager, partnerId: string, found: DriftFound[], at: Date): Promise<(DriftRow & { inserted: boolean })[]> {
  if (!found.length) return [];
  return queryRows<DriftRow & { inserted: boolean }>(
    tx,
    `insert into acceptance_drift (id, customer_id, partner_id, kind, detail, first_detail, acceptance_id, first_detected_at, detected_at, resolved_at)
     select gen_random_uuid(), x.customer_id, ?, x.kind, x.detail, x.detail, x.acceptance_id, ?, ?, null
       from json_to_recordset(?::json) as x(customer_id uuid, kind text, detail text, acceptance_id uuid)
     on conflict (customer_id, partner_id, kind) where resolved_at is null
     do update set detected_at = excluded.detected_at, detail = excluded.detail
     returning id, customer_id, partner_id, kind, detail, acceptance_id, first_detected_at, detected_at, resolved_at, (xmax = 0) as inserted`,
    [partnerId, at.toISOString(), at.toISOString(), JSON.stringify(found.map((f) => ({ customer_id: f.customerId, kind: f.kind, detail: f.detail, acceptance_id: f.acceptanceId })))],
  );
}

/** Resolves the open drift of the checked customers that this run did not find again. */
export async function resolveDrift(tx: EntityManager, partnerId: string, checked: string[], found: DriftFound[], at: Date): Promise<number> {
  if (!checked.length) return 0;
  const rows = await queryRows(
    tx,
    `update acceptance_drift d set resolved_at = ?
      where d.partner_id = ? and d.customer_id = any(?::uuid[]) and d.resolved_at is null
        and not exists (select 1 from json_to_recordset(?::json) as x(customer_id uuid, kind text) where x.customer_id = d.customer_id and x.kind = d.kind)
     returning d.id`,
    [at.toISOString(), partnerId, checked, JSON.stringify(found.map((f) => ({ customer_id: f.customerId, kind: f.kind })))],
  );
  return rows.length;
}

/** Takes the partner's reconciliation lease; false when another run holds it. */
export async function takeLease(em: EntityManager, partnerId: string, leaseSeconds: number): Promise<boolean> {
  const rows = await queryRows(
    em,
    `insert into partner_center_reconciliations (partner_id, started_at, finished_at, lease_until, checked, failed, drift_found)
     values (?, now(), null, now() + make_interval(secs => ?), 0, 0, 0)
     on conflict (partner_id) do update set started_at = now(), finished_at = null, lease_until = excluded.lease_until, checked = 0, failed = 0, drift_found = 0
      where partner_center_reconciliations.finished_at is not null or partner_center_reconciliations.lease_until < now()
     returning partner_id`,
    [partnerId, leaseSeconds],
  );
  return rows.length > 0;
}

/** Keeps the lease while the run makes progress. */
export async function extendLease(em: EntityManager, partnerId: string, leaseSeconds: number, progress: { checked: number; failed: number; drift: number }): Promise<void> {
  await queryRows(
    em,
    `update partner_center_reconciliations set lease_until = now() + make_interval(secs => ?), checked = ?, failed = ?, drift_found = ? where partner_id = ? and finished_at is null`,
    [leaseSeconds, progress.checked, progress.failed, progress.drift, partnerId],
  );
}

export async function finishRun(em: EntityManager, partnerId: string, result: { checked: number; failed: number; drift: number }): Promise<void> {
  await queryRows(
    em,
    `update partner_center_reconciliations set finished_at = now(), lease_until = now(), checked = ?, failed = ?, drift_found = ? where partner_id = ?`,
    [result.checked, result.failed, result.drift, partnerId],
  );
}

/** Whether a run of the partner started at or after `since` (a queued daily job finds its work done). */
export async function startedSince(em: EntityManager, partnerId: string, since: string): Promise<boolean> {
  return (await queryRows(em, 'select 1 from partner_center_reconciliations where partner_id = ? and started_at >= ?', [partnerId, since])).length > 0;
}

/** Partners with a Partner Center connection (the daily run's list). */
export async function connectedPartners(em: EntityManager): Promise<string[]> {
  const rows = await queryRows<{ partner_id: string }>(em, 'select partner_id from partner_center_connections order by partner_id');
  return rows.map((r) => r.partner_id);
}

export const DRIFT_COLUMNS = 'd.id, d.customer_id, d.partner_id, d.kind, d.detail, d.acceptance_id, d.first_detected_at, d.detected_at, d.resolved_at';

/**
 * The drift rows of `partnerId` (all partners when null) that are open (`open` true), resolved
 * (false) or either (null), from the counts the triggers keep (Migration20261211100000), capped
 * as a bounded `totalCount` is: one row, `count`. Only for a viewer who sees every customer:
 * the counts do not know who may see which customer.
 */
export function driftCountSql(partnerId: string | null, open: boolean | null): SqlCondition {
  return {
    sql: `select least(coalesce(sum(k.n), 0), ${TOTAL_COUNT_CAP + 1})::int as count from acceptance_drift_counts k
           where (?::uuid is null or k.partner_id = ?::uuid) and (?::boolean is null or k.open = ?::boolean)`,
    params: [partnerId, partnerId, open, open],
  };
}

/** Counts the drift rows again from the table: for a load that wrote them with the triggers off (the benchmark seeder's COPY). */
export async function refillDriftCounts(em: EntityManager): Promise<void> {
  await queryRows(em, 'delete from acceptance_drift_counts');
  await queryRows(em, 'insert into acceptance_drift_counts (partner_id, open, n) select partner_id, resolved_at is null, count(*) from acceptance_drift group by 1, 2');
}
