import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, Kind, parse, validate } from 'graphql';

const root = join(__dirname, '..', '..');

describe('typed client documents', () => {
  it('client/generated is what codegen makes of schema.graphql and the contract operations (run `npm run codegen` when this fails)', () => {
    // --check exits non-zero when the output would change.
    const run = () =>
      execFileSync(process.execPath, [join(root, 'node_modules', '@graphql-codegen', 'cli', 'cjs', 'bin.js'), '--config', 'codegen.yml', '--check'], {
        cwd: root,
        stdio: 'pipe',
        timeout: 60_000,
      });
    expect(run).not.toThrow();
  });

  it('codegen.yml lists exactly the operation files whose operations all validate (a file joins when its issue lands)', () => {
    const schema = buildSchema(readFileSync(join(root, 'schema.graphql'), 'utf8'));
    const valid = readdirSync(join(root, 'operations'))
      .filter((file) => file.endsWith('.graphql'))
      .filter((file) => {
        const document = parse(readFileSync(join(root, 'operations', file), 'utf8'));
        return document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION) && validate(schema, document).length === 0;
      })
      .map((file) => `operations/${file}`)
      .sort();
    const listed = [...readFileSync(join(root, 'codegen.yml'), 'utf8').matchAll(/^ {2}- (operations\/\S+\.graphql)$/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(valid);
  });
});
