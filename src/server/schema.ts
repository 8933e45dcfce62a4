import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { authChecker } from '../auth/auth-checker';
import { DateTimeScalar } from '../common/scalars';
import type { ResolverClass } from '../kernel/feature';
import { leanFieldResolvers, plainPropertyFields } from './lean-resolvers';

const built = new WeakMap<readonly ResolverClass[], Promise<GraphQLSchema>>();

/** The schema of these resolvers, built once per list: every gateway of a process shares it. */
export function buildGatewaySchema(resolvers: readonly ResolverClass[]): Promise<GraphQLSchema> {
  let schema = built.get(resolvers);
  if (schema) return schema;
  const [first, ...rest] = resolvers;
  if (!first) throw new Error('a schema needs at least one resolver');
  schema = buildSchema({
    resolvers: [first, ...rest],
    authChecker,
    authMode: 'error',
    // type-graphql requires a PubSub once any @Subscription exists; the alerts subscription brings its own source.
    pubSub: createPubSub(),
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: { forbidUnknownValues: false, validationError: { target: false, value: false } },
  }).then((schema) => {
    // Without global middlewares, a container or a validation function: see leanFieldResolvers.
    leanFieldResolvers(schema, resolvers);
    plainPropertyFields(schema);
    return schema;
  });
  built.set(resolvers, schema);
  return schema;
}

export function printGatewaySchema(schema: GraphQLSchema): string {
  return (
    '# Emitted from the type-graphql classes by `npm run schema`; do not edit by hand.\n\n' +
    printSchema(lexicographicSortSchema(schema)) +
    '\n'
  );
}
