import { raw, type EntityManager, type QueryBuilder } from '@mikro-orm/postgresql';
import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { BadUserInputError } from '../errors';
import { queryRows } from '../db/query';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/**
 * A list whose count has no maintained total and no selective index counts at most this
 * many items: `totalCount` is exact up to it and `TOTAL_COUNT_CAP + 1` means "more than
 * that" (docs/lists.md). Counting every row of a million-row filter per page would make
 * a page's cost grow with the data; this count stops after the cap's rows.
 */
export const TOTAL_COUNT_CAP = 10_000;

/**
 * The Customers search counts at most this many matches: `totalCount` is exact up to it and
 * `SEARCH_COUNT_CAP + 1` means "more than that" (docs/lists.md). A search is typed to find a
 * customer; its count tells "a few" from "many", and reading 10,001 entries of a common name's
 * range per keystroke would be most of the page's work at a million customers (issue 23).
 */
export const SEARCH_COUNT_CAP = 1_000;

/** How a list counts: every matching row, or up to `TOTAL_COUNT_CAP` (then `TOTAL_COUNT_CAP + 1`). */
export type CountMode = 'exact' | 'bounded';

/** The description of a bounded `totalCount` field. */
export const BOUNDED_TOTAL_COUNT_DESCRIPTION =
  `Number of items matching the filter, over all pages, exact up to ${TOTAL_COUNT_CAP.toLocaleString('en-US')}; ` +
  `${(TOTAL_COUNT_CAP + 1).toLocaleString('en-US')} means more than ${TOTAL_COUNT_CAP.toLocaleString('en-US')}`;

@ObjectType({ description: 'Relay page information' })
export class PageInfo {
  @Field({ description: 'Whether more items follow this page' })
  hasNextPage!: boolean;

  @Field({ description: 'Whether items precede this page' })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Cursor of the first edge' })
  startCursor!: string | null;

  @Field(() => String, { nullable: true, description: 'Cursor of the last edge; pass it as `after` for the next page' })
  endCursor!: string | null;
}

@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: `Page size, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})` })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'Return items after this cursor' })
  after?: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface ConnectionResult<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
  totalCount: number;
}

/**
 * Declares `<Name>Connection` and `<Name>Edge` for a node type; `'bounded'` when the list
 * counts up to `TOTAL_COUNT_CAP` (its `totalCount` description says so), or a description
 * of its own.
 */
export function ConnectionType<T extends object>(name: string, nodeType: ClassType<T>, count: CountMode | { totalCount?: string } = 'exact') {
  const totalCountDescription =
    (typeof count === 'object' ? count.totalCount : count === 'bounded' ? BOUNDED_TOTAL_COUNT_DESCRIPTION : undefined) ??
    'Number of items matching the filter, over all pages';

  @ObjectType(`${name}Edge`, { description: `An edge of a ${name} list` })
  class EdgeType {
    @Field({ description: 'Opaque cursor of this edge' })
    cursor!: string;

    @Field(() => nodeType, { description: 'The item' })
    node!: T;
  }

  @ObjectType(`${name}Connection`, { description: `A page of ${name} items (Relay connection)` })
  class ConnectionClass {
    @Field(() => [EdgeType], { description: 'The items of this page' })
    edges!: EdgeType[];

    @Field(() => PageInfo, { description: 'Where this page stands' })
    pageInfo!: PageInfo;

    @Field(() => Int, { description: totalCountDescription })
    totalCount!: number;
  }
  return ConnectionClass;
}

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`first must be between 1 and ${MAX_PAGE_SIZE}`, 'first');
  }
  return first;
}

export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string, arity: number): unknown[] {
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(values) && values.length === arity && values.every((v) => typeof v === 'string' || typeof v === 'number')) {
      return values;
    }
  } catch {
    // fall through
  }
  throw new BadUserInputError('after is not a cursor from this list', 'after');
}

export interface KeysetColumn<T> {
  /** SQL column, qualified with the query builder's alias, e.g. `c.created_at`. */
  column: string;
  value: (row: T) => string | number;
}

/** The keys of a list in time order: a timestamp column (its value a Date), then a unique id column breaking ties. */
export function timeOrder<T>(timeColumn: string, time: (row: T) => Date, idColumn: string, id: (row: T) => string): KeysetColumn<T>[] {
  return [
    { column: timeColumn, value: (row) => time(row).toISOString() },
    { column: idColumn, value: id },
  ];
}

/**
 * Keyset pagination over a MikroORM query builder whose filters are already set:
 * ascending by `keys` (the last key must be unique), one statement for the page and
 * one for the total count (`bounded`: up to `TOTAL_COUNT_CAP`, see `boundedCount`).
 */
export async function paginate<T extends object>(
  qb: QueryBuilder<T>,
  keys: KeysetColumn<T>[],
  args: { first?: number | null; after?: string | null },
  count: CountMode = 'exact',
): Promise<ConnectionResult<T>> {
  const limit = pageSize(args.first);
  const countQb = qb.clone();
  const pageQb = qb.clone();
  if (args.after) {
    const values = decodeCursor(args.after, keys.length);
    pageQb.andWhere(`(${keys.map((k) => k.column).join(', ')}) > (${keys.map(() => '?').join(', ')})`, values);
  }
  pageQb.orderBy(Object.fromEntries(keys.map((k) => [k.column, 'asc'])) as never).limit(limit + 1);
  const [rows, totalCount] = await Promise.all([pageQb.getResultList(), count === 'bounded' ? boundedCount(countQb) : countQb.getCount()]);
  return connectionOf(rows, totalCount, limit, keys, args);
}

