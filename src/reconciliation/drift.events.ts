import type { EventSource } from '../acceptance/acceptance.queries';

/*
 * Drift as the audit trail reads it. A module of its own: the audit trail (src/audit/audit.sql.ts)
 * imports it, and reconciliation's queries reach the Partner Center client, whose writers chain
 * the trail (src/audit/audit.chain.ts): importing the queries from the trail would make a cycle.
 */

/**
 * Drift as an event of the audit trail (src/audit/audit.sql.ts): DRIFT_DETECTED when a run
 * first found it, in the trail of its customer and partner, after the other events of that
 * instant (an import of the same run comes first). Found by the gateway: no actor. The note
 * is the kind and the detail, which never hold a contact value.
 */
export const DRIFT_EVENT: EventSource = {
  columns: {
    at: 'r.first_detected_at',
    event: "'DRIFT_DETECTED'",
    rank: 8,
    customer: 'r.customer_id',
    partner: 'r.partner_id',
    acceptance: 'r.acceptance_id',
    actor: 'null::text',
    note: "r.kind || ': ' || r.first_detail",
    key: "'r' || r.id::text",
  },
  from: (pairs) => `acceptance_drift r ${pairs('r.customer_id', 'r.partner_id')}`,
};
