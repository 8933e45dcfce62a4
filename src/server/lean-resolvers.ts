import { GraphQLObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { getMetadataStorage } from 'type-graphql';

type Storage = ReturnType<typeof getMetadataStorage>;
type FieldResolverMetadata = Storage['fieldResolvers'][number];
type FieldMetadata = Storage['fields'][number];
type ParamMetadata = NonNullable<FieldResolverMetadata['params']>[number];

/**
 * Field resolvers (`@FieldResolver` methods) called straight from their parameters.
 *
 * type-graphql wraps every resolver method in a handler that, per call, allocates its
 * resolver data, looks the resolver class's instance up in a list, sorts the parameter
 * list, and validates each `@Arg` in an async function joined by `Promise.all`. A page of
 * 50 customers calls about 250 such field resolvers, so a page paid for thousands of
 * promises and the garbage they leave. For a field resolver without middlewares or roles,
 * whose parameters are the parent, the context, the info, a custom parameter decorator
 * (`@Parent`) or a scalar `@Arg`, the handler's work comes down to reading those values:
 * that is what the lean resolver does. Whenever an argument holds an object or a list
 * (something class-validator would check) it hands the call to type-graphql's own handler,
 * and resolvers with middlewares, roles or other parameters keep that handler always.
 *
 * Call it on a schema built by `buildSchema` without global middlewares, a custom container
 * or a validation function (src/server/schema.ts), with the same resolver classes.
 * Answers how many fields it made lean.
 */
export function leanFieldResolvers(schema: GraphQLSchema, resolvers: readonly Function[]): number {
  const storage = getMetadataStorage();
  const byField = new Map<string, { metadata: FieldResolverMetadata[]; type: GraphQLObjectType }>();
  for (const metadata of storage.fieldResolvers) {
    if (metadata.kind !== 'external' || !resolvers.includes(metadata.target)) continue;
    const objectClass = metadata.getObjectType?.();
    const name = storage.objectTypes.find((o) => o.target === objectClass)?.name;
    const type = name ? schema.getType(name) : undefined;
    if (!(type instanceof GraphQLObjectType)) continue;
    const key = `${type.name}.${metadata.schemaName}`;
    const entry = byField.get(key) ?? { metadata: [], type };
    entry.metadata.push(metadata);
    byField.set(key, entry);
  }
  let made = 0;
  for (const { metadata, type } of byField.values()) {
    // Two resolvers of one field: type-graphql picks one, and which is its business.
    if (metadata.length !== 1) continue;
    const field = type.getFields()[metadata[0].schemaName];
    if (!field?.resolve) continue;
    const lean = leanResolver(metadata[0], field.resolve);
    if (lean) {
      field.resolve = lean;
      made++;
    }
  }
  return made;
}

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> => typeof (value as PromiseLike<unknown> | null)?.then === 'function';

/** Parameter kinds read without type-graphql's handler; any other kind keeps the handler. */
function readable(param: ParamMetadata): boolean {
  switch (param.kind) {
    case 'context':
    case 'info':
      return true;
    case 'root':
      // With a declared type, type-graphql converts the parent into an instance of it.
      return !param.getType;
    case 'custom':
      return !param.options.arg;
    case 'arg':
      return !param.validateFn;
    default:
      return false;
  }
}

function leanResolver(metadata: FieldResolverMetadata, original: GraphQLFieldResolver<unknown, unknown>): GraphQLFieldResolver<unknown, unknown> | undefined {
  if (metadata.middlewares?.length || metadata.roles !== undefined || !metadata.params) return undefined;
  const params = [...metadata.params].sort((a, b) => a.index - b.index);
  if (!params.every(readable)) return undefined;
  const Target = metadata.target as new () => Record<string, (...args: unknown[]) => unknown>;
  const method = Target.prototype[metadata.methodName];
  if (typeof method !== 'function') return undefined;
  // type-graphql's default container makes one instance per resolver class; these classes hold no state.
  let instance: Record<string, (...args: unknown[]) => unknown> | undefined;
  return (root, args, context, info) => {
    const values: unknown[] = new Array(params.length);
    let pending = false;
    for (let i = 0; i < params.length; i++) {
      const param = params[i];
      switch (param.kind) {
        case 'arg': {
          const value = (args as Record<string, unknown>)[param.name];
          // An input object or a list: validated by class-validator in type-graphql's handler.
          if (value !== null && typeof value === 'object') return original(root, args, context, info);
          values[i] = value;
          break;
        }
        case 'context':
          values[i] = param.propertyName ? (context as Record<string, unknown>)[param.propertyName] : context;
          break;
        case 'root':
          values[i] = param.propertyName ? (root as Record<string, unknown>)[param.propertyName] : root;
          break;
        case 'info':
          values[i] = info;
          break;
        case 'custom': {
          const value = param.resolver({ root, args: args as Record<string, unknown>, context, info });
          pending ||= isPromiseLike(value);
          values[i] = value;
          break;
        }
      }
    }
    instance ??= new Target();
    const target = instance;
    return pending ? Promise.all(values).then((resolved) => method.apply(target, resolved)) : method.apply(target, values);
  };
}

/**
 * Plain property fields (`@Field` on a property, without roles, middlewares or a field
 * resolver) lose type-graphql's resolver, which read `parent[name]` through an empty
 * middleware chain: without a resolver graphql-jit reads the property inline in its
 * compiled code, where a resolver costs a call through its deferred-resolver machinery
 * (resolve info, error handling, result handling) per field and row, about 500 per page of
 * 50 customers. graphql-js reads it as its default resolver. A field is left alone when
 * its schema name differs from the property's, when the class has a method of that name,
 * or when more than one declaration could be the field's. Answers how many fields it changed.
 */
export function plainPropertyFields(schema: GraphQLSchema): number {
  const storage = getMetadataStorage();
  let made = 0;
  for (const objectType of storage.objectTypes) {
    const type = schema.getType(objectType.name);
    if (!(type instanceof GraphQLObjectType)) continue;
    const related = relatedClasses(storage, objectType.target);
    for (const field of Object.values(type.getFields())) {
      if (!field.resolve || field.args.length) continue;
      const declared = storage.fields.filter((f) => f.schemaName === field.name && related.has(f.target));
      if (declared.length !== 1 || !plain(declared[0])) continue;
      const name = declared[0].name;
      if (storage.fieldResolvers.some((r) => (r.methodName === name || r.schemaName === name) && related.has(r.getObjectType?.() as Function))) continue;
      if (typeof methodOf(objectType.target, field.name) === 'function') continue;
      field.resolve = undefined;
      made++;
    }
  }
  return made;
}

/** A property field without roles, middlewares or arguments, named as its property. */
const plain = (field: FieldMetadata) => field.name === field.schemaName && field.roles === undefined && !field.middlewares?.length && !field.params?.length;

/** The class, its superclasses and every interface they implement: where its fields may be declared. */
function relatedClasses(storage: Storage, target: Function): Set<Function> {
  const related = new Set<Function>();
  for (let c: Function | null = target; c && c.prototype !== undefined; c = Object.getPrototypeOf(c)) {
    related.add(c);
    const meta = storage.objectTypes.find((o) => o.target === c) ?? storage.interfaceTypes.find((i) => i.target === c);
    for (const i of (meta as { interfaceClasses?: Function[] } | undefined)?.interfaceClasses ?? []) related.add(i);
  }
  return related;
}

/** A method (or other value) on the class's prototype chain under `name`; getters are not read. */
function methodOf(target: Function, name: string): unknown {
  for (let proto = target.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (descriptor) return descriptor.value;
  }
  return undefined;
}
