import { Field, Int, ObjectType } from 'type-graphql';
import { ConnectionType } from '../common/connection';
import { AcceptanceDriftRecord } from './reconciliation.entity';

/** What one reconciliation answers. */
@ObjectType({ description: 'The result of reconciling a partner with Partner Center' })
export class ReconcilePartnerCenterPayload {
  @Field(() => Int, { description: 'Customers checked (public cloud, served by the partner as billing partner)' })
  checked!: number;

  @Field(() => Int, { description: 'Customers that could not be read from Partner Center this time (their open drift is kept)' })
  failed!: number;

  @Field(() => [AcceptanceDriftRecord], { description: 'The drift this run found (new or still open)' })
  drift!: AcceptanceDriftRecord[];
}

export const AcceptanceDriftConnection = ConnectionType('AcceptanceDrift', AcceptanceDriftRecord, 'bounded');
