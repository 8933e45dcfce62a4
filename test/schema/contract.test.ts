import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildSchema,
  Kind,
  parse,
  validate,
  visit,
  type DefinitionNode,
  type FragmentDefinitionNode,
  GraphQLEnumType,
  GraphQLInputObjectType,
  type OperationDefinitionNode,
} from 'graphql';

/**
 * The client contract (DESIGN.md; ../shared/contract): the project keeps a copy of
 * its operations in operations/, and every one must validate against the emitted
 * schema.graphql, except those whose feature has not landed yet. Those are listed
 * here by name and the list only shrinks: an entry that starts validating fails
 * the test until it is removed.
 */
const KNOWN_MISSING: Record<string, string> = {
};

/**
 * Vocabulary not in the schema yet, for the same reason: a whole type by its name, or
 * one enum value or input field as `Type.member`.
 */
const KNOWN_MISSING_VOCABULARY: Record<string, string> = {
};

const ROOT = join(__dirname, '../..');
const OPERATIONS = join(ROOT, 'operations');
const CONTRACT = join(ROOT, '../shared/contract');
const VOCABULARY = 'vocabulary.graphql';

const schema = buildSchema(readFileSync(join(ROOT, 'schema.graphql'), 'utf8'));
const graphqlFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.graphql')).sort();
const documents = graphqlFiles(OPERATIONS)
  .filter((f) => f !== VOCABULARY)
  .map((file) => ({ file, doc: parse(readFileSync(join(OPERATIONS, file), 'utf8')) }));
const fragments = new Map<string, FragmentDefinitionNode>(
  documents.flatMap(({ doc }) => doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d])),
);
const operations = documents.flatMap(({ file, doc }) =>
  doc.definitions
    .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
    .map((op) => ({ file, name: op.name?.value ?? '(anonymous)', op })),
);

/** The fragments an operation spreads, transitively (other files' fragments are not its concern). */
function fragmentsOf(node: DefinitionNode, seen = new Set<string>()): FragmentDefinitionNode[] {
  visit(node, {
    FragmentSpread(spread) {
      const name = spread.name.value;
      if (seen.has(name)) return;
      seen.add(name);
      const fragment = fragments.get(name);
      if (fragment) fragmentsOf(fragment, seen);
    },
  });
  return [...seen].map((name) => fragments.get(name)).filter((f): f is FragmentDefinitionNode => Boolean(f));
}

const problemsOf = (op: OperationDefinitionNode): string[] =>
  validate(schema, { kind: Kind.DOCUMENT, definitions: [op, ...fragmentsOf(op)] }).map((e) => e.message);

describe('the contract', () => {
  it('operations/ is a copy of ../shared/contract/ (when that folder exists)', () => {
    if (!existsSync(CONTRACT)) return;
    expect(graphqlFiles(OPERATIONS)).toEqual(graphqlFiles(CONTRACT));
    for (const file of graphqlFiles(CONTRACT)) {
      expect({ file, text: readFileSync(join(OPERATIONS, file), 'utf8') }).toEqual({ file, text: readFileSync(join(CONTRACT, file), 'utf8') });
    }
  });

  it('has uniquely named operations', () => {
    const names = operations.map((o) => o.name);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(operations.filter((o) => !(o.name in KNOWN_MISSING)).map((o) => [o.name, o.file, o.op] as const))(
    '%s (%s) validates against schema.graphql',
    (_name, _file, op) => {
      expect(problemsOf(op)).toEqual([]);
    },
  );

  it('lists as known-missing only operations that exist and still fail (remove an entry when its feature lands)', () => {
    for (const name of Object.keys(KNOWN_MISSING)) {
      const found = operations.find((o) => o.name === name);
      expect({ name, exists: Boolean(found) }).toEqual({ name, exists: true });
      expect({ name, stillFails: problemsOf(found!.op).length > 0 }).toEqual({ name, stillFails: true });
    }
  });

  it('issue 2 operations are never known-missing', () => {
    const issue2 = ['Viewer', 'Partners', 'Partner', 'RegisterPartner', 'LinkResellerToProvider', 'CreateCustomer', 'AddCustomerRelationship', 'Agreements', 'CurrentAgreement', 'PublishAgreement'];
    expect(issue2.filter((name) => name in KNOWN_MISSING)).toEqual([]);
  });

  describe('vocabulary', () => {
    const vocabulary = parse(readFileSync(join(OPERATIONS, VOCABULARY), 'utf8')).definitions.filter(
      (d) => 'name' in d && d.name !== undefined,
    ) as (DefinitionNode & { name: { value: string } })[];

    /** The members a vocabulary type lists (enum values or input fields), less the known-missing ones. */
    const membersOf = (def: DefinitionNode & { name: { value: string } }): string[] => {
      const members =
        def.kind === Kind.ENUM_TYPE_DEFINITION ? def.values!.map((v) => v.name.value)
        : def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION ? def.fields!.map((f) => f.name.value)
        : [];
      return members.filter((m) => !(`${def.name.value}.${m}` in KNOWN_MISSING_VOCABULARY));
    };

    it.each(vocabulary.filter((d) => !(d.name.value in KNOWN_MISSING_VOCABULARY)).map((d) => [d.name.value, d] as const))(
      '%s exists with its values and fields',
      (name, def) => {
        const type = schema.getType(name);
        expect({ name, exists: Boolean(type) }).toEqual({ name, exists: true });
        if (def.kind === Kind.ENUM_TYPE_DEFINITION) {
          const have = (type as GraphQLEnumType).getValues().map((v) => v.name);
          expect(have).toEqual(expect.arrayContaining(membersOf(def)));
        }
        if (def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION) {
          const have = Object.keys((type as GraphQLInputObjectType).getFields());
          expect(have).toEqual(expect.arrayContaining(membersOf(def)));
        }
      },
    );

    it('lists as known-missing only vocabulary still missing', () => {
      for (const entry of Object.keys(KNOWN_MISSING_VOCABULARY)) {
        const [name, member] = entry.split('.');
        const type = schema.getType(name);
        const present =
          member === undefined ? Boolean(type)
          : type instanceof GraphQLEnumType ? type.getValues().some((v) => v.name === member)
          : type instanceof GraphQLInputObjectType ? member in type.getFields()
          : false;
        const def = vocabulary.find((d) => d.name.value === name);
        const inVocabulary =
          def !== undefined &&
          (member === undefined ||
            (def.kind === Kind.ENUM_TYPE_DEFINITION && def.values!.some((v) => v.name.value === member)) ||
            (def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION && def.fields!.some((f) => f.name.value === member)));
        expect({ entry, inVocabulary, missing: !present }).toEqual({ entry, inVocabulary: true, missing: true });
      }
    });
  });
});
