import { Field, ID, InputType } from 'type-graphql';
import { IsNotEmpty, IsUUID, Matches, MaxLength } from 'class-validator';
import { PartnerType } from '../auth/roles';

@InputType({ description: 'A new partner (platform admins only)' })
export class RegisterPartnerInput {
  @Field({ description: 'Display name' })
  @IsNotEmpty({ message: 'name is required' })
  @MaxLength(255)
  name!: string;

  @Field({ description: "The partner's Microsoft Entra tenant id; unique" })
  @IsNotEmpty({ message: 'tenantId is required' })
  @MaxLength(255)
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'tenantId may contain letters, digits, dots, dashes and underscores' })
  tenantId!: string;

  @Field(() => PartnerType)
  type!: PartnerType;
}

@InputType({ description: 'Links an indirect reseller to an indirect provider' })
export class LinkResellerInput {
  @Field(() => ID)
  @IsUUID('all', { message: 'resellerId must be a partner id' })
  resellerId!: string;

  @Field(() => ID)
  @IsUUID('all', { message: 'providerId must be a partner id' })
  providerId!: string;
}
