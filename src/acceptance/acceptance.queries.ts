import type { EntityManager } from '@mikro-orm/postgresql';
import { dateOrNull, queryRows } from '../db/query';
import type { Acceptance } from './acceptance.entity';
import type { AcceptanceStatus, Channel } from './acceptance.enums';
import { CONTACT_FIELDS } from './acceptance.rules';

/**
 * The acceptance feature's row type, its one mapper, and the fragments other features'
 * statements join in instead of naming the acceptances table. Its own hand-written
 * statements are the loaders' (acceptance.loaders.ts) and the compliance status
 * (compliance.ts); the gate's questions about acceptances are src/transactions/gate.facts.ts's.
 */

/** Joins each row's acceptance, aliased `a`, by the row's acceptance id (a SQL expression). */
export const joinAcceptance = (acceptanceId: string) => `join acceptances a on a.id = ${acceptanceId}`;

/** Each contact correction `k` with its acceptance `a` (a correction has no customer or partner of its own). */
export const CORRECTIONS_WITH_ACCEPTANCE = `acceptance_corrections k ${joinAcceptance('k.acceptance_id')}`;

/** A correction's place in the contact's field order (corrections of one instant read in that order). */
const fieldOrder = (k: string) => `array_position(array[${CONTACT_FIELDS.map((f) => `'${f}'`).join(', ')}]::text[], ${k}.field::text)`;

/** The tie-breaking key of a correction's rows (aliased `k`): field order, then id. */
export const correctionKey = (k: string) => `lpad(${fieldOrder(k)}::text, 2, '0') || ${k}.id::text`;

/** An audit event's columns as SQL expressions over the tables of its source. */
export interface EventColumns {
  at: string;
  event: string;
  rank: number;
  customer: string;
  partner: string;
  acceptance: string;
  actor: string;
  field?: string;
  old?: string;
  new?: string;
  note?: string;
  key: string;
}

/**
 * Where an event is recorded: the FROM clause (and any condition), given `pairs`, the
 * join that keeps rows of the caller's (customer, partner) pairs. The join is aliased `p`
 * and has a column `partner_id` (the pair's partner); a `null` partner keeps every pair of
 * the customer. `indexed`, when given, is a column equal to `partner` by construction that a
 * partner's index ranges over (src/audit's export filters on it instead).
 */
export interface EventSource {
  columns: EventColumns;
  from: (pairs: PairJoin) => string;
}

/** The pair join an EventSource is given (see EventSource). */
export type PairJoin = (customer: string, partner: string | null, indexed?: string) => string;

const ofPair = (pairs: PairJoin, alias: string) => pairs(`${alias}.customer_id`, `${alias}.partner_id`);

/**
 * The acceptance feature's events of the audit trail (DESIGN.md section 9), in the order
 * src/audit's trail lists them; `rank` orders the events of one instant (a submission, its
 * review, the confirmation it records, the confirmation it supersedes, corrections, the
 * withdrawal). src/audit selects them in one union with the sync events.
 */
