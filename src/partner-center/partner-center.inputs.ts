import { Field, ID, InputType } from 'type-graphql';

/** The secret and the refresh token are write-only: never returned, logged or echoed in an error. */
@InputType({ description: "A partner's Partner Center (App+User) credentials; verified with one token request before they are stored" })
export class ConnectPartnerCenterInput {
  @Field(() => ID, { nullable: true, description: "The partner to connect; defaults to the caller's partner (required for platform admins)" })
  partnerId?: string | null;

  @Field({ description: 'The Entra application (client) id' })
  clientId!: string;

  @Field({ description: 'The application secret: write-only, stored encrypted, never returned or logged' })
  clientSecret!: string;

  @Field({ description: 'A refresh token of a partner user for the Partner Center API: write-only, stored encrypted, never returned or logged' })
  refreshToken!: string;
}
