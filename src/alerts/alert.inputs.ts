import { Field, ID, InputType } from 'type-graphql';
import { BlockReason } from '../transactions/transaction.enums';

@InputType({ description: 'Narrows the blocked-order alerts a caller may see' })
export class AlertFilter {
  @Field(() => ID, { nullable: true, description: 'Only alerts this partner is a party to (as billing partner or as reseller)' })
  partnerId?: string | null;

  @Field(() => ID, { nullable: true, description: 'Only alerts of this customer' })
  customerId?: string | null;

  @Field(() => BlockReason, { nullable: true, description: 'Only alerts listing this reason' })
  reason?: BlockReason | null;

  @Field(() => Boolean, { nullable: true, description: 'true: only acknowledged alerts; false: only open ones' })
  acknowledged?: boolean | null;
}
