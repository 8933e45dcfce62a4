import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/** The import rules of docs/architecture.md, as dependency-cruiser reads them from .dependency-cruiser.cjs. */
const ROOT = join(__dirname, '..', '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
  cycle?: { name: string }[];
}

/** Cruises `src` and `simulator` under `cwd` and answers each broken rule as `rule: from -> to` (a cycle: its modules in order). */
async function violations(cwd: string): Promise<string[]> {
  // dependency-cruiser is ESM only, which jest's module loader cannot require: it runs as its own process.
  const { stdout } = await promisify(execFile)(process.execPath, [DEPCRUISE, 'src', 'simulator', '--config', CONFIG, '--output-type', 'json'], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const report = JSON.parse(stdout) as { summary: { violations: Violation[] } };
  return report.summary.violations
    .map((v) => `${v.rule.name}: ${v.cycle ? [v.from, ...v.cycle.map((c) => c.name)].join(' -> ') : `${v.from} -> ${v.to}`}`)
    .sort();
}

describe('the import graph of src/ and simulator/', () => {
  it('breaks no rule: no cycle, no feature or auth module reaching src/server, each layer below the ones above it, the simulator importing nothing of src/', async () => {
    expect(await violations(ROOT)).toEqual([]);
  });

  it('each rule catches what it forbids (a tree that breaks every rule once)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-imports-'));
    const files: Record<string, string> = {
      'tsconfig.json': '{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext", "strict": true } }',
      'src/server/http.ts': 'export const http = 1;',
      'src/kernel/context.ts': "import { a } from '../customers/a';\nexport const context = a;",
      'src/customers/a.ts': "import { http } from '../server/http';\nexport const a = http;",
      'src/auth/roles.ts': "import { http } from '../server/http';\nimport { context } from '../kernel/context';\nexport const roles = http + context;",
      'src/config/index.ts': "import { context } from '../kernel/context';\nexport const config = context;",
      'src/db/one.ts': "import { two } from './two';\nexport const one = () => two();",
      'src/db/two.ts': "import { one } from './one';\nexport const two = () => one();",
      'simulator/index.ts': "import { one } from '../src/db/one';\nexport const sim = one;",
    };
    try {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      expect(await violations(dir)).toEqual([
        'auth-below-kernel: src/auth/roles.ts -> src/kernel/context.ts',
        'auth-not-to-server: src/auth/roles.ts -> src/server/http.ts',
        'features-not-to-server: src/customers/a.ts -> src/server/http.ts',
        'foundations-below-all: src/config/index.ts -> src/kernel/context.ts',
        'kernel-below-features: src/kernel/context.ts -> src/customers/a.ts',
        'no-circular: src/db/one.ts -> src/db/two.ts -> src/db/one.ts',
        'simulator-not-to-src: simulator/index.ts -> src/db/one.ts',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
