import { policyRules } from '../policy/policy.queries';
import { assertRecordableWithoutAttestation } from '../policy/policy.rules';
import type { EntityManager } from '@mikro-orm/postgresql';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError } from '../errors';
import { actingPartnerId, canSeeCustomer, isUuid } from '../auth/tenancy';
import { seesAllPartners, type Viewer } from '../auth/viewer';
import { normalizeContact, type Contact } from '../common/contact';
import { Customer } from '../customers/customer.entity';
import { CloudInstance } from '../customers/customer.enums';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { User } from '../partners/partner.entity';
import { PartnerType } from '../auth/roles';
import { endSubscriptionsOnWithdrawal } from '../transactions/subscription.service';
import type { SubscriptionRecord } from '../transactions/transaction.queries';
import { Acceptance, AcceptanceCorrection } from './acceptance.entity';
import { AcceptanceStatus, Channel, EvidenceSource } from './acceptance.enums';
import type { ConfirmCustomerAcceptanceInput, CorrectAcceptanceContactInput, WithdrawCustomerAcceptanceInput } from './acceptance.inputs';
import { CONTACT_FIELDS, checkConfirmationDetails, optionalText, requiredText, templateIdOf } from './acceptance.rules';
import { enqueueAcceptanceSync, enqueueAcceptanceSyncs } from '../partner-center/outbox';
import { queryRows } from '../db/query';
import { appendAuditChain } from '../audit/audit.chain';
import { recordEvidence } from '../evidence/evidence.outbox';
import { newId } from '../kernel/ids';

/** What a confirmation records, once validated. */
export interface ConfirmationData {
  customer: Customer;
  partnerId: string;
  template: AgreementTemplate;
  dateAgreed: string;
  contact: Contact;
  onBehalfOf: string | null;
  channel: Channel;
  confirmedBy: string;
  source?: EvidenceSource;
  attestationId?: string | null;
}

/** One validated confirmation of a batch: the customer, what was accepted, by whom, where. */
export interface ConfirmationRow {
  customerId: string;
  templateId: string;
  dateAgreed: string;
  contact: Contact;
  onBehalfOf: string | null;
  channel: Channel;
  /** How it was obtained (default PARTNER_RECORDED); ATTESTATION and PARTNER_CENTER are already on record upstream. */
  source?: EvidenceSource;
  attestationId?: string | null;
}

/** What became of one row: the new acceptance and the one it superseded, or why it was refused. */
export type RecordedConfirmation = { id: string; supersededId: string | null } | ForbiddenError;

/**
 * Records confirmations of ONE billing partner inside the caller's transaction, in a
 * few set-based statements whatever their number (one for confirmCustomerAcceptance,
 * a chunk of a bulk file):
 * 1. locks the (customer, partner) relationship rows, so concurrent confirmations of a
 *    pair queue up; a customer without one is refused (FORBIDDEN) for its rows only;
 * 2. supersedes the active acceptance of each pair (`supersededAt` = the instant the
 *    replacing one is recorded);
 * 3. inserts the new ones; rows for the same customer are recorded in their order, each
 *    superseding the one before, so at most one per pair ends ACTIVE (the last);
 * 4. queues them all for Partner Center in this same transaction (the outbox).
 * The partial unique index stays the last line of defence (a violation is answered
 * CONFLICT by the caller). Returns one outcome per row, in order, and the last instant
 * used (the next batch records after it).
 */
