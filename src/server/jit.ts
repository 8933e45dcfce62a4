import type { GatewayInterface } from '@apollo/server-gateway-interface';
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { getVariableValues } from 'graphql/execution/values';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/**
 * graphql-js's own coercion of the variables, for its errors only: Apollo recognises its
 * messages as BAD_USER_INPUT and formatError names the field from them, and graphql-jit
 * words them differently. The values passed on are the raw ones, coerced by the compiled query.
 */
function variableErrors(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined, variables: Record<string, unknown>) {
  const operation = getOperationAST(document, operationName);
  if (!operation?.variableDefinitions?.length) return undefined;
  const coerced = getVariableValues(schema, operation.variableDefinitions, variables, { maxErrors: 50 });
  return coerced.errors;
}

/**
 * graphql-jit's errors are plain objects shaped like GraphQLError, without `extensions`
 * unless the cause had some; Apollo and formatError expect graphql-js's class.
 */
function asGraphQLError(error: GraphQLError): GraphQLError {
  // graphql-jit's errors inherit GraphQLError's prototype, but not its constructor's fields.
  if (error.constructor === GraphQLError && error.extensions) return error;
  const converted = new GraphQLError(error.message, { path: error.path, originalError: error.originalError ?? undefined });
  (converted as { locations?: GraphQLError['locations'] }).locations = error.locations;
  return converted;
}

/**
 * Executes HTTP operations with graphql-jit: each parsed document is compiled once into a
 * function of (root, context, variables), so graphql-js's per-request walk of the document
 * (field collection, argument coercion, type checks per value) is not repeated on every
 * request. Apollo keeps its whole pipeline (parsing, validation, plugins, errors): only the
 * execution step is swapped, through Apollo's gateway interface, which exists for that.
 *
 * Apollo caches parsed documents, so the same DocumentNode comes back for the same query
 * text and the WeakMap keeps one compilation per document and operation name.
 */
export function jitExecutor(schema: GraphQLSchema): GatewayInterface {
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | ExecutionResult>>();
  const compile = (document: DocumentNode, operationName: string | undefined): CompiledQuery | ExecutionResult => {
    let byName = compiled.get(document);
    if (!byName) compiled.set(document, (byName = new Map()));
    const key = operationName ?? '';
    let entry = byName.get(key);
    if (!entry) {
      // disablingCapturingStackErrors: resolver errors are formatted by formatError, never shown with stacks.
      entry = compileQuery(schema, document, operationName, { disablingCapturingStackErrors: true }) as CompiledQuery | ExecutionResult;
      byName.set(key, entry);
    }
    return entry;
  };
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => undefined;
    },
    async load() {
      return {
        executor: async (requestContext) => {
          const query = compile(requestContext.document, requestContext.operationName ?? undefined);
          if (!isCompiledQuery(query)) return query as ExecutionResult<Record<string, unknown>>;
          const variables = requestContext.request.variables ?? {};
          const result = await (query as CompiledQuery<Record<string, unknown>>).query(undefined, requestContext.context, variables);
          if (!result.errors) return result;
          // Variables the compiled query refused (it answers errors without `data`, before any
          // resolver runs): reworded by graphql-js, which is asked only then, not on every request.
          if (!('data' in result)) {
            const refused = variableErrors(schema, requestContext.document, requestContext.operationName ?? undefined, variables);
            if (refused) return { errors: refused };
          }
          return { ...result, errors: result.errors.map(asGraphQLError) };
        },
      };
    },
    async stop() {},
  };
}