export const ACCEPTANCE_EVENTS = {
  confirmed: {
    // A record found in Partner Center by reconciliation (src/reconciliation) is IMPORTED, not confirmed here.
    columns: { at: 'a.recorded_at', event: "case when a.source = 'PARTNER_CENTER' then 'IMPORTED' else 'CONFIRMED' end", rank: 3, customer: 'a.customer_id', partner: 'a.partner_id', acceptance: 'a.id', actor: 'a.confirmed_by_id', note: 'a.on_behalf_of', key: 'a.id::text' },
    from: (pairs) => `acceptances a ${ofPair(pairs, 'a')}`,
  },
  // The actor of a supersede is whoever recorded the confirmation that replaced it (same instant).
  superseded: {
    columns: {
      at: 'a.superseded_at',
      event: "'SUPERSEDED'",
      rank: 4,
      customer: 'a.customer_id',
      partner: 'a.partner_id',
      acceptance: 'a.id',
      actor: `(select n.confirmed_by_id from acceptances n
              where n.customer_id = a.customer_id and n.partner_id = a.partner_id and n.id <> a.id and n.recorded_at >= a.superseded_at
              order by n.recorded_at limit 1)`,
      key: 'a.id::text',
    },
    from: (pairs) => `acceptances a ${ofPair(pairs, 'a')} where a.superseded_at is not null`,
  },
  corrected: {
    columns: {
      at: 'k.corrected_at',
      event: "'CORRECTED'",
      rank: 5,
      customer: 'a.customer_id',
      partner: 'a.partner_id',
      acceptance: 'a.id',
      actor: 'k.corrected_by_id',
      field: 'k.field::text',
      old: 'k.old_value',
      new: 'k.new_value',
      key: correctionKey('k'),
    },
    from: (pairs) => `${CORRECTIONS_WITH_ACCEPTANCE} ${ofPair(pairs, 'a')}`,
  },
  withdrawn: {
    columns: { at: 'a.withdrawn_at', event: "'WITHDRAWN'", rank: 6, customer: 'a.customer_id', partner: 'a.partner_id', acceptance: 'a.id', actor: 'a.withdrawn_by_id', note: 'a.withdrawal_reason', key: 'a.id::text' },
    from: (pairs) => `acceptances a ${ofPair(pairs, 'a')} where a.withdrawn_at is not null`,
  },
  // Submissions are made to the provider: that is the partner whose trail they belong to.
  submitted: {
    columns: { at: 's.submitted_at', event: "'SUBMITTED'", rank: 1, customer: 's.customer_id', partner: 's.provider_id', acceptance: 's.acceptance_id', actor: 's.submitted_by_id', key: 's.id::text' },
    from: (pairs) => `acceptance_submissions s ${pairs('s.customer_id', 's.provider_id')}`,
  },
  reviewed: {
    columns: { at: 's.reviewed_at', event: 's.status::text', rank: 2, customer: 's.customer_id', partner: 's.provider_id', acceptance: 's.acceptance_id', actor: 's.reviewed_by_id', note: 's.review_note', key: 's.id::text' },
    from: (pairs) => `acceptance_submissions s ${pairs('s.customer_id', 's.provider_id')}
    where s.reviewed_at is not null and s.status in ('APPROVED', 'REJECTED')`,
  },
} satisfies Record<string, EventSource>;

/**
 * A derived table (use as `(${ACCEPTANCE_CLOUDS}) x`): each acceptance named in one
 * `?::uuid[]` parameter with its billing partner and its customer's cloud, which decides
 * whether Partner Center takes it (its sync rows and states, src/partner-center).
 * Columns: `id`, `partner_id`, `cloud`.
 */
export const ACCEPTANCE_CLOUDS = `select a.id, a.partner_id, a.source, c.cloud
  from acceptances a join customers c on c.id = a.customer_id
 where a.id = any(?::uuid[])`;

/**
 * A derived table: the one acceptance named by a `?` parameter as an attestation sends it
 * (src/partner-center's delivery), with its customer's and partner's tenant ids.
 * Columns: `partner_id`, `customer_tenant_id`, `partner_tenant_id`, `template_id`,
 * `date_agreed` (`YYYY-MM-DD`), the contact's four columns, `confirmed_by_id`.
 */
export const ACCEPTANCE_AS_ATTESTED = `select a.partner_id, a.customer_id, c.tenant_id as customer_tenant_id, p.tenant_id as partner_tenant_id, a.template_id,
       t.type as template_type, to_char(a.date_agreed, 'YYYY-MM-DD') as date_agreed, a.contact_first_name, a.contact_last_name,
       a.contact_email, a.contact_phone_number, a.confirmed_by_id
  from acceptances a join customers c on c.id = a.customer_id join partners p on p.id = a.partner_id
  join agreement_templates t on t.template_id = a.template_id
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

/** Acceptances by id, in no particular order. */
export async function acceptancesByIds(em: EntityManager, ids: readonly string[]): Promise<Acceptance[]> {
  return (await queryRows<AcceptanceRow>(em, 'select a.* from acceptances a where a.id = any(?::uuid[])', [[...ids]])).map(plainAcceptance);
}

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
    supersededAt: dateOrNull(r.superseded_at),
    withdrawnAt: dateOrNull(r.withdrawn_at),
    withdrawnBy: r.withdrawn_by_id === null ? null : { id: r.withdrawn_by_id },
    withdrawalReason: r.withdrawal_reason,
  } as unknown as Acceptance;
}
