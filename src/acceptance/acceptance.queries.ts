import type { Acceptance } from './acceptance.entity';
import type { AcceptanceStatus, Channel } from './acceptance.enums';

/**
 * The acceptance feature's row type and its one mapper. Its hand-written statements are
 * the loaders' (acceptance.loaders.ts) and the compliance status (compliance.ts); the
 * gate's questions about acceptances are src/transactions/gate.facts.ts's.
 */

/** An `acceptances` row as the connection returns it (timestamps as text). */
export interface AcceptanceRow {
  customer_id: string;
  id: string;
  partner_id: string;
  template_id: string;
  date_agreed: string;
  contact_first_name: string;
  contact_last_name: string;
  contact_email: string;
  contact_phone_number: string | null;
  on_behalf_of: string | null;
  channel: Channel;
  status: AcceptanceStatus;
  confirmed_by_id: string;
  recorded_at: string;
  superseded_at: string | null;
  withdrawn_at: string | null;
  withdrawn_by_id: string | null;
  withdrawal_reason: string | null;
}

const timestamp = (s: string | null) => (s === null ? null : new Date(s));

/**
 * A read-only plain object of the entity's shape (relations as `{ id }` references):
 * the field resolvers read only properties and relation ids. Hydrating managed
 * entities cost most of a customers page's CPU.
 */
export function plainAcceptance(r: AcceptanceRow): Acceptance {
  return {
    id: r.id,
    customer: { id: r.customer_id },
    partner: { id: r.partner_id },
    template: { templateId: r.template_id },
    dateAgreed: r.date_agreed,
    contact: { firstName: r.contact_first_name, lastName: r.contact_last_name, email: r.contact_email, phoneNumber: r.contact_phone_number },
    onBehalfOf: r.on_behalf_of,
    channel: r.channel,
    status: r.status,
    confirmedBy: { id: r.confirmed_by_id },
    recordedAt: new Date(r.recorded_at),
    supersededAt: timestamp(r.superseded_at),
    withdrawnAt: timestamp(r.withdrawn_at),
    withdrawnBy: r.withdrawn_by_id === null ? null : { id: r.withdrawn_by_id },
    withdrawalReason: r.withdrawal_reason,
  } as unknown as Acceptance;
}
