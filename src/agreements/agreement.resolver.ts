import { Arg, Authorized, Ctx, Field, FieldResolver, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { Parent } from '../common/parent';
import { ANY_ROLE, PLATFORM_ADMIN } from '../auth/roles';
import type { Context } from '../kernel/context';
import { AgreementTemplate } from './agreement.entity';
import { AgreementType } from './agreement.enums';
import { PublishAgreementInput } from './agreement.inputs';
import { currentTemplateFor } from './agreement.loaders';
import { AgreementService } from './agreement.service';
import { isCurrentTemplate, todayUtc } from './current';

@ObjectType({ description: 'The result of publishing a template' })
export class PublishAgreementPayload {
  @Field(() => AgreementTemplate, { description: 'The template, as stored' })
  agreement!: AgreementTemplate;
}

const service = (ctx: Context) => new AgreementService(ctx.em, ctx.viewer!);

@Resolver(() => AgreementTemplate)
export class AgreementResolver {
  @Authorized(ANY_ROLE)
  @Query(() => [AgreementTemplate], { description: 'Agreement templates, by type then newest rank first; every argument narrows the list' })
  agreements(
    @Arg('type', () => AgreementType, { nullable: true, description: 'Only templates of this type' }) type: AgreementType | null,
    @Arg('country', () => String, { nullable: true, description: 'Only templates of this country (ISO 3166-1 alpha-2) or GLOBAL' }) country: string | null,
    @Arg('language', () => String, { nullable: true, description: 'Only templates in this BCP 47 language' }) language: string | null,
    @Ctx() ctx: Context,
  ): Promise<AgreementTemplate[]> {
    return service(ctx).list({ type, country, language });
  }

  @Authorized(ANY_ROLE)
  @Query(() => AgreementTemplate, {
    nullable: true,
    description:
      "The template in force today for a country: the effective one of highest rank for the country, else GLOBAL's; null when none is effective",
  })
  currentAgreement(
    @Arg('type', () => AgreementType, { description: 'Agreement type' }) type: AgreementType,
    @Arg('country', () => String, { description: 'ISO 3166-1 alpha-2 country code (or GLOBAL)' }) country: string,
    @Arg('language', () => String, { nullable: true, description: 'Preferred BCP 47 language among translations of the current version' })
    language: string | null,
    @Ctx() ctx: Context,
  ): Promise<AgreementTemplate | null> {
    return service(ctx).current(type, country, language);
  }

  @Authorized(PLATFORM_ADMIN)
  @Mutation(() => PublishAgreementPayload, { description: 'Publishes an agreement template (platform admins only)' })
  async publishAgreement(@Arg('input', () => PublishAgreementInput, { description: 'The template to publish' }) input: PublishAgreementInput, @Ctx() ctx: Context): Promise<PublishAgreementPayload> {
    const agreement = await service(ctx).publish(input);
    // A new rank changes what is current: drop the request's cached answers.
    ctx.loaders.clear();
    return { agreement };
  }

  @FieldResolver(() => Boolean, {
    description: 'Whether this is (a translation of) the current version for its type and country, effective today',
  })
  async isCurrent(@Parent() template: AgreementTemplate, @Ctx() ctx: Context): Promise<boolean> {
    const current = await currentTemplateFor.of(ctx).load({ type: template.type, country: template.country });
    return isCurrentTemplate(template, current, todayUtc());
  }
}