export async function recordConfirmations(
  tx: EntityManager,
  partnerId: string,
  confirmedBy: string,
  rows: ConfirmationRow[],
  at: Date = new Date(),
  /** false: the caller chains the pairs itself, once, at the end of its transaction (a bulk import's chunks). */
  chain = true,
): Promise<{ outcomes: RecordedConfirmation[]; latest: Date }> {
  if (rows.length === 0) return { outcomes: [], latest: at };
  const customerIds = [...new Set(rows.map((r) => r.customerId))];
  const related = new Set(
    (
      await queryRows<{ customer_id: string }>(
        tx,
        'select customer_id from customer_relationships where partner_id = ? and customer_id = any(?::uuid[]) order by customer_id for update',
        [partnerId, customerIds],
      )
    ).map((r) => r.customer_id),
  );
  // Rows of one customer, in order: the k-th is recorded k ms after `at`, so each has its own instant.
  const byCustomer = new Map<string, number[]>();
  const outcomes: RecordedConfirmation[] = rows.map((row, i) => {
    if (!related.has(row.customerId)) return new ForbiddenError('Only a billing partner of this customer may confirm its acceptance');
    const seq = byCustomer.get(row.customerId) ?? [];
    seq.push(i);
    byCustomer.set(row.customerId, seq);
    return { id: newId(), supersededId: null };
  });
  const recordedAt = new Array<string>(rows.length);
  const supersededAt = new Array<string | null>(rows.length).fill(null);
  let latest = at.getTime();
  for (const seq of byCustomer.values()) {
    seq.forEach((i, k) => {
      recordedAt[i] = new Date(at.getTime() + k).toISOString();
      latest = Math.max(latest, at.getTime() + k);
    });
    seq.forEach((i, k) => {
      if (k + 1 < seq.length) {
        supersededAt[i] = recordedAt[seq[k + 1]];
        (outcomes[seq[k + 1]] as { supersededId: string | null }).supersededId = (outcomes[i] as { id: string }).id;
      }
    });
  }
  if (byCustomer.size === 0) return { outcomes, latest: at };
  const recorded = rows.flatMap((row, i) => {
    const o = outcomes[i];
    if (o instanceof ForbiddenError) return [];
    return [
      {
        id: o.id,
        customer_id: row.customerId,
        template_id: row.templateId,
        date_agreed: row.dateAgreed,
        first_name: row.contact.firstName,
        last_name: row.contact.lastName,
        email: row.contact.email,
        phone_number: row.contact.phoneNumber ?? null,
        on_behalf_of: row.onBehalfOf,
        channel: row.channel,
        status: supersededAt[i] ? AcceptanceStatus.SUPERSEDED : AcceptanceStatus.ACTIVE,
        recorded_at: recordedAt[i],
        superseded_at: supersededAt[i],
        source: row.source ?? EvidenceSource.PARTNER_RECORDED,
        attestation_id: row.attestationId ?? null,
      },
    ];
  });
  // One statement supersedes the active acceptance of each pair (at `at`, the instant its
  // customer's first row is recorded) and then inserts the new ones (the insert waits for the
  // update's count): the derived tables' statement triggers (customer_compliance, renewal_facts)
  // fire after both and see the pair as it ends, so a re-confirmation that leaves a customer's
  // status as it was writes nothing there, where the update alone made it NOT_ACCEPTED and the
  // insert put it back (twice the directory, counts and facts written per confirmation).
  const superseded = await queryRows<{ id: string; customer_id: string }>(
    tx,
    `with superseded as (
       update acceptances set status = 'SUPERSEDED', superseded_at = ?
        where customer_id = any(?::uuid[]) and partner_id = ? and status = 'ACTIVE'
       returning id, customer_id),
     recorded as (
       insert into acceptances (id, customer_id, partner_id, template_id, date_agreed, contact_first_name, contact_last_name, contact_email,
                                contact_phone_number, on_behalf_of, channel, status, confirmed_by_id, recorded_at, superseded_at, source, attestation_id)
       select x.id, x.customer_id, ?, x.template_id, x.date_agreed, x.first_name, x.last_name, x.email,
              x.phone_number, x.on_behalf_of, x.channel, x.status, ?, x.recorded_at, x.superseded_at, x.source, x.attestation_id
         from json_to_recordset(?::json) as x(id uuid, customer_id uuid, template_id text, date_agreed date, first_name text, last_name text, email text,
                                              phone_number text, on_behalf_of text, channel text, status text, recorded_at timestamptz, superseded_at timestamptz,
                                              source text, attestation_id uuid)
        where (select count(*) from superseded) >= 0)
     select id, customer_id from superseded`,
    [at.toISOString(), [...byCustomer.keys()], partnerId, partnerId, confirmedBy, JSON.stringify(recorded)],
  );
  for (const s of superseded) {
    (outcomes[byCustomer.get(s.customer_id)![0]] as { supersededId: string | null }).supersededId = s.id;
  }
  // Partner Center outbox: queued in this same transaction (src/partner-center/outbox.ts).
  await enqueueAcceptanceSyncs(
    tx,
    partnerId,
    recorded.map((r) => r.id),
  );
  // Its evidence, and the job that fetches and hashes the document shown (src/evidence/evidence.outbox.ts).
  await recordEvidence(
    tx,
    recorded.map((r) => r.id),
  );
  // The tamper-evident chain (src/audit/audit.chain.ts): CONFIRMED, SUPERSEDED (and SYNCED at once for upstream sources).
  if (chain) {
    await appendAuditChain(
      tx,
      [...byCustomer.keys()].map((customerId) => ({ customerId, partnerId })),
    );
  }
  return { outcomes, latest: new Date(latest + 1) };
}

