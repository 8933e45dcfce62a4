import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { AcceptanceService } from '../acceptance/acceptance.service';
import { AcceptanceSubmission } from '../acceptance/acceptance.entity';
import { SubmissionStatus } from '../acceptance/acceptance.enums';
import { AgreementType } from '../agreements/agreement.enums';
import { currentTemplate } from '../agreements/agreement.queries';
import { todayUtc } from '../agreements/current';
import { PartnerType } from '../auth/roles';
import { actingPartnerId, isUuid, linkedBySql, NO_PARTNER, partnerNamedBy } from '../auth/tenancy';
import { seesAllPartners, type Viewer } from '../auth/viewer';
import { paginateRows, timeOrder, type ConnectionResult, type SqlCondition } from '../common/connection';
import { normalizeContact, type Contact } from '../common/contact';
import { CloudInstance } from '../customers/customer.enums';
import { queryRows } from '../db/query';
import { BadUserInputError, ConflictError, ForbiddenError, NotApplicableError, NotFoundError } from '../errors';
import { Partner, User } from '../partners/partner.entity';
import { Attestation } from './attestation.entity';
import { AttestationStatus } from './attestation.enums';
import type { RequestAttestationInput } from './attestation.inputs';
import { sendFollowJob } from './attestation.jobs';
import { isConnected, openAttestationOf, plainAttestation, readableAttestation, readableCondition, recordUpdate } from './attestation.queries';
import { checkAttestationOptions } from './attestation.rules';
import { appendAuditChain } from '../audit/audit.chain';

const alreadyOpen = () => new ConflictError('An attestation is already open for this customer and partner; cancel it or wait for it to end');