/**
 * The rows a query builder's filters match, counted up to `TOTAL_COUNT_CAP` (one more
 * means more): `count(*)` over the first `TOTAL_COUNT_CAP + 1` matches, which stops
 * there, however many rows match. One statement, like `getCount`.
 */
export async function boundedCount(qb: QueryBuilder<any>): Promise<number> {
  const matches = qb.clone().select(raw('1')).limit(TOTAL_COUNT_CAP + 1).getKnexQuery();
  // A builder on the ORM's knex (its `query` event counted like every statement), reading from the matches.
  const [row] = (await qb.getKnex().count({ n: '*' }).from(matches.as('matches'))) as { n: string | number }[];
  return Number(row?.n ?? 0);
}

/** A SQL condition with `?` placeholders and their values. */
export interface SqlCondition {
  sql: string;
  params: unknown[];
}

/**
 * Keyset pagination for read-only lists of plain rows: the page and its total count
 * (`count: 'bounded'`: up to `TOTAL_COUNT_CAP`) in one prepared statement (the count's single row joined to the page, numbered in key
 * order, so the join cannot reorder it; an empty page leaves one row without `__n`).
 * `table`, `alias` and the conditions' texts must be constants of the code.
 */
export async function paginateRows<T extends object>(
  em: EntityManager,
  list: { table: string; alias: string; where: SqlCondition[]; keys: KeysetColumn<T>[]; row: (row: any) => T; count?: CountMode; countSql?: SqlCondition },
  args: { first?: number | null; after?: string | null },
): Promise<ConnectionResult<T>> {
  return paginateStatement(em, pageStatement(list, args), list, args);
}

/** A page's one statement: rows with the page's columns, `__n` (position, null on the empty page's one row) and `__total`. */
export interface PageStatement extends SqlCondition {
  limit: number;
}

/** paginateRows' statement, for lists that put it beside another (src/customers: a derived table's page or this one). */
export function pageStatement<T extends object>(
  list: {
    table: string;
    alias: string;
    where: SqlCondition[];
    keys: KeysetColumn<T>[];
    count?: CountMode;
    cap?: number;
    select?: string;
    /** One row with the total in `count`, in place of counting the rows (maintained counts; already capped for a bounded list). */
    countSql?: SqlCondition;
  },
  args: { first?: number | null; after?: string | null },
): PageStatement {
  const limit = pageSize(args.first);
  const { table, alias, keys } = list;
  const where = list.where.length ? list.where.map((c) => `(${c.sql})`).join(' and ') : 'true';
  const params = list.where.flatMap((c) => c.params);
  const columns = keys.map((k) => k.column).join(', ');
  const cursor = args.after ? decodeCursor(args.after, keys.length) : null;
  return {
    sql: `select page.*, total.count as "__total"
       from (${list.countSql ? list.countSql.sql : `select count(*) as count from ${list.count === 'bounded' ? `(select 1 from ${table} ${alias} where ${where} limit ${(list.cap ?? TOTAL_COUNT_CAP) + 1}) matches` : `${table} ${alias} where ${where}`}`}) total
       left join lateral (
         select ${alias}.*,${list.select ? ` ${list.select},` : ''} row_number() over (order by ${columns}) as "__n"
           from ${table} ${alias}
          where ${where}${cursor ? ` and (${columns}) > (${keys.map(() => '?').join(', ')})` : ''}
          order by ${columns} limit ?) page on true
      order by page."__n"`,
    params: [...(list.countSql ? list.countSql.params : params), ...params, ...(cursor ?? []), limit + 1],
    limit,
  };
}

/** Runs a PageStatement (one statement) and makes the connection of its rows. */
export async function paginateStatement<T extends object>(
  em: EntityManager,
  statement: PageStatement,
  list: { keys: KeysetColumn<T>[]; row: (row: any) => T },
  args: { after?: string | null },
): Promise<ConnectionResult<T>> {
  return pageConnection(await queryRows<Record<string, unknown>>(em, statement.sql, statement.params), statement.limit, list, args);
}

/** The connection of a PageStatement's rows. */
export function pageConnection<T extends object>(
  rows: Record<string, unknown>[],
  limit: number,
  list: { keys: KeysetColumn<T>[]; row: (row: any) => T },
  args: { after?: string | null },
): ConnectionResult<T> {
  const totalCount = Number(rows[0]?.__total ?? 0);
  return connectionOf(rows.filter((r) => r.__n !== null).map(list.row), totalCount, limit, list.keys, args);
}

function connectionOf<T>(rows: T[], totalCount: number, limit: number, keys: KeysetColumn<T>[], args: { after?: string | null }): ConnectionResult<T> {
  const page = rows.slice(0, limit);
  const edges = page.map((node) => ({ node, cursor: encodeCursor(keys.map((k) => k.value(node))) }));
  return {
    edges,
    totalCount,
    pageInfo: {
      hasNextPage: rows.length > limit,
      hasPreviousPage: Boolean(args.after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
