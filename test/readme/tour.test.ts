import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startGateway, type TestGateway } from '../support/gateway';

const ROOT = join(__dirname, '..', '..');
jest.setTimeout(120_000);

interface Step {
  commands: string;
  /** One JSON value per line, as the README shows the answers. */
  expected: unknown[];
}

/** The README's API tour: each ```sh block and the ```json block after it (if any). */
function tourSteps(readme: string): Step[] {
  const start = readme.indexOf('## API tour');
  // Up to the next heading of any level (the subsections after the tour hold other examples).
  const next = /\n#{2,3} /g;
  next.lastIndex = start + 1;
  const section = readme.slice(start, next.exec(readme)?.index);
  const steps: Step[] = [];
  for (const [, lang, body] of section.matchAll(/^```(sh|json)\n([\s\S]*?)^```$/gm)) {
    if (lang === 'sh') steps.push({ commands: body, expected: [] });
    else steps.at(-1)!.expected.push(...body.trim().split('\n').map((line) => JSON.parse(line)));
  }
  return steps;
}

/**
 * The tour's commands, pasted as they are into one bash session against a gateway with the
 * demo data, answer exactly what the README shows: they cannot drift from the API or the demo.
 */
describe('README: API tour', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // The demo as `npm start` serves it: today's default requirement policy, no test rules.
    gw = await startGateway({ seedDemo: true, production: false }, undefined, { foundingRules: false });
  });
  afterAll(() => gw?.stop());

  it('every command runs as shown and answers what the README says', async () => {
    const steps = tourSteps(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(steps.length).toBeGreaterThanOrEqual(10);
    const script = steps.map((step, i) => `echo "@@step ${i}"\n${step.commands}`).join('\n');
    // Asynchronous: the gateway answering the commands runs in this process.
    const { stdout, stderr } = await promisify(execFile)('bash', ['-c', `set -e\n${script}`], {
      cwd: ROOT,
      env: { ...process.env, GATEWAY_URL: `http://127.0.0.1:${gw.port}` },
    });
    expect(stderr).toBe('');
    const outputs = stdout.split(/^@@step \d+\n/m).slice(1);
    expect(outputs).toHaveLength(steps.length);
    steps.forEach((step, i) => {
      const got = outputs[i].trim() ? outputs[i].trim().split('\n').map((line) => JSON.parse(line)) : [];
      expect({ step: step.commands, answers: got }).toEqual({ step: step.commands, answers: step.expected });
    });
  });
});
