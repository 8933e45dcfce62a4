import { Entity, Enum, Index, PrimaryKey, Property, OptionalProps } from '@mikro-orm/core';
import { Field, Int, ObjectType } from 'type-graphql';
import { DateScalar } from '../common/scalars';
import { AgreementType } from './agreement.enums';

@ObjectType({ description: 'One published version of an agreement, for a country (or GLOBAL) and a language' })
@Entity({ tableName: 'agreement_templates' })
@Index({ properties: ['type', 'country', 'versionRank'] })
export class AgreementTemplate {
  [OptionalProps]?: 'createdAt';

  @Field({ description: 'Stable identifier of the template' })
  @PrimaryKey({ type: 'text' })
  templateId!: string;

  @Field(() => AgreementType, { description: 'Which agreement this is a version of' })
  @Enum({ items: () => AgreementType })
  type!: AgreementType;

  @Field({ description: 'Version label, e.g. 2024-06' })
  @Property()
  version!: string;

  /** Higher is newer, per type. */
  @Field(() => Int, { description: 'Integer order of versions within the type; higher is newer' })
  @Property()
  versionRank!: number;

  /** ISO 3166-1 alpha-2, or GLOBAL. */
  @Field({ description: 'ISO 3166-1 alpha-2 country code, or GLOBAL for every country without its own template' })
  @Property()
  country!: string;

  /** BCP 47. */
  @Field({ description: 'BCP 47 language tag, e.g. en-US' })
  @Property()
  language!: string;

  @Field({ description: 'Where the agreement text can be read' })
  @Property({ type: 'text' })
  displayUri!: string;

  @Field(() => DateScalar, { description: 'First day the template applies' })
  @Property({ type: 'date' })
  effectiveFrom!: string;

  @Field({ description: 'When the template was published' })
  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
