import { Field, Int, ObjectType } from 'type-graphql';
import { AgreementType } from '../agreements/agreement.enums';
import { EvidenceSource } from '../acceptance/acceptance.enums';
import { Contact } from '../common/contact';
import { AuditEvent } from '../audit/audit.enums';
import { DocumentStatus } from './evidence.enums';

/** The agreement shown to the signatory, as the gateway knows it (DESIGN.md section 13). */
@ObjectType({ description: 'The agreement document shown: template, type, version, country, language, its address and, when the gateway fetched it, its SHA-256' })
export class EvidenceDocument {
  @Field({ description: 'The agreement template accepted' })
  templateId!: string;

  @Field(() => AgreementType, { description: "The template's agreement type" })
  type!: AgreementType;

  @Field({ description: "The template's version label" })
  version!: string;

  @Field({ description: 'The country of the document (ISO 3166-1 alpha-2, or GLOBAL)' })
  country!: string;

  @Field({ description: 'The language of the document (BCP 47)' })
  language!: string;

  @Field(() => String, { nullable: true, description: "The document's address: the vendor's link when fetched (valid 5 minutes then), else the template's" })
  uri!: string | null;

  @Field(() => String, { nullable: true, description: 'SHA-256 (hex) of the document as the gateway downloaded it; null when it was not fetched' })
  sha256!: string | null;

  @Field(() => Date, { nullable: true, description: 'When the gateway fetched and hashed it' })
  fetchedAt!: Date | null;

  @Field(() => DocumentStatus, { description: 'Whether the gateway fetched it: PENDING, FETCHED, FAILED or NOT_FETCHED' })
  status!: DocumentStatus;

  @Field(() => String, { nullable: true, description: 'FAILED: why the document could not be fetched' })
  error!: string | null;
}

/** One HTTP exchange with Partner Center about a confirmation (partner_center_exchanges); never a token or a secret. */
@ObjectType({ description: 'One exchange with Partner Center about this confirmation: when, its ids, the HTTP status, the upstream code and how it ended' })
export class UpstreamExchange {
  @Field({ description: 'When the exchange took place' })
  at!: Date;

  @Field({ description: 'What it was: confirm, document, attestation_create, attestation_status, attestation_cancel, token, ...' })
  operation!: string;

  @Field(() => String, { nullable: true, description: 'The MS-RequestId sent' })
  requestId!: string | null;

  @Field(() => String, { nullable: true, description: 'The MS-CorrelationId sent' })
  correlationId!: string | null;

  @Field(() => Int, { nullable: true, description: 'The HTTP status answered (null: no answer)' })
  httpStatus!: number | null;

  @Field(() => String, { nullable: true, description: 'The upstream error code, when one was answered' })
  code!: string | null;

  @Field({ description: 'How it ended: ok, retry, failed, throttled, unauthorized, transport or already_exists' })
  outcome!: string;
}

/** A confirmation's evidence (DESIGN.md section 13). Related records resolve through loaders. */
@ObjectType({ description: 'Proof of a confirmation: how it was obtained, who recorded it and when, the signatory, the agreement shown, the attestation and every upstream exchange about it' })
export class AcceptanceEvidence {
  @Field(() => EvidenceSource, { description: 'How the confirmation was obtained' })
  source!: EvidenceSource;

  @Field({ description: 'When the gateway recorded it' })
  recordedAt!: Date;

  @Field(() => Contact, { description: 'The person who accepted, as currently recorded (masked for analysts; corrections are in the audit trail)' })
  signatory!: Contact;

  @Field(() => EvidenceDocument, { description: 'The agreement shown' })
  document!: EvidenceDocument;

  @Field({ description: 'True for a confirmation recorded before evidence was kept: built from what was known then (no document hash, no upstream exchanges)' })
  reconstructed!: boolean;

  acceptanceId!: string;
  recordedById!: string;
  attestationId!: string | null;
}

/** Where a trail's chain stops matching. */
@ObjectType({ description: 'The first event of the trail that no longer matches its chain' })
export class AuditChainBreak {
  @Field({ description: 'When the event happened' })
  at!: Date;

  @Field(() => AuditEvent, { description: 'The event' })
  event!: AuditEvent;

  @Field({ description: 'Why: CHANGED (its rows were edited), MISSING (its rows are gone), UNCHAINED (an event no link holds: written outside the gateway) or LINK (the stored link was edited)' })
  reason!: string;

  @Field(() => Int, { nullable: true, description: "The link's position in the chain (null for an event no link holds)" })
  seq!: number | null;
}

@ObjectType({ description: "The tamper-evident trail's verification: the chain recomputed from the current rows" })
export class AuditVerification {
  @Field({ description: 'True when every event still matches its link and every link follows from the one before' })
  valid!: boolean;

  @Field(() => Int, { description: 'Links in the chain' })
  events!: number;

  @Field(() => String, { nullable: true, description: "The last link's SHA-256 (null for an empty chain, or several partners)" })
  headHash!: string | null;

  @Field(() => AuditChainBreak, { nullable: true, description: 'The first event that no longer matches (null when valid)' })
  firstBroken!: AuditChainBreak | null;

  @Field({ description: 'When it was computed' })
  verifiedAt!: Date;
}
