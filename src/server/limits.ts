import {
  GraphQLError,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
  visit as visitDocument,
  BREAK,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import type { ApolloServerPlugin } from '@apollo/server';
import type { QueryLimits } from '../config';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../common/connection';

export const QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX';

/** A refusal by one of the limits; `limit` names which, so a client can tell them apart. */
export class QueryTooComplexError extends GraphQLError {
  constructor(limit: 'depth' | 'cost' | 'aliases' | 'tokens', maximum: number, actual?: number) {
    super(
      actual === undefined
        ? `The query exceeds the ${limit} limit of ${maximum}`
        : `The query's ${limit} is ${actual}, over the limit of ${maximum}`,
      { extensions: { code: QUERY_TOO_COMPLEX, limit, maximum, ...(actual === undefined ? {} : { actual }), http: { status: 400 } } },
    );
  }
}

/** graphql's parser refuses over-long documents with this message (parse's `maxTokens`). */
export const isTokenLimitError = (message: string) => /Document contains more tha[nt] \d+ tokens/.test(message);

/**
 * A paged list costs `first` (default page size when absent) times its children, so
 * nested connections multiply; every other field costs 1 plus its children.
 */
const pageEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  if (!field.args.some((a) => a.name === 'first')) return undefined;
  const first = typeof args.first === 'number' ? Math.min(Math.max(args.first, 1), MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
  return 1 + first * Math.max(childComplexity, 1);
};

const estimators = [fieldExtensionsEstimator(), pageEstimator, simpleEstimator({ defaultComplexity: 1 })];

type Variables = Record<string, unknown> | null | undefined;

/** Most field selections an operation may expand to, fragments included. */
const MAX_FIELDS = 10_000;

interface Walk {
  fields: number;
  depth: number;
  aliases: number;
  /** The first `first` argument outside 1..MAX_PAGE_SIZE. */
  badFirst?: unknown;
}

function argumentValue(node: ValueNode, variables: Variables, defaults: Map<string, ValueNode | undefined>): unknown {
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind === Kind.FLOAT) return Number(node.value);
  if (node.kind === Kind.VARIABLE) {
    const name = node.name.value;
    if (variables && name in variables) return variables[name];
    const fallback = defaults.get(name);
    return fallback ? argumentValue(fallback, variables, defaults) : undefined;
  }
  return undefined;
}

/**
 * One walk over the operation with fragments expanded: depth (introspection fields
 * excepted, so GraphiQL's schema query passes), aliases, and page sizes. Fragment
 * cycles end the walk along that path (the validation rules report them).
 */
function walk(operation: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>, variables: Variables): Walk {
  const defaults = new Map(operation.variableDefinitions?.map((d) => [d.variable.name.value, d.defaultValue]) ?? []);
  const result: Walk = { fields: 0, depth: 0, aliases: 0 };
  const visit = (set: SelectionSetNode, depth: number, active: Set<string>): void => {
    for (const selection of set.selections) {
      // A bound on the work itself: fragments spread many times expand exponentially.
      if (result.fields > MAX_FIELDS) return;
      if (selection.kind === Kind.FIELD) {
        result.fields++;
        if (selection.name.value.startsWith('__')) continue;
        if (selection.alias) result.aliases++;
        result.depth = Math.max(result.depth, depth + 1);
        for (const arg of selection.arguments ?? []) {
          if (arg.name.value !== 'first' || result.badFirst !== undefined) continue;
          const value = argumentValue(arg.value, variables, defaults);
          if (value !== undefined && value !== null && !(Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_PAGE_SIZE)) {
            result.badFirst = value;
          }
        }
        if (selection.selectionSet) visit(selection.selectionSet, depth + 1, active);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet, depth, active);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || active.has(name)) continue;
        active.add(name);
        visit(fragment.selectionSet, depth, active);
        active.delete(name);
      }
    }
  };
  visit(operation.selectionSet, 0, new Set());
  return result;
}

/**
 * The field of the first string holding a NUL character, in the variables or the
 * document's literals, named as other input errors name theirs: inside an input
 * object without the argument's (or variable's) own name (`name`, `contact.email`). PostgreSQL cannot store NUL in text and its wire protocol
 * refuses a statement carrying one, so no string with it may reach a resolver.
 */
export function nulCharacterAt(document: DocumentNode, variables: Variables): string | undefined {
  const inValue = (value: unknown, path: string): string | undefined => {
    if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = inValue(value[i], `${path}.${i}`);
        if (found) return found;
      }
      return undefined;
    }
    if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        const found = inValue(inner, path ? `${path}.${key}` : key);
        if (found) return found;
      }
    }
    return undefined;
  };
  const inVariables = inValue(variables ?? {}, '');
  if (inVariables) return withoutArgumentName(inVariables);
  let inLiteral: string | undefined;
  visitDocument(document, {
    Argument(node) {
      const found = literalWithNul(node.value);
      if (found !== undefined) {
        inLiteral = found || node.name.value;
        return BREAK;
      }
      return undefined;
    },
  });
  return inLiteral;
}

const withoutArgumentName = (path: string) => (path.includes('.') ? path.slice(path.indexOf('.') + 1) : path);

/** '' when the literal itself holds NUL, the inner path when a nested one does, undefined when none. */
function literalWithNul(node: ValueNode): string | undefined {
  if (node.kind === Kind.STRING) return node.value.includes('\u0000') ? '' : undefined;
  if (node.kind === Kind.LIST) {
    for (let i = 0; i < node.values.length; i++) {
      const found = literalWithNul(node.values[i]);
      if (found !== undefined) return found ? `${i}.${found}` : String(i);
    }
  }
  if (node.kind === Kind.OBJECT) {
    for (const field of node.fields) {
      const found = literalWithNul(field.value);
      if (found !== undefined) return found ? `${field.name.value}.${found}` : field.name.value;
    }
  }
  return undefined;
}