/**
 * Records one confirmation inside the caller's transaction (recordConfirmations with
 * one row) and answers the new acceptance and the one it superseded, as entities.
 */
export async function recordConfirmation(tx: EntityManager, data: ConfirmationData): Promise<{ acceptance: Acceptance; superseded: Acceptance | null }> {
  const {
    outcomes: [outcome],
  } = await recordConfirmations(tx, data.partnerId, data.confirmedBy, [
    {
      customerId: data.customer.id,
      templateId: data.template.templateId,
      dateAgreed: data.dateAgreed,
      contact: data.contact,
      onBehalfOf: data.onBehalfOf,
      channel: data.channel,
      source: data.source,
      attestationId: data.attestationId,
    },
  ]);
  if (outcome instanceof ForbiddenError) throw outcome;
  const ids = outcome.supersededId ? [outcome.id, outcome.supersededId] : [outcome.id];
  // Refreshed: the superseded one may sit in the identity map as it was (ACTIVE).
  const found = new Map((await tx.find(Acceptance, { id: { $in: ids } }, { refresh: true })).map((a) => [a.id, a]));
  return { acceptance: found.get(outcome.id)!, superseded: outcome.supersededId ? found.get(outcome.supersededId)! : null };
}

/** Confirming, correcting and withdrawing acceptance: DESIGN.md section 4. */
export class AcceptanceService {
  constructor(private readonly em: EntityManager, private readonly viewer: Viewer) {}

  /** A reseller can never record, correct or withdraw a confirmation, whatever ids it sends. */
  private assertMayRecord(): void {
    if (this.viewer.partnerType === PartnerType.INDIRECT_RESELLER) {
      throw new ForbiddenError('A reseller cannot record a confirmation; submit the details to your provider');
    }
  }

  /** The billing partner acted for: the argument, else the caller's own; platform admins must name one. */
  private async billingPartner(partnerId: string | null | undefined): Promise<string> {
    if (seesAllPartners(this.viewer) && !partnerId) throw new BadUserInputError('partnerId is required for a caller without a partner', 'partnerId');
    if (partnerId && !isUuid(partnerId)) throw new NotFoundError('Partner', partnerId, 'partnerId');
    return actingPartnerId(this.em, this.viewer, partnerId);
  }

  /** A customer the viewer may see, else NOT_FOUND (another tenant's id looks missing). */
  async visibleCustomer(customerId: string, field = 'customerId'): Promise<Customer> {
    const customer = isUuid(customerId) && (await canSeeCustomer(this.em, this.viewer, customerId)) ? await this.em.findOne(Customer, { id: customerId }) : null;
    if (!customer) throw new NotFoundError('Customer', customerId, field);
    return customer;
  }

  /** The checks shared by confirmations and submissions, in the order a person would fix them. */
  async validateDetails(
    customer: Customer,
    input: { templateId: string; dateAgreed: string; contact: ConfirmCustomerAcceptanceInput['contact'] },
  ): Promise<{ template: AgreementTemplate; dateAgreed: string; contact: Contact }> {
    const templateId = templateIdOf(input.templateId);
    // National clouds are refused before any lookup.
    const template = templateId && customer.cloud === CloudInstance.PUBLIC ? await this.em.findOne(AgreementTemplate, { templateId }) : null;
    return checkConfirmationDetails(customer, template, input);
  }

