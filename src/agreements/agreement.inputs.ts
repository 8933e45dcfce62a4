import { Field, InputType, Int } from 'type-graphql';
import { DateScalar } from '../common/scalars';
import { AgreementType } from './agreement.enums';

/** Checked in depth by `normalizePublishInput` (agreement.rules.ts), which names the offending field. */
@InputType({ description: 'A new agreement template (platform admins only)' })
export class PublishAgreementInput {
  @Field(() => String, { nullable: true, description: 'Stable identifier; generated when absent; must be unused' })
  templateId?: string | null;

  @Field(() => AgreementType, { description: 'Which agreement this is a version of' })
  type!: AgreementType;

  @Field({ description: 'Version label, e.g. 2024-06' })
  version!: string;

  @Field(() => Int, { description: 'Order of versions within the type, 1 or more; higher is newer' })
  versionRank!: number;

  @Field({ description: 'ISO 3166-1 alpha-2 country code, or GLOBAL' })
  country!: string;

  @Field({ description: 'BCP 47 language tag, e.g. en-US' })
  language!: string;

  @Field({ description: 'http(s) URL where the agreement text can be read' })
  displayUri!: string;

  @Field(() => DateScalar, { description: 'First day the template applies' })
  effectiveFrom!: string;
}
