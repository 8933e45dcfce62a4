import { contactValue, type ContactKind } from '../auth/mask';
import type { Viewer } from '../auth/viewer';
import { ACCEPTANCE_EVENTS, CORRECTIONS_WITH_ACCEPTANCE, joinAcceptance, type EventColumns, type EventSource, type PairJoin } from '../acceptance/acceptance.queries';
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

/** The rows of the caller's pairs (a CTE named `pairs`), joined once per branch (the planner pushes the pair filter into each). */
const pairsCte: PairJoin = (customer, partner) => `join pairs p on p.customer_id = ${customer}${partner === null ? '' : ` and p.partner_id = ${partner}`}`;

/** One event source as a branch of the union. */
const branch = (e: EventSource, pairs: PairJoin) => `select ${cols(e.columns)}
     from ${e.from(pairs)}`;

/**
 * The branches of the trail, in its order: the acceptance feature's events
 * (src/acceptance/acceptance.queries.ts), the customer's direct acceptance, attestations,
 * drift, subscription events, then Partner Center sync.
 */
const branches = (pairs: PairJoin): { sql: string; source?: EventSource }[] =>
  [
    ACCEPTANCE_EVENTS.confirmed,
    ACCEPTANCE_EVENTS.superseded,
    ACCEPTANCE_EVENTS.corrected,
    ACCEPTANCE_EVENTS.withdrawn,
    ACCEPTANCE_EVENTS.submitted,
    ACCEPTANCE_EVENTS.reviewed,
    // The customer's own acceptance with the vendor (src/customers), in every partner's trail.
    DIRECT_ACCEPTANCE_EVENT,
    // Enhanced attestations (src/attestations): requested, and attested before the confirmation it records.
    ATTESTATION_EVENTS.requested,
    ATTESTATION_EVENTS.attested,
    // Drift found by reconciliation with Partner Center (src/reconciliation), when first found.
    DRIFT_EVENT,
    // What a withdrawal or the partner did to the subscriptions (src/transactions): cancelled, auto-renew off or on.
    SUBSCRIPTION_EVENTS,
  ]
    .map((e): { sql: string; source?: EventSource } => ({ sql: branch(e, pairs), source: e }))
    .concat(syncBranches(pairs).map((sql) => ({ sql })));

/**
 * Partner Center sync (DESIGN.md section 8, src/partner-center). `acceptance_syncs`
 * keeps the current delivery state of each acceptance, not a history: the trail shows
 * the last successful delivery (note: the MS-RequestId) and, while the state is
 * FAILED, the failed attempt (note: the error). Done by the gateway: no actor. The sync
 * row's own partner is its acceptance's: the export ranges over the sync's indexes by it.
 */
const syncBranches = (pairs: PairJoin): string[] => [
  `select ${cols({ at: 'y.synced_at', event: "'SYNCED'", rank: 7, customer: 'a.customer_id', partner: 'a.partner_id', acceptance: 'a.id', actor: 'null::text', note: 'y.request_id::text', key: "'1' || a.id::text" })}
     from acceptance_syncs y ${joinAcceptance('y.acceptance_id')} ${pairs('a.customer_id', 'a.partner_id', 'y.partner_id')} where y.synced_at is not null`,
  `select ${cols({ at: SYNC_FAILED_AT, event: "'SYNC_FAILED'", rank: 7, customer: 'a.customer_id', partner: 'a.partner_id', acceptance: 'a.id', actor: 'null::text', note: 'y.last_error', key: "'2' || a.id::text" })}
     from acceptance_syncs y ${joinAcceptance('y.acceptance_id')} ${pairs('a.customer_id', 'a.partner_id', 'y.partner_id')} where y.status = 'FAILED'`,
];

/** When a failed sync is shown: its last attempt (an index expression of Migration20261208100000). */
const SYNC_FAILED_AT = 'coalesce(y.last_attempt_at, y.created_at)';

/** Every event of the pairs, unordered; wrap it to filter and order. */
export function auditEventsSql(): string {
  return branches(pairsCte)
    .map((b) => `(${b.sql})`)
    .join('\nunion all\n');
}

/** What the export shows beside an event (its last four columns), for a branch's rows aliased `b`. */
const LOOKUP_COLUMNS = 'c.tenant_id as customer_tenant_id, c.company_name as customer_name, pt.name as partner_name, u.display_name as actor_name';
const lookups = (b: string, actor: string) =>
  `join customers c on c.id = ${b}.customer_id join partners pt on pt.id = ${b}.partner_id left join users u on u.id = ${actor}`;

/**
 * The export's pairs (src/audit/audit.queries.ts): one partner's rows, the customer seen by the
 * viewer (`visible`, a condition on the customer column, tested per row). The partner is a
 * value of a one-row CTE `export_scope` (`partner_id`), an InitPlan: it bounds each branch's
 * index range on (partner, time), and a condition holding a subquery is not pushed into a
 * subquery, so the corrections' time order (below) survives.
 */
export const exportPairs =
  (visible: (customer: string) => string): PairJoin =>
  (customer, partner, indexed) =>
    `join (select (select s.partner_id from export_scope s) as partner_id) p on ${partner === null ? '' : `${indexed ?? partner} = p.partner_id and `}${visible(customer)}`;

/**
 * The corrections branch in `corrected_at` order from its index (acceptance_corrections has
 * no partner column to range over): every correction, time-ordered, with its acceptance, in a
 * subquery that keeps its order (ORDER BY), then kept when its acceptance is the export's
 * partner's and its customer is seen.
 */
const correctionsByTime = (pairs: PairJoin) => `select x.* from (
       select ${cols(ACCEPTANCE_EVENTS.corrected.columns)}
         from ${CORRECTIONS_WITH_ACCEPTANCE}
        order by k.corrected_at) x ${pairs('x.customer_id', 'x.partner_id')}`;

/**
 * Every event of one partner's pairs, in time order, with the export's lookups
 * (customer_tenant_id, customer_name, partner_name, actor_name): each branch reads its rows
 * in `at` order from an index on (partner, time) (Migration20261208100000; the corrections and
 * direct acceptances, which have no partner column, from their time index), its customer
 * tested per row and its lookups probed per row. Ordered by `at, customer_id, rank, key`,
 * PostgreSQL merges the branches (Merge Append) and sorts only the rows of one instant
 * (Incremental Sort): the first row comes after a few index probes per branch, however long
 * the trail. `pairs` is `exportPairs(...)`.
 */
export function auditEventsByTimeSql(pairs: PairJoin): string {
  const withLookups = (branch: string) => `select b.*, ${LOOKUP_COLUMNS} from (${branch}) b ${lookups('b', 'b.actor_id')} order by b.at`;
  return branches(pairs)
    .map((b) => withLookups(b.source === ACCEPTANCE_EVENTS.corrected ? correctionsByTime(pairs) : b.sql))
    .map((b) => `(${b})`)
    .join('\nunion all\n');
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