/** Requesting, cancelling and reading enhanced attestations (DESIGN.md section 11). */
export class AttestationService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
  ) {}

  /** A reseller never starts or cancels one: its submission goes to its provider. */
  private assertMayAttest(): void {
    if (this.viewer.partnerType === PartnerType.INDIRECT_RESELLER) {
      throw new ForbiddenError('A reseller cannot request an attestation; submit the details to your provider, whose attestation starts from your submission');
    }
  }

  /** The billing partner acted for: the argument, else the caller's own; platform admins must name one. */
  private async billingPartner(partnerId: string | null | undefined): Promise<string> {
    if (seesAllPartners(this.viewer) && !partnerId) throw new BadUserInputError('partnerId is required for a caller without a partner', 'partnerId');
    if (partnerId && !isUuid(partnerId)) throw new NotFoundError('Partner', partnerId, 'partnerId');
    return actingPartnerId(this.em, this.viewer, partnerId);
  }

  /**
   * Checks everything first (nothing is written for a refused request), then, in one
   * transaction: the attestation REQUESTED, its first follow job, its status-change record.
   */
  async request(input: RequestAttestationInput): Promise<Attestation> {
    this.assertMayAttest();
    const options = checkAttestationOptions(input);
    const partnerId = await this.billingPartner(input.partnerId);
    let submission: AcceptanceSubmission | null = null;
    if (input.submissionId !== null && input.submissionId !== undefined) {
      submission = isUuid(input.submissionId) ? await this.em.findOne(AcceptanceSubmission, { id: input.submissionId }) : null;
      if (!submission || submission.provider.id !== partnerId) throw new NotFoundError('AcceptanceSubmission', input.submissionId, 'submissionId');
      if (submission.status !== SubmissionStatus.PENDING) throw new ConflictError(`This submission was already ${submission.status}`);
      if (submission.customer.id !== input.customerId) throw new BadUserInputError('The submission is of another customer', 'customerId');
    }
    const customer = await new AcceptanceService(this.em, this.viewer).visibleCustomer(input.customerId);
    if (customer.cloud !== CloudInstance.PUBLIC) {
      throw new NotApplicableError(`Customer ${customer.id} is on a national cloud (${customer.cloud}), where Partner Center takes no attestation`);
    }
    const related = await queryRows(this.em, 'select 1 from customer_relationships where customer_id = ? and partner_id = ?', [customer.id, partnerId]);
    if (!related.length) throw new ForbiddenError('Only a billing partner of this customer may request its attestation');
    const signatory: Contact = submission ? submission.contact : normalizeContact(input.signatory, 'signatory');
    if (!(await isConnected(this.em, partnerId))) {
      throw new ConflictError('The partner is not connected to Partner Center: connectPartnerCenter first (attestations are created upstream)');
    }
    const country = options.country ?? customer.country;
    const template = await currentTemplate(this.em, { type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, country, language: options.language, day: todayUtc() });
    if (!template) throw new ConflictError(`No Microsoft Customer Agreement template is current for ${country}: publish or import one first`);
    if (await openAttestationOf(this.em, customer.id, partnerId)) throw alreadyOpen();
    try {
      return await this.em.transactional(async (t) => {
        const tx = t as EntityManager;
        // The lock confirmations take: requests of one pair queue up, and the second finds the first open.
        await queryRows(tx, 'select id from customer_relationships where customer_id = ? and partner_id = ? for update', [customer.id, partnerId]);
        if (await openAttestationOf(tx, customer.id, partnerId)) throw alreadyOpen();
        const jobId = randomUUID();
        const attestation = tx.create(Attestation, {
          customer,
          partner: tx.getReference(Partner, partnerId),
          reseller: submission ? tx.getReference(Partner, submission.reseller.id) : null,
          submission: submission ? tx.getReference(AcceptanceSubmission, submission.id) : null,
          requestedBy: tx.getReference(User, this.viewer.userId),
          linkLifetimeMinutes: options.linkLifetimeMinutes,
          companyName: options.companyName ?? customer.companyName,
          country,
          language: options.language,
          signatory,
          jobId,
        });
        await tx.flush();
        await sendFollowJob(tx, jobId, { attestationId: attestation.id, partnerId });
        await recordUpdate(tx, attestation.id);
        await appendAuditChain(tx, [{ customerId: customer.id, partnerId }]);
        return attestation;
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw alreadyOpen();
      throw err;
    }
  }

  /**
   * Cancels an attestation of the caller's partner before the customer accepts: CANCELLED
   * at once; its follow job cancels the link upstream too.
   */
  async cancel(id: string): Promise<Attestation> {
    this.assertMayAttest();
    return this.em.transactional(async (t) => {
      const tx = t as EntityManager;
      const rows = isUuid(id)
        ? await queryRows<{ partner_id: string; status: AttestationStatus }>(tx, 'select partner_id, status from attestations where id = ? for update', [id])
        : [];
      const row = rows[0];
      if (!row || (!seesAllPartners(this.viewer) && row.partner_id !== this.viewer.partnerId)) throw new NotFoundError('Attestation', id, 'id');
      if (row.status === AttestationStatus.CUSTOMER_ACCEPTED) throw new ConflictError('The customer already accepted: the agreement is being recorded and can no longer be cancelled');
      if (row.status !== AttestationStatus.REQUESTED && row.status !== AttestationStatus.LINK_ISSUED) throw new ConflictError(`This attestation is already ${row.status}`);
      const jobId = randomUUID();
      await queryRows(tx, `update attestations set status = 'CANCELLED', job_id = ?, updated_at = clock_timestamp() where id = ?`, [jobId, id]);
      await sendFollowJob(tx, jobId, { attestationId: id, partnerId: row.partner_id });
      await recordUpdate(tx, id);
      return (await readableAttestation(tx, this.viewer, id))!;
    });
  }

  /** One attestation the viewer may read, else null (another tenant's id reads as missing). */
  async get(id: string): Promise<Attestation | null> {
    return isUuid(id) ? readableAttestation(this.em, this.viewer, id) : null;
  }

  /** What the viewer may read, narrowed by partner (another tenant's reads as an unknown one: nothing) and status; oldest first. */
  async list(args: { partnerId?: string | null; status?: AttestationStatus | null; first?: number | null; after?: string | null }): Promise<ConnectionResult<Attestation>> {
    const where: SqlCondition[] = [readableCondition(this.viewer, 't')];
    if (args.partnerId) {
      const named = await partnerNamedBy(this.viewer, args.partnerId, linkedBySql(this.em));
      where.push({ sql: 't.partner_id = ?::uuid', params: [named && isUuid(named) ? named : NO_PARTNER] });
    }
    if (args.status) where.push({ sql: 't.status = ?', params: [args.status] });
    return paginateRows(
      this.em,
      {
        table: 'attestations',
        alias: 't',
        where,
        keys: timeOrder('t.created_at', (a) => a.createdAt, 't.id', (a) => a.id),
        row: plainAttestation,
        count: 'bounded',
      },
      args,
    );
  }
}
