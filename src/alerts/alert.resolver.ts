import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { Context } from '../server/context';
import { Partner, User } from '../partners/partner.entity';
import { partnerById } from '../partners/partner.loaders';
import { BlockedOrderAlert } from './alert.entity';
import { userById } from './alert.loaders';

@Resolver(() => BlockedOrderAlert)
export class BlockedOrderAlertResolver {
  @FieldResolver(() => String, { description: 'Monotonic cursor (equal to the id): pass it as `after` to resume' })
  cursor(@Root() alert: BlockedOrderAlert): string {
    return String(alert.id);
  }

  @FieldResolver(() => Partner, { description: 'The billing partner of the blocked order' })
  async partner(@Root() alert: BlockedOrderAlert, @Ctx() ctx: Context): Promise<Partner> {
    return (await partnerById.of(ctx).load(alert.partner.id))!;
  }

  @FieldResolver(() => Partner, { nullable: true, description: 'The reseller that placed the order through its provider, if any' })
  async reseller(@Root() alert: BlockedOrderAlert, @Ctx() ctx: Context): Promise<Partner | null> {
    return alert.reseller ? partnerById.of(ctx).load(alert.reseller.id) : null;
  }

  @FieldResolver(() => User, { nullable: true, description: 'Who acknowledged the alert; null while open' })
  async acknowledgedBy(@Root() alert: BlockedOrderAlert, @Ctx() ctx: Context): Promise<User | null> {
    return alert.acknowledgedBy ? userById.of(ctx).load(alert.acknowledgedBy.id) : null;
  }
}
