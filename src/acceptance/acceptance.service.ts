import type { EntityManager } from '@mikro-orm/postgresql';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { BadUserInputError, ConflictError, ForbiddenError, NotApplicableError, NotFoundError } from '../errors';
import { actingPartnerId, canSeeCustomer, isUuid } from '../auth/tenancy';
import { seesAllPartners, type Viewer } from '../auth/viewer';
import { normalizeContact, type Contact } from '../common/contact';
import { Customer } from '../customers/customer.entity';
import { CloudInstance } from '../customers/customer.enums';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { Partner, User } from '../partners/partner.entity';
import { PartnerType } from '../partners/partner.enums';
import { Subscription } from '../transactions/transaction.entity';
import { SubscriptionStatus } from '../transactions/transaction.enums';
import { Acceptance, AcceptanceCorrection } from './acceptance.entity';
import { AcceptanceStatus, Channel } from './acceptance.enums';
import type { ConfirmCustomerAcceptanceInput, CorrectAcceptanceContactInput, WithdrawCustomerAcceptanceInput } from './acceptance.inputs';
import { CONTACT_FIELDS, checkDateAgreed, checkTemplate, optionalText, requiredText } from './acceptance.rules';
import { enqueueAcceptanceSync } from '../partner-center/outbox';

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
}

/** Runs SQL inside the transaction `em` belongs to. */
export const execIn = <T extends Record<string, unknown>[] = Record<string, unknown>[]>(em: EntityManager, sql: string, params: unknown[]) =>
  em.getConnection().execute<T>(sql, params, 'all', em.getTransactionContext());

/**
 * Records a confirmation inside the caller's transaction: locks the (customer,
 * partner) relationship row so that concurrent confirmations for the pair queue up,
 * supersedes the active one, inserts the new one. The partial unique index stays the
 * last line of defence (a violation is answered CONFLICT by the caller).
 */
export async function recordConfirmation(tx: EntityManager, data: ConfirmationData): Promise<{ acceptance: Acceptance; superseded: Acceptance | null }> {
  const rel = await execIn<{ id: string }[]>(
    tx,
    'select id from customer_relationships where customer_id = ? and partner_id = ? for update',
    [data.customer.id, data.partnerId],
  );
  if (rel.length === 0) throw new ForbiddenError('Only a billing partner of this customer may confirm its acceptance');
  const now = new Date();
  const superseded = await tx.findOne(Acceptance, { customer: data.customer.id, partner: data.partnerId, status: AcceptanceStatus.ACTIVE });
  if (superseded) {
    superseded.status = AcceptanceStatus.SUPERSEDED;
    superseded.supersededAt = now;
    // Flushed before the insert: the partial unique index allows one ACTIVE row at any moment.
    await tx.flush();
  }
  const acceptance = tx.create(Acceptance, {
    customer: tx.getReference(Customer, data.customer.id),
    partner: tx.getReference(Partner, data.partnerId),
    template: data.template,
    dateAgreed: data.dateAgreed,
    contact: data.contact,
    onBehalfOf: data.onBehalfOf,
    channel: data.channel,
    confirmedBy: tx.getReference(User, data.confirmedBy),
    recordedAt: now,
  });
  await tx.flush();
  // Partner Center outbox: queued in this same transaction (src/partner-center/outbox.ts).
  await enqueueAcceptanceSync(tx, acceptance);
  return { acceptance, superseded };
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
    if (customer.cloud !== CloudInstance.PUBLIC) {
      throw new NotApplicableError(`Acceptance confirmation is not supported on the ${customer.cloud} cloud`);
    }
    const templateId = (input.templateId ?? '').trim();
    const template = templateId ? await this.em.findOne(AgreementTemplate, { templateId }) : null;
    checkTemplate(template, customer.country, templateId);
    const contact = normalizeContact(input.contact, 'contact');
    const dateAgreed = checkDateAgreed(input.dateAgreed, template!);
    return { template: template!, dateAgreed, contact };
  }

  async confirm(input: ConfirmCustomerAcceptanceInput): Promise<{ acceptance: Acceptance; superseded: Acceptance | null }> {
    this.assertMayRecord();
    const partnerId = await this.billingPartner(input.partnerId);
    const customer = await this.visibleCustomer(input.customerId);
    const details = await this.validateDetails(customer, input);
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
      return acceptance;
    });
  }

  async withdraw(input: WithdrawCustomerAcceptanceInput): Promise<{ acceptance: Acceptance; cancelled: Subscription[] }> {
    this.assertMayRecord();
    const partnerId = await this.billingPartner(input.partnerId);
    const customer = await this.visibleCustomer(input.customerId);
    const reason = requiredText(input.reason, 'reason');
    return this.em.transactional(async (t) => {
      const tx = t as EntityManager;
      // The same lock as confirmations: a withdrawal and a confirmation of the pair never interleave.
      await execIn(tx, 'select id from customer_relationships where customer_id = ? and partner_id = ? for update', [customer.id, partnerId]);
      const acceptance = await tx.findOne(Acceptance, { customer: customer.id, partner: partnerId, status: AcceptanceStatus.ACTIVE });
      if (!acceptance) throw new NotFoundError('Active acceptance of this customer with this partner', undefined, 'customerId');
      const now = new Date();
      acceptance.status = AcceptanceStatus.WITHDRAWN;
      acceptance.withdrawnAt = now;
      acceptance.withdrawnBy = tx.getReference(User, this.viewer.userId);
      acceptance.withdrawalReason = reason;
      const cancelled = await tx.find(
        Subscription,
        { customer: customer.id, partner: partnerId, status: SubscriptionStatus.ACTIVE },
        { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { createdAt: 'asc', id: 'asc' } },
      );
      for (const s of cancelled) {
        s.status = SubscriptionStatus.CANCELLED;
        s.cancelledAt = now;
      }
      await tx.flush();
      return { acceptance, cancelled };
    });
  }
}
