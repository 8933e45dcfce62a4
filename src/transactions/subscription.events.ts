import type { EventSource } from '../acceptance/acceptance.queries';

/**
 * Subscription events as the audit trail reads them. A module of its own: the audit trail
 * (src/audit/audit.sql.ts) imports it, and the service that writes the events imports the
 * trail's chain (src/audit/audit.chain.ts), which would otherwise make a cycle.
 */

/** The events of subscription_events; the audit trail names them as AuditEvent values. */
export const SUBSCRIPTION_EVENT = {
  CANCELLED: 'SUBSCRIPTION_CANCELLED',
  AUTO_RENEW_OFF: 'AUTO_RENEW_OFF',
  AUTO_RENEW_ON: 'AUTO_RENEW_ON',
} as const;

/**
 * The subscription events as a branch of the audit trail (src/audit/audit.sql.ts): in the
 * trail of the subscription's customer and billing partner, after the withdrawal of the
 * same instant (rank 6, keys after the acceptance's). The note names the subscription.
 */
export const SUBSCRIPTION_EVENTS: EventSource = {
  columns: {
    at: 'e.at',
    event: 'e.event',
    rank: 6,
    customer: 'e.customer_id',
    partner: 'e.partner_id',
    acceptance: 'null::uuid',
    actor: 'e.actor_id',
    note: "coalesce(e.note || ' ', '') || 'subscription ' || e.subscription_id::text",
    key: "'z' || e.id::text",
  },
  from: (pairs) => `subscription_events e ${pairs('e.customer_id', 'e.partner_id')}`,
};

