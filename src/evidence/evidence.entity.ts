import { Entity, Enum, OneToOne, Property, OptionalProps } from '@mikro-orm/core';
import { Acceptance } from '../acceptance/acceptance.entity';
import { DocumentStatus } from './evidence.enums';

/**
 * What the gateway kept about one confirmation beyond the acceptance row (DESIGN.md
 * section 13): whether the evidence was reconstructed for a confirmation recorded before
 * evidence was kept, and the agreement document as the gateway fetched it (the vendor's
 * links live five minutes, so it is fetched and hashed right after the confirmation, by a
 * job queued in its transaction: src/evidence/evidence.document.ts).
 */
@Entity({ tableName: 'acceptance_evidence' })
export class AcceptanceEvidenceRecord {
  [OptionalProps]?: 'reconstructed' | 'attempts' | 'createdAt';

  @OneToOne({ entity: () => Acceptance, primary: true, owner: true, deleteRule: 'cascade', fieldName: 'acceptance_id' })
  acceptance!: Acceptance;

  /** True for confirmations recorded before this evidence was kept: built from what was known. */
  @Property()
  reconstructed: boolean = false;

  @Enum({ items: () => DocumentStatus })
  documentStatus!: DocumentStatus;

  /** The document's address as the vendor answered it (displayUri), else the template's. */
  @Property({ type: 'text', nullable: true })
  documentUri?: string | null;

  @Property({ type: 'text', nullable: true })
  documentSha256?: string | null;

  @Property({ type: 'text', nullable: true })
  documentCountry?: string | null;

  @Property({ type: 'text', nullable: true })
  documentLanguage?: string | null;

  @Property({ columnType: 'timestamptz', nullable: true })
  documentFetchedAt?: Date | null;

  /** Why the document could not be fetched (never a token or a secret). */
  @Property({ type: 'text', nullable: true })
  documentError?: string | null;

  @Property()
  attempts: number = 0;

  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
