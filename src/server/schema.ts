import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { authChecker } from '../auth/auth-checker';
import { DateTimeScalar } from '../common/scalars';

const SRC = join(__dirname, '..');

/** Every `*.resolver.ts` (or compiled `.js`) under src/, so features plug in without a central list. */
export function resolverClasses(): Function[] {
  const found: Function[] = [];
  for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.resolver\.(ts|js)$/.test(entry.name) || entry.name.endsWith('.d.ts')) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(join(entry.parentPath, entry.name));
    for (const value of Object.values(mod)) if (typeof value === 'function' && /Resolver$/.test(value.name)) found.push(value);
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

let cached: Promise<GraphQLSchema> | undefined;

/** The schema is the same for every gateway in a process: build it once. */
export function gatewaySchema(): Promise<GraphQLSchema> {
  cached ??= buildSchema({
    resolvers: resolverClasses() as [Function, ...Function[]],
    authChecker,
    authMode: 'error',
    // type-graphql requires a PubSub once any @Subscription exists; the alerts subscription brings its own source.
    pubSub: createPubSub(),
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: { forbidUnknownValues: false, validationError: { target: false, value: false } },
  });
  return cached;
}

export function printGatewaySchema(schema: GraphQLSchema): string {
  return (
    '# Emitted from the type-graphql classes by `npm run schema`; do not edit by hand.\n\n' +
    printSchema(lexicographicSortSchema(schema)) +
    '\n'
  );
}
