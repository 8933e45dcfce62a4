import { contactValue, type ContactKind } from '../auth/mask';
import type { Viewer } from '../auth/viewer';
import { ACCEPTANCE_EVENTS, CORRECTIONS_WITH_ACCEPTANCE, correctionKey, joinAcceptance, type EventColumns, type EventSource } from '../acceptance/acceptance.queries';
import { CONTACT_FIELDS } from '../acceptance/acceptance.rules';
import { DIRECT_ACCEPTANCE_EVENT } from '../customers/direct-acceptance';
import { ATTESTATION_EVENTS } from '../attestations/attestation.queries';
import { DRIFT_EVENT } from '../reconciliation/drift.events';
import { AuditEvent } from './audit.enums';
import { SUBSCRIPTION_EVENTS } from '../transactions/subscription.events';

/**
 * The audit trail of DESIGN.md section 9, written once in SQL so that the GraphQL
 * field and the export cannot disagree: one UNION ALL over the tables where each
 * event is recorded, restricted to the (customer_id, partner_id) pairs of a CTE
 * named `pairs` that the caller defines. The acceptance events are the acceptance
 * feature's to describe (`ACCEPTANCE_EVENTS`: their columns and where each is recorded);
 * this file lays them out as branches beside the Partner Center sync events.
 *
 * Row order within one instant: a submission, its review, the confirmation it
 * records, the confirmation it supersedes, corrections (in the contact's field
 * order), the withdrawal, then sync events. `key` breaks the remaining ties stably.
 */

/** Columns of an event row. */
export interface AuditRow {
  at: Date;
  event: AuditEvent;
  customer_id: string;
  partner_id: string;
  acceptance_id: string | null;
  actor_id: string | null;
  field: string | null;
  old_value: string | null;
  new_value: string | null;
  note: string | null;
}

const cols = (c: EventColumns) =>
  `${c.at} as at, ${c.event} as event, ${c.rank} as rank, ${c.customer} as customer_id, ${c.partner} as partner_id, ${c.acceptance} as acceptance_id,
   ${c.actor} as actor_id, ${c.field ?? 'null::text'} as field, ${c.old ?? 'null::text'} as old_value, ${c.new ?? 'null::text'} as new_value,
   ${c.note ?? 'null::text'} as note, ${c.key} as key`;

/** Keeps a branch's rows of the caller's pairs, joined once per branch (the planner pushes the pair filter into each). */
const pairs = (customer: string, partner: string) => `join pairs p on p.customer_id = ${customer} and p.partner_id = ${partner}`;
const ofPairs = (alias: string) => pairs(`${alias}.customer_id`, `${alias}.partner_id`);

/** One event source as a branch of the union. */
const branch = (e: EventSource) => `select ${cols(e.columns)}
     from ${e.from(pairs)}`;

const CORRECTIONS = branch(ACCEPTANCE_EVENTS.corrected);

/** The acceptance feature's events (src/acceptance/acceptance.queries.ts), in the trail's order. */
const BRANCHES = [
  branch(ACCEPTANCE_EVENTS.confirmed),
  branch(ACCEPTANCE_EVENTS.superseded),
  CORRECTIONS,
  branch(ACCEPTANCE_EVENTS.withdrawn),
  branch(ACCEPTANCE_EVENTS.submitted),
  branch(ACCEPTANCE_EVENTS.reviewed),
  // The customer's own acceptance with the vendor (src/customers), in every partner's trail.
  branch(DIRECT_ACCEPTANCE_EVENT),
  // Enhanced attestations (src/attestations): requested, and attested before the confirmation it records.
  branch(ATTESTATION_EVENTS.requested),
  branch(ATTESTATION_EVENTS.attested),
  // Drift found by reconciliation with Partner Center (src/reconciliation), when first found.
  branch(DRIFT_EVENT),
  // What a withdrawal or the partner did to the subscriptions (src/transactions): cancelled, auto-renew off or on.
  branch(SUBSCRIPTION_EVENTS),
];

/**
 * Partner Center sync (DESIGN.md section 8, src/partner-center). `acceptance_syncs`
 * keeps the current delivery state of each acceptance, not a history: the trail shows
 * the last successful delivery (note: the MS-RequestId) and, while the state is
 * FAILED, the failed attempt (note: the error). Done by the gateway: no actor.
 */
