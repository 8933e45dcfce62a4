import { Arg, Ctx, FieldResolver, ID, Resolver } from 'type-graphql';
import { Parent } from '../common/parent';
import type { Context } from '../kernel/context';
import { Acceptance } from '../acceptance/acceptance.entity';
import { Customer } from '../customers/customer.entity';
import { User } from '../partners/partner.entity';
import { userById } from '../partners/partner.loaders';
import { Attestation } from '../attestations/attestation.entity';
import { attestationById } from '../attestations/attestation.loaders';
import { mayReadPartner } from '../acceptance/acceptance.resolver';
import { complianceScope } from '../acceptance/compliance';
import { auditVerificationOf, evidenceByAcceptance, upstreamOfAcceptance } from './evidence.loaders';
import { AcceptanceEvidence, AuditVerification, UpstreamExchange } from './evidence.types';

/** `Acceptance.evidence` (DESIGN.md section 13): whoever may read the acceptance reads its evidence (contact masked for analysts). */
@Resolver(() => Acceptance)
export class AcceptanceEvidenceResolver {
  @FieldResolver(() => AcceptanceEvidence, {
    description: 'Proof of this confirmation: its source, who recorded it and when, the signatory, the agreement document shown (with its SHA-256 when fetched), the attestation and every upstream exchange about it',
  })
  async evidence(@Parent() acceptance: Acceptance, @Ctx() ctx: Context): Promise<AcceptanceEvidence> {
    return (await evidenceByAcceptance.of(ctx).load(acceptance.id))!;
  }
}

@Resolver(() => AcceptanceEvidence)
export class EvidenceFieldsResolver {
  @FieldResolver(() => User, { description: 'The partner user who recorded the confirmation' })
  recordedBy(@Parent() e: AcceptanceEvidence, @Ctx() ctx: Context) {
    return userById.of(ctx).load(e.recordedById);
  }

  @FieldResolver(() => Attestation, { nullable: true, description: 'The enhanced attestation the confirmation came from (source ATTESTATION)' })
  attestation(@Parent() e: AcceptanceEvidence, @Ctx() ctx: Context) {
    return e.attestationId ? attestationById.of(ctx).load(e.attestationId) : null;
  }

  @FieldResolver(() => [UpstreamExchange], { description: 'Every exchange with Partner Center about this confirmation (and its attestation), oldest first; ids and outcomes, never a token or a secret' })
  upstream(@Parent() e: AcceptanceEvidence, @Ctx() ctx: Context) {
    return upstreamOfAcceptance.of(ctx).load(e.acceptanceId);
  }
}

/** `Customer.auditVerification`, batched over a page of customers. */
@Resolver(() => Customer)
export class CustomerAuditVerificationResolver {
  @FieldResolver(() => AuditVerification, {
    nullable: true,
    description:
      "The tamper-evident trail's chain recomputed from the current rows: valid, the number of events, the head hash and the first event that no longer matches. Partner as for auditTrail; another tenant's partner answers null",
  })
  async auditVerification(
    @Parent() customer: Customer,
    @Arg('partnerId', () => ID, { nullable: true, description: "The billing partner; defaults to the caller's partner" }) partnerId: string | null,
    @Ctx() ctx: Context,
  ): Promise<AuditVerification | null> {
    if (!(await mayReadPartner(ctx, partnerId))) return null;
    return auditVerificationOf.of(ctx).load({ scope: complianceScope(ctx.viewer!, partnerId), customerId: customer.id });
  }
}
