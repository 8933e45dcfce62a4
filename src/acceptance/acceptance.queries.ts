import type { Acceptance } from './acceptance.entity';
import type { AcceptanceStatus, Channel } from './acceptance.enums';

/**
 * The acceptance feature's row type, its one mapper, and the fragments other features'
 * statements join in instead of naming the acceptances table. Its own hand-written
 * statements are the loaders' (acceptance.loaders.ts) and the compliance status
 * (compliance.ts); the gate's questions about acceptances are src/transactions/gate.facts.ts's.
 */

/**
 * A derived table (use as `(${ACCEPTANCE_CLOUDS}) x`): each acceptance named in one
 * `?::uuid[]` parameter with its billing partner and its customer's cloud, which decides
 * whether Partner Center takes it (its sync rows and states, src/partner-center).
 * Columns: `id`, `partner_id`, `cloud`.
 */
export const ACCEPTANCE_CLOUDS = `select a.id, a.partner_id, c.cloud
  from acceptances a join customers c on c.id = a.customer_id
 where a.id = any(?::uuid[])`;

/**
 * A derived table: the one acceptance named by a `?` parameter as an attestation sends it
 * (src/partner-center's delivery), with its customer's and partner's tenant ids.
 * Columns: `partner_id`, `customer_tenant_id`, `partner_tenant_id`, `template_id`,
 * `date_agreed` (`YYYY-MM-DD`), the contact's four columns, `confirmed_by_id`.
 */
export const ACCEPTANCE_AS_ATTESTED = `select a.partner_id, c.tenant_id as customer_tenant_id, p.tenant_id as partner_tenant_id, a.template_id,
       to_char(a.date_agreed, 'YYYY-MM-DD') as date_agreed, a.contact_first_name, a.contact_last_name, a.contact_email,
       a.contact_phone_number, a.confirmed_by_id
  from acceptances a join customers c on c.id = a.customer_id join partners p on p.id = a.partner_id
 where a.id = ?`;

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
