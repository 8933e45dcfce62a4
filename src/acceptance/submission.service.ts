import { policyRules } from '../policy/policy.queries';
import { assertRecordableWithoutAttestation } from '../policy/policy.rules';
import type { EntityManager } from '@mikro-orm/postgresql';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError } from '../errors';
import { isLinked, isUuid } from '../auth/tenancy';
import { seesAllPartners, type Viewer } from '../auth/viewer';
import { paginate, type ConnectionResult } from '../common/connection';
import { Customer } from '../customers/customer.entity';
import { Partner, User } from '../partners/partner.entity';
import { PartnerType } from '../auth/roles';
import { Acceptance, AcceptanceSubmission } from './acceptance.entity';
import { Channel, EvidenceSource, ReviewDecision, SubmissionStatus } from './acceptance.enums';
import type { ReviewAcceptanceSubmissionInput, SubmitAcceptanceInput } from './acceptance.inputs';
import { optionalText } from './acceptance.rules';
import { AcceptanceService, recordConfirmation } from './acceptance.service';
import { queryRows } from '../db/query';
import { appendAuditChain } from '../audit/audit.chain';

/**
 * Reseller submissions and the provider's review (DESIGN.md section 4). A reseller
 * not linked to the named provider is answered NOT_FOUND on `providerId`: to it, that
 * provider is another tenant's record.
 */
export class SubmissionService {
  private readonly acceptances: AcceptanceService;

  constructor(private readonly em: EntityManager, private readonly viewer: Viewer) {
    this.acceptances = new AcceptanceService(em, viewer);
  }

  async submit(input: SubmitAcceptanceInput): Promise<AcceptanceSubmission> {
    const resellerId = this.viewer.partnerId;
    if (!resellerId || this.viewer.partnerType !== PartnerType.INDIRECT_RESELLER) {
      throw new ForbiddenError('Only a reseller submits acceptance details to its provider');
    }
    if (!(await isLinked(this.em, resellerId, input.providerId))) throw new NotFoundError('Partner', input.providerId, 'providerId');
    const customer = await this.acceptances.visibleCustomer(input.customerId);
    const serving = await queryRows(
      this.em,
      `select 1 from customer_relationships r join customer_relationship_resellers rr on rr.relationship_id = r.id
        where r.customer_id = ? and r.partner_id = ? and rr.reseller_id = ?`,
      [customer.id, input.providerId, resellerId],
    );
    if (serving.length === 0) throw new BadUserInputError('You do not serve this customer through this provider', 'providerId');
    const details = await this.acceptances.validateDetails(customer, input);
    return this.em.transactional(async (t) => {
      const tx = t as EntityManager;
      const submission = tx.create(AcceptanceSubmission, {
        customer: tx.getReference(Customer, customer.id),
        provider: tx.getReference(Partner, input.providerId),
        reseller: tx.getReference(Partner, resellerId),
        template: details.template,
        dateAgreed: details.dateAgreed,
        contact: details.contact,
        submittedBy: tx.getReference(User, this.viewer.userId),
      });
      await tx.flush();
      // The tamper-evident chain: SUBMITTED, in the provider's trail.
      await appendAuditChain(tx, [{ customerId: customer.id, partnerId: input.providerId }]);
      return submission;
    });
  }

  /** The provider reviews submissions made to it (platform admins: any); a reseller never reviews. */
  async review(input: ReviewAcceptanceSubmissionInput): Promise<{ submission: AcceptanceSubmission; acceptance: Acceptance | null }> {
    if (this.viewer.partnerType === PartnerType.INDIRECT_RESELLER) throw new ForbiddenError('A reseller cannot review submissions');
    const note = optionalText(input.note, 'note');
    if (input.decision === ReviewDecision.REJECT && !note) throw new BadUserInputError('A rejection needs a note for the reseller', 'note');
    try {
      return await this.em.transactional(async (t) => {
        const tx = t as EntityManager;
        // Locked: two reviewers of one submission are serialized, and the second finds it reviewed.
        const submission = isUuid(input.submissionId)
          ? await tx.findOne(AcceptanceSubmission, { id: input.submissionId }, { lockMode: LockMode.PESSIMISTIC_WRITE })
          : null;
        if (!submission || (!seesAllPartners(this.viewer) && submission.provider.id !== this.viewer.partnerId)) {
          throw new NotFoundError('AcceptanceSubmission', input.submissionId, 'submissionId');
        }
        if (submission.status !== SubmissionStatus.PENDING) throw new ConflictError(`This submission was already ${submission.status}`);
        submission.reviewedBy = tx.getReference(User, this.viewer.userId);
        submission.reviewedAt = new Date();
        submission.reviewNote = note;
        if (input.decision === ReviewDecision.REJECT) {
          submission.status = SubmissionStatus.REJECTED;
          await tx.flush();
          await appendAuditChain(tx, [{ customerId: submission.customer.id, partnerId: submission.provider.id }]);
          return { submission, acceptance: null };
        }
        const [customer, reseller] = await Promise.all([
          tx.findOneOrFail(Customer, { id: submission.customer.id }),
          tx.findOneOrFail(Partner, { id: submission.reseller.id }),
        ]);
        // The details were checked on submission; the template and dates are re-checked as they stand now.
        const details = await new AcceptanceService(tx, this.viewer).validateDetails(customer, {
          templateId: submission.template.templateId,
          dateAgreed: submission.dateAgreed,
          contact: submission.contact,
        });
        assertRecordableWithoutAttestation(await policyRules(tx), Channel.API, new Date(), details.dateAgreed);
        const { acceptance } = await recordConfirmation(tx, {
          customer,
          partnerId: submission.provider.id,
          ...details,
          onBehalfOf: reseller.name,
          channel: Channel.API,
          source: EvidenceSource.RESELLER_SUBMITTED,
          confirmedBy: this.viewer.userId,
        });
        submission.status = SubmissionStatus.APPROVED;
        submission.acceptance = acceptance;
        await tx.flush();
        await appendAuditChain(tx, [{ customerId: submission.customer.id, partnerId: submission.provider.id }]);
        return { submission, acceptance };
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) {
        throw new ConflictError('Another confirmation for this customer and provider was recorded at the same moment; retry');
      }
      throw err;
    }
  }

  /** What the viewer may see: a provider the submissions made to it, a reseller its own; platform roles all. */
  list(args: { status?: SubmissionStatus | null; first?: number | null; after?: string | null }): Promise<ConnectionResult<AcceptanceSubmission>> {
    const qb = this.em.createQueryBuilder(AcceptanceSubmission, 's');
    if (!seesAllPartners(this.viewer)) qb.where('(s.provider_id = ? or s.reseller_id = ?)', [this.viewer.partnerId, this.viewer.partnerId]);
    if (args.status) qb.andWhere({ status: args.status });
    return paginate(
      qb,
      [
        { column: 's.submitted_at', value: (s) => s.submittedAt.toISOString() },
        { column: 's.id', value: (s) => s.id },
      ],
      args,
    );
  }
}