export const SYNC_BRANCHES: string[] = [
  `select ${cols({ at: 'y.synced_at', event: "'SYNCED'", rank: 7, customer: 'a.customer_id', partner: 'a.partner_id', acceptance: 'a.id', actor: 'null::text', note: 'y.request_id::text', key: "'1' || a.id::text" })}
     from acceptance_syncs y ${joinAcceptance('y.acceptance_id')} ${ofPairs('a')} where y.synced_at is not null`,
  `select ${cols({ at: 'coalesce(y.last_attempt_at, y.created_at)', event: "'SYNC_FAILED'", rank: 7, customer: 'a.customer_id', partner: 'a.partner_id', acceptance: 'a.id', actor: 'null::text', note: 'y.last_error', key: "'2' || a.id::text" })}
     from acceptance_syncs y ${joinAcceptance('y.acceptance_id')} ${ofPairs('a')} where y.status = 'FAILED'`,
];

/** Every event of the pairs, unordered; wrap it to filter and order. */
export function auditEventsSql(): string {
  return [...BRANCHES, ...SYNC_BRANCHES].map((b) => `(${b})`).join('\nunion all\n');
}

/** What the export shows beside an event (its last four columns), for a branch's rows aliased `b`. */
const LOOKUP_COLUMNS = 'c.tenant_id as customer_tenant_id, c.company_name as customer_name, pt.name as partner_name, u.display_name as actor_name';
const lookups = (b: string, actor: string) =>
  `join customers c on c.id = ${b}.customer_id join partners pt on pt.id = ${b}.partner_id left join users u on u.id = ${actor}`;

/**
 * The corrections branch in `corrected_at` order from its index (acceptance_corrections has
 * no partner column to scan by): every correction, time-ordered, joined to its acceptance
 * and the export's lookups in a subquery the planner sizes as the whole table, then kept
 * when its pair is in `pairs`. The pair test is a hashed filter, not a join (`is true`
 * keeps it from becoming a semi-join), so the index order survives: a join to the
 * materialized `pairs` is estimated at a few thousand rows, and the planner would sort them.
 */
const CORRECTIONS_BY_TIME = `select ${cols({
  at: 'x.corrected_at',
  event: "'CORRECTED'",
  rank: 5,
  customer: 'x.customer_id',
  partner: 'x.partner_id',
  acceptance: 'x.acceptance_id',
  actor: 'x.corrected_by_id',
  field: 'x.field::text',
  old: 'x.old_value',
  new: 'x.new_value',
  key: correctionKey('x'),
})}, x.customer_tenant_id, x.customer_name, x.partner_name, x.actor_name
     from (select k.id, k.corrected_at, k.corrected_by_id, k.field, k.old_value, k.new_value, a.id as acceptance_id, a.customer_id, a.partner_id, ${LOOKUP_COLUMNS}
             from ${CORRECTIONS_WITH_ACCEPTANCE} ${lookups('a', 'k.corrected_by_id')}
            order by k.corrected_at) x
    where ((x.customer_id, x.partner_id) in (select p.customer_id, p.partner_id from pairs p)) is true
    order by at`;

/**
 * Every event of the pairs as `auditEventsSql`, with the export's lookups (customer_tenant_id,
 * customer_name, partner_name, actor_name), each branch ordered by `at`: ordered by
 * `at, customer_id, rank, key`, PostgreSQL merges the branches (Merge Append) and sorts
 * only the rows of one instant (Incremental Sort), so the first row comes without sorting
 * the whole trail. The small branches are sorted on their own; corrections come from
 * the `corrected_at` index (CORRECTIONS_BY_TIME), which reads every partner's corrections.
 */
export function auditEventsByTimeSql(): string {
  const withLookups = (branch: string) => `select b.*, ${LOOKUP_COLUMNS} from (${branch}) b ${lookups('b', 'b.actor_id')} order by b.at`;
  return [...BRANCHES.map((b) => (b === CORRECTIONS ? CORRECTIONS_BY_TIME : withLookups(b))), ...SYNC_BRANCHES.map(withLookups)].map((b) => `(${b})`).join('\nunion all\n');
}

const kindOf = (field: string): ContactKind => (field === 'email' ? 'email' : field === 'phoneNumber' ? 'phone' : 'name');
const isContactField = (field: string | null): field is string => field !== null && (CONTACT_FIELDS as readonly string[]).includes(field);

/** An old or new value of an event's `field`: contact fields go through the one masking helper (analysts see them masked). */
export function maskedValue(viewer: Viewer | null, field: string | null, value: string | null): string | null {
  return isContactField(field) ? contactValue(viewer, kindOf(field), value) : value;
}

/** Old and new values of contact fields go through the one masking helper (analysts see them masked). */
export function maskedValues(viewer: Viewer | null, row: Pick<AuditRow, 'field' | 'old_value' | 'new_value'>): { oldValue: string | null; newValue: string | null } {
  return { oldValue: maskedValue(viewer, row.field, row.old_value), newValue: maskedValue(viewer, row.field, row.new_value) };
}
