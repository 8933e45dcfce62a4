import 'reflect-metadata';
import { graphql, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { MaxLength } from 'class-validator';
import { Arg, Authorized, Ctx, Field, FieldResolver, ID, InputType, ObjectType, Query, Resolver, UseMiddleware, buildSchema } from 'type-graphql';
import { Parent } from '../../src/common/parent';
import { leanFieldResolvers, plainPropertyFields } from '../../src/server/lean-resolvers';

/**
 * src/server/lean-resolvers.ts: field resolvers called without type-graphql's per-call
 * handler must answer exactly as through it, and hand to it whatever it checks (input
 * objects under class-validator, roles, middlewares).
 */
@ObjectType()
class Thing {
  @Field(() => ID)
  id!: string;

  @Field({ nullable: true })
  note?: string;

  @Field({ name: 'title', nullable: true })
  heading?: string;

  @Authorized('ADMIN')
  @Field({ nullable: true })
  secret?: string;

  @UseMiddleware(async (_data, next) => `masked ${await next()}`)
  @Field({ nullable: true })
  contact?: string;

  @Field({ nullable: true })
  get shout(): string {
    return `${this.id}!`;
  }
}

@InputType()
class Shape {
  @Field()
  @MaxLength(3)
  name!: string;
}

interface Ctx {
  prefix: string;
  calls: string[];
}

@Resolver(() => Thing)
class ThingResolver {
  @Query(() => [Thing])
  things(): Thing[] {
    return [Object.assign(new Thing(), { id: 'a', note: 'n', heading: 'h', secret: 's', contact: 'c' }), { id: 'b' } as Thing];
  }

  @FieldResolver(() => String)
  label(@Parent() thing: Thing, @Arg('suffix', () => String, { nullable: true }) suffix: string | null, @Ctx() ctx: Ctx): string {
    ctx.calls.push(`label:${thing.id}`);
    return `${ctx.prefix}${thing.id}${suffix ?? ''}`;
  }

  @FieldResolver(() => String)
  async later(@Parent() thing: Thing): Promise<string> {
    return `later ${thing.id}`;
  }

  @FieldResolver(() => String, { nullable: true })
  shaped(@Parent() thing: Thing, @Arg('shape', () => Shape) shape: Shape): string {
    return `${thing.id}:${shape.name}:${shape instanceof Shape}`;
  }

  @Authorized('ADMIN')
  @FieldResolver(() => String)
  guarded(@Parent() thing: Thing): string {
    return `guarded ${thing.id}`;
  }

  @UseMiddleware(async (_data, next) => `wrapped ${await next()}`)
  @FieldResolver(() => String)
  wrapped(@Parent() thing: Thing): string {
    return thing.id;
  }

  @FieldResolver(() => String, { nullable: true })
  failing(@Parent() thing: Thing): string {
    throw new Error(`no ${thing.id}`);
  }
}

let schema: GraphQLSchema;
let made: number;
let plain: number;

beforeAll(async () => {
  schema = await buildSchema({
    resolvers: [ThingResolver],
    authChecker: () => false,
    authMode: 'error',
    validate: { forbidUnknownValues: false, validationError: { target: false, value: false } },
  });
  made = leanFieldResolvers(schema, [ThingResolver]);
  plain = plainPropertyFields(schema);
});

const run = (source: string, ctx: Partial<Ctx> = {}) => graphql({ schema, source, contextValue: { prefix: '#', calls: [], ...ctx } });

it('field resolvers with only the parent, the context and scalar arguments skip the handler; roles and middlewares keep it', () => {
  // label, later, shaped and failing; not guarded (roles) nor wrapped (a middleware).
  expect(made).toBe(4);
});

it('a lean field resolver answers from its parent, its scalar argument and the context', async () => {
  const calls: string[] = [];
  const result = await run('{ things { id label plain: label(suffix: "!") later } }', { calls });
  expect(result).toEqual({
    data: {
      things: [
        { id: 'a', label: '#a', plain: '#a!', later: 'later a' },
        { id: 'b', label: '#b', plain: '#b!', later: 'later b' },
      ],
    },
  });
  expect(calls).toEqual(['label:a', 'label:a', 'label:b', 'label:b']);
});

it('an input object argument still goes through type-graphql: converted to its class and validated', async () => {
  expect(await run('{ things { shaped(shape: { name: "abc" }) } }')).toEqual({ data: { things: [{ shaped: 'a:abc:true' }, { shaped: 'b:abc:true' }] } });
  const refused = await run('{ things { shaped(shape: { name: "too long" }) } }');
  expect(refused.errors?.map((e) => e.message)).toEqual(['Argument Validation Error', 'Argument Validation Error']);
});

it('roles and middlewares of a field resolver still apply', async () => {
  const guarded = await run('{ things { guarded } }');
  expect(guarded.errors?.[0]?.message).toMatch(/Access denied/);
  expect(await run('{ things { wrapped } }')).toEqual({ data: { things: [{ wrapped: 'wrapped a' }, { wrapped: 'wrapped b' }] } });
});

it("a lean field resolver's error is the field's error", async () => {
  const result = await run('{ things { id failing } }');
  expect(result.errors?.map((e) => [e.message, e.path])).toEqual([
    ['no a', ['things', 0, 'failing']],
    ['no b', ['things', 1, 'failing']],
  ]);
});

it('plain property fields lose their resolver; renamed, guarded, wrapped, getter and resolved fields keep theirs', () => {
  const fields = (schema.getType('Thing') as GraphQLObjectType).getFields();
  const withResolver = Object.values(fields).filter((f) => f.resolve).map((f) => f.name).sort();
  expect(withResolver).toEqual(['contact', 'failing', 'guarded', 'label', 'later', 'secret', 'shaped', 'shout', 'title', 'wrapped']);
  // id and note. A getter is an internal field resolver: type-graphql makes a plain parent an instance to read it.
  expect(plain).toBe(2);
});

it('fields without a resolver answer as type-graphql answered them, beside getters and renamed fields', async () => {
  expect(await run('{ things { id note title shout contact } }')).toEqual({
    data: {
      things: [
        { id: 'a', note: 'n', title: 'h', shout: 'a!', contact: 'masked c' },
        { id: 'b', note: null, title: null, shout: 'b!', contact: 'masked undefined' },
      ],
    },
  });
  expect((await run('{ things { secret } }')).errors?.[0]?.message).toMatch(/Access denied/);
});
