import { Field, Int, ObjectType } from 'type-graphql';
import { Acceptance } from '../acceptance/acceptance.entity';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { ConnectionType } from '../common/connection';
import { AcceptanceSync } from './partner-center.entity';
import { ConnectionStatus } from './partner-center.enums';

/** What the API shows of a connection: never a secret (the entity is not a GraphQL type at all). */
@ObjectType('PartnerCenterConnection', { description: "A partner's Partner Center connection; its secret and refresh token are write-only and never shown" })
export class PartnerCenterConnectionView {
  partnerId!: string;

  @Field(() => String, { nullable: true, description: 'The Entra application (client) id; null when disconnected' })
  clientId!: string | null;

  @Field(() => ConnectionStatus, { description: 'CONNECTED, FAILING (the last token request failed) or DISCONNECTED' })
  status!: ConnectionStatus;

  @Field(() => Date, { nullable: true, description: 'When the credentials were stored' })
  connectedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When Partner Center last issued an access token' })
  lastTokenAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'Why the last token request failed (never a secret)' })
  lastError!: string | null;
}

@ObjectType({ description: 'The connection as stored' })
export class ConnectPartnerCenterPayload {
  @Field(() => PartnerCenterConnectionView, { description: 'The connection, CONNECTED' })
  connection!: PartnerCenterConnectionView;
}

@ObjectType({ description: 'The connection after its credentials were erased' })
export class DisconnectPartnerCenterPayload {
  @Field(() => PartnerCenterConnectionView, { description: 'The connection, DISCONNECTED' })
  connection!: PartnerCenterConnectionView;
}

@ObjectType({ description: 'What an import of agreement metadata changed' })
export class ImportAgreementTemplatesPayload {
  @Field(() => Int, { description: 'Templates that were new' })
  imported!: number;

  @Field(() => Int, { description: 'Existing templates whose link, rank, type or country changed' })
  updated!: number;

  @Field(() => [AgreementTemplate], { description: 'Every template Partner Center listed, as now stored' })
  templates!: AgreementTemplate[];
}

@ObjectType({ description: 'The acceptance whose sync was requeued' })
export class RetryAcceptanceSyncPayload {
  @Field(() => Acceptance, { description: 'The acceptance; its sync is PENDING again (NOT_CONNECTED without a connection)' })
  acceptance!: Acceptance;
}

/** One row of the sync backlog. */
@ObjectType({ description: 'An acceptance and its Partner Center sync' })
export class AcceptanceSyncItem {
  acceptanceId!: string;

  @Field(() => AcceptanceSync, { description: 'Its sync state' })
  sync!: AcceptanceSync;
}

export const AcceptanceSyncItemConnection = ConnectionType('AcceptanceSyncItem', AcceptanceSyncItem, 'bounded');