/** Deepest nesting of arrays and objects in one variable's value; real inputs need a handful. */
export const MAX_VARIABLE_DEPTH = 64;

/**
 * The first variable nested deeper than MAX_VARIABLE_DEPTH. Every later step walks
 * variables recursively (JSON.stringify included), and 5,000 levels fit in 10 KB: the
 * walk here stops at the bound instead of overflowing the stack.
 */
export function tooDeepVariable(variables: Variables): string | undefined {
  const deeper = (value: unknown, depth: number): boolean => {
    if (value === null || typeof value !== 'object') return false;
    if (depth >= MAX_VARIABLE_DEPTH) return true;
    for (const inner of Array.isArray(value) ? value : Object.values(value)) if (deeper(inner, depth + 1)) return true;
    return false;
  };
  for (const [name, value] of Object.entries(variables ?? {})) if (deeper(value, 0)) return name;
  return undefined;
}

/**
 * The limits one operation must meet before any resolver runs, on HTTP (through
 * `limitsPlugin`) and on graphql-ws (through its onSubscribe) alike. Call it after
 * validation. Answers the refusals, empty when the operation may run.
 */
export function checkOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Variables,
  operationName: string | null | undefined,
  limits: QueryLimits,
): GraphQLError[] {
  const deep = tooDeepVariable(variables);
  if (deep !== undefined) {
    return [new GraphQLError(`${deep}: nested deeper than ${MAX_VARIABLE_DEPTH} levels`, { extensions: { code: 'BAD_USER_INPUT', field: deep, http: { status: 400 } } })];
  }
  // Clients send the same few documents with the same small variables over and over, and
  // Apollo hands the same parsed document each time: the verdict is remembered per document.
  const key = verdictKey(schema, variables, operationName, limits);
  if (key === undefined) return judgeOperation(schema, document, variables, operationName, limits);
  let verdicts = remembered.get(document);
  if (!verdicts) remembered.set(document, (verdicts = new Map()));
  let verdict = verdicts.get(key);
  if (!verdict) {
    verdict = judgeOperation(schema, document, variables, operationName, limits);
    if (verdicts.size >= MAX_VERDICTS_PER_DOCUMENT) verdicts.clear();
    verdicts.set(key, verdict);
  }
  return verdict;
}

const remembered = new WeakMap<DocumentNode, Map<string, GraphQLError[]>>();
const MAX_VERDICTS_PER_DOCUMENT = 256;
const MAX_KEYED_VARIABLES = 1_024;
const schemaIds = new WeakMap<GraphQLSchema | QueryLimits, number>();
let nextId = 0;
const idOf = (o: GraphQLSchema | QueryLimits) => schemaIds.get(o) ?? (schemaIds.set(o, ++nextId), nextId);

/** What a verdict depends on besides the document; undefined when the variables are too large to key by. */
function verdictKey(schema: GraphQLSchema, variables: Variables, operationName: string | null | undefined, limits: QueryLimits): string | undefined {
  const vars = variables ? JSON.stringify(variables) : '';
  if (vars.length > MAX_KEYED_VARIABLES) return undefined;
  return `${idOf(schema)}|${idOf(limits)}|${operationName ?? ''}|${vars}`;
}

/** A string or a fraction is a wrong type, not a number out of range: say which. */
function badFirstMessage(value: unknown): string {
  if (typeof value === 'number' && Number.isInteger(value)) return `first must be between 1 and ${MAX_PAGE_SIZE}`;
  const kind = typeof value === 'number' ? 'a fraction' : typeof value === 'string' ? 'a string' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
  return `first must be an Int (a whole number from 1 to ${MAX_PAGE_SIZE}), not ${kind}: ${JSON.stringify(value)}`;
}

function judgeOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Variables,
  operationName: string | null | undefined,
  limits: QueryLimits,
): GraphQLError[] {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation) return []; // execution reports the missing or ambiguous operation
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );

  const nul = nulCharacterAt(document, variables);
  if (nul !== undefined) {
    return [new GraphQLError(`${nul}: must not contain the NUL character`, { extensions: { code: 'BAD_USER_INPUT', field: nul, http: { status: 400 } } })];
  }

  const shape = walk(operation, fragments, variables);
  if (shape.fields > MAX_FIELDS) return [new QueryTooComplexError('cost', limits.cost)];
  if (shape.depth > limits.depth) return [new QueryTooComplexError('depth', limits.depth, shape.depth)];
  if (shape.aliases > limits.aliases) return [new QueryTooComplexError('aliases', limits.aliases, shape.aliases)];
  if (shape.badFirst !== undefined) {
    return [new GraphQLError(badFirstMessage(shape.badFirst), { extensions: { code: 'BAD_USER_INPUT', field: 'first', http: { status: 400 } } })];
  }

  let cost: number;
  try {
    cost = getComplexity({ schema, query: document, variables: (variables ?? {}) as Record<string, unknown>, operationName: operation.name?.value, estimators });
  } catch (err) {
    if (/number of nodes/.test((err as Error).message)) return [new QueryTooComplexError('cost', limits.cost)];
    // Variables that do not coerce: execution refuses the operation before any resolver runs.
    return [];
  }
  if (cost > limits.cost) return [new QueryTooComplexError('cost', limits.cost, cost)];
  return [];
}

/** Apollo plugin applying `checkOperation` to every HTTP operation once it is parsed and validated. */
export function limitsPlugin(limits: QueryLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema }) {
          const refused = checkOperation(schema, document, request.variables, request.operationName, limits);
          if (refused.length) throw refused[0];
        },
      };
    },
  };
}
