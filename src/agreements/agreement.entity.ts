import { Entity, Enum, Index, PrimaryKey, Property, OptionalProps } from '@mikro-orm/core';
import { AgreementType } from './agreement.enums';

@Entity({ tableName: 'agreement_templates' })
@Index({ properties: ['type', 'country', 'versionRank'] })
export class AgreementTemplate {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'text' })
  templateId!: string;

  @Enum({ items: () => AgreementType })
  type!: AgreementType;

  @Property()
  version!: string;

  /** Higher is newer, per type. */
  @Property()
  versionRank!: number;

  /** ISO 3166-1 alpha-2, or GLOBAL. */
  @Property()
  country!: string;

  /** BCP 47. */
  @Property()
  language!: string;

  @Property({ type: 'text' })
  displayUri!: string;

  @Property({ type: 'date' })
  effectiveFrom!: string;

  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
