import type { Feature } from '../kernel/feature';
import { Order, Subscription, SubscriptionEvent } from './transaction.entity';
import { OrderResolver, SubscriptionResolver } from './transaction.resolver';

/** Orders through the gate and the subscriptions they create. */
export const transactionsFeature: Feature = {
  name: 'transactions',
  entities: [Subscription, Order, SubscriptionEvent],
  resolvers: [OrderResolver, SubscriptionResolver],
};
