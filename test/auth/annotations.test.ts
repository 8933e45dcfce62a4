import 'reflect-metadata';
import { getMetadataStorage } from 'type-graphql';
import { gatewaySchema } from '../../src/gateway';

/**
 * Every root field carries @Authorized: a root field without one is a bug (STYLE.md).
 * Read from type-graphql's own metadata after the schema is built.
 */
describe('authorization annotations', () => {
  it('every query, mutation and subscription has @Authorized with at least one role', async () => {
    const schema = await gatewaySchema();
    const storage = getMetadataStorage();
    const roots = [...storage.queries, ...storage.mutations, ...storage.subscriptions];
    const authorized = new Set(storage.authorizedFields.filter((a) => a.roles.length > 0).map((a) => `${a.target.name}.${a.fieldName}`));
    const missing = roots.filter((r) => !authorized.has(`${r.target.name}.${r.methodName}`)).map((r) => r.schemaName);
    expect(missing).toEqual([]);

    // And the schema's root fields are exactly those resolvers (nothing reaches the schema another way).
    const schemaRoots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]
      .flatMap((t) => (t ? Object.keys(t.getFields()) : []))
      .sort();
    expect([...new Set(roots.map((r) => r.schemaName))].sort()).toEqual([...new Set(schemaRoots)]);
  });
});
