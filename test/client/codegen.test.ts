import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

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
});