  async confirm(input: ConfirmCustomerAcceptanceInput): Promise<{ acceptance: Acceptance; superseded: Acceptance | null }> {
    this.assertMayRecord();
    const partnerId = await this.billingPartner(input.partnerId);
    const customer = await this.visibleCustomer(input.customerId);
    const details = await this.validateDetails(customer, input);
    assertRecordableWithoutAttestation(await policyRules(this.em), input.channel ?? Channel.API, new Date(), details.dateAgreed);
    const onBehalfOf = optionalText(input.onBehalfOf, 'onBehalfOf');
    try {
      return await this.em.transactional((tx) =>
        recordConfirmation(tx as EntityManager, {
          customer,
          partnerId,
          ...details,
          onBehalfOf,
          channel: input.channel ?? Channel.API,
          confirmedBy: this.viewer.userId,
        }),
      );
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) {
        throw new ConflictError('Another confirmation for this customer and partner was recorded at the same moment; retry');
      }
      throw err;
    }
  }

  /** An acceptance the viewer's partner recorded (platform admins: any), else NOT_FOUND. */
  private async ownAcceptance(em: EntityManager, acceptanceId: string, lock: boolean): Promise<Acceptance> {
    const acceptance = isUuid(acceptanceId)
      ? await em.findOne(Acceptance, { id: acceptanceId }, lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {})
      : null;
    const mine = acceptance && (seesAllPartners(this.viewer) || acceptance.partner.id === this.viewer.partnerId);
    if (!acceptance || !mine) throw new NotFoundError('Acceptance', acceptanceId, 'acceptanceId');
    return acceptance;
  }

  async correctContact(input: CorrectAcceptanceContactInput): Promise<Acceptance> {
    this.assertMayRecord();
    await this.ownAcceptance(this.em, input.acceptanceId, false);
    const contact = normalizeContact(input.contact, 'contact');
    return this.em.transactional(async (t) => {
      const tx = t as EntityManager;
      const acceptance = await this.ownAcceptance(tx, input.acceptanceId, true);
      if (acceptance.status !== AcceptanceStatus.ACTIVE) {
        throw new ConflictError(`Only the active acceptance can be corrected; this one is ${acceptance.status}`);
      }
      const now = new Date();
      for (const field of CONTACT_FIELDS) {
        const oldValue = acceptance.contact[field] ?? null;
        const newValue = contact[field] ?? null;
        if (oldValue === newValue) continue;
        tx.create(AcceptanceCorrection, {
          acceptance,
          correctedBy: tx.getReference(User, this.viewer.userId),
          correctedAt: now,
          field,
          oldValue,
          newValue,
        });
      }
      acceptance.contact = contact;
      await tx.flush();
      // The corrected contact goes to Partner Center too, queued in this same transaction.
      await enqueueAcceptanceSync(tx, acceptance);
      await appendAuditChain(tx, [{ customerId: acceptance.customer.id, partnerId: acceptance.partner.id }]);
      return acceptance;
    });
  }

  /**
   * Withdraws the active acceptance and ends the partner's subscriptions of the customer
   * as section 12 allows, in the same transaction: cancelled where still inside their
   * cancellation window, otherwise auto-renew off (ENDING); each change in the audit trail.
   */
  async withdraw(input: WithdrawCustomerAcceptanceInput): Promise<{ acceptance: Acceptance; cancelled: SubscriptionRecord[]; ending: SubscriptionRecord[] }> {
    this.assertMayRecord();
    const partnerId = await this.billingPartner(input.partnerId);
    const customer = await this.visibleCustomer(input.customerId);
    const reason = requiredText(input.reason, 'reason');
    return this.em.transactional(async (t) => {
      const tx = t as EntityManager;
      // The same lock as confirmations: a withdrawal and a confirmation of the pair never interleave.
      await queryRows(tx, 'select id from customer_relationships where customer_id = ? and partner_id = ? for update', [customer.id, partnerId]);
      const acceptance = await tx.findOne(Acceptance, { customer: customer.id, partner: partnerId, status: AcceptanceStatus.ACTIVE });
      if (!acceptance) throw new NotFoundError('Active acceptance of this customer with this partner', undefined, 'customerId');
      const now = new Date();
      acceptance.status = AcceptanceStatus.WITHDRAWN;
      acceptance.withdrawnAt = now;
      acceptance.withdrawnBy = tx.getReference(User, this.viewer.userId);
      acceptance.withdrawalReason = reason;
      await tx.flush();
      const { cancelled, ending } = await endSubscriptionsOnWithdrawal(tx, customer.id, partnerId, this.viewer.userId, now);
      await appendAuditChain(tx, [{ customerId: customer.id, partnerId }]);
      return { acceptance, cancelled, ending };
    });
  }
}
