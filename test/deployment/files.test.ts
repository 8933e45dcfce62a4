import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { nodeFlagsOf, START_NODE_FLAGS } from '../../bench/node-flags';

/**
 * The deployment files, read as an operator reads them, kept in step with the gateway and
 * with the topology test (test/topology/run.ts), which is what proves their behaviour: no
 * Docker engine runs here.
 */

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

const dockerfile = read('Dockerfile');
const compose = parse(read('compose.yaml'));
const kubernetes = parseAllDocuments(read('deploy/kubernetes.yaml')).map((d) => d.toJS());
const docs = read('docs/deployment.md');
const topology = read('test/topology/run.ts');
const pkg = JSON.parse(read('package.json'));

/** What an instance of this topology cannot run without (a JWT setting besides: JWT_JWKS_URL or JWT_SECRET). */
const REQUIRED = ['NODE_ENV', 'DATABASE_URL', 'DATABASE_DIRECT_URL', 'REDIS_URL', 'CREDENTIALS_KEY'];
const START = ['npm', 'run', 'start:prod'];

/** Every variable the gateway reads from its environment (src/config/index.ts). */
function configVariables(): string[] {
  const source = read('src/config/index.ts');
  const names = new Set<string>();
  for (const m of source.matchAll(/(?:intVar|boolVar|cronVar|urlVar|postgresUrl)\(env, '([A-Z_]+)'/g)) names.add(m[1]);
  for (const m of source.matchAll(/env\.([A-Z][A-Z_]+)/g)) names.add(m[1]);
  return [...names].sort();
}

const deployment = kubernetes.find((d) => d.kind === 'Deployment');
const container = deployment.spec.template.spec.containers[0];
const k8sEnv: string[] = container.env.map((e: { name: string }) => e.name);
const gateways = Object.entries(compose.services as Record<string, any>).filter(([, s]) => s.image?.startsWith('consent-gateway'));

describe('Dockerfile', () => {
  it('builds in stages and runs the compiled gateway from production dependencies, as a non-root user', () => {
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(dockerfile).toMatch(/^USER (?!root|0\b)\S+/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist dist$/m);
  });

  it('checks /readyz and starts with npm run start:prod', () => {
    expect(dockerfile).toMatch(/^HEALTHCHECK [\s\S]*\/readyz/m);
    expect(dockerfile).toContain(`CMD ${JSON.stringify(START).replace(/,/g, ', ')}`);
  });

  it('start:prod runs the compiled entry point the build produces, and the build copies what it reads beside its JavaScript', () => {
    expect(pkg.scripts['start:prod']).toMatch(/^exec node .*dist\/src\/main\.js$/);
    expect(pkg.scripts.build).toContain('scripts/copy-runtime-files.js');
    const copied = read('scripts/copy-runtime-files.js');
    expect(copied).toContain("'src/graphiql/assets'");
    expect(copied).toContain("'operations'");
    // Browser bundles GraphiQL serves at run time come from these packages.
    for (const name of ['graphiql', 'react', 'react-dom']) expect(pkg.dependencies[name]).toBeDefined();
  });
});

describe('the start commands', () => {
  it('npm start and npm run start:prod run node with the same V8 flags: no allocation-site pretenuring and a heap that doubles before a full collection', () => {
    const start = nodeFlagsOf(pkg.scripts.start);
    expect(start).toEqual(nodeFlagsOf(pkg.scripts['start:prod']));
    // A request's objects die young: pretenured, they waited in the old generation for a full
    // collection, one every ~13 s at 100 pages/s (docs/operations.md, "Memory and collections").
    expect(start).toEqual(expect.arrayContaining(['--max-semi-space-size=16', '--no-allocation-site-pretenuring', '--heap-growing-percent=100']));
    // The benchmarks' gateways run with them (bench/lib.ts reads them from package.json).
    expect(START_NODE_FLAGS).toEqual(start);
  });

  it('this Node accepts every flag of the start commands (node refuses an unknown V8 flag and would not start)', () => {
    const run = spawnSync(process.execPath, [...nodeFlagsOf(pkg.scripts['start:prod']), '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('ok');
    expect(spawnSync(process.execPath, ['--no-such-v8-flag', '-e', '0']).status).not.toBe(0);
  });
});

describe('compose.yaml', () => {
  it('runs two gateways, PostgreSQL, PgBouncer in transaction mode, Redis and a load balancer', () => {
    expect(gateways).toHaveLength(2);
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgres', 'pgbouncer', 'redis', 'lb']));
    expect(compose.services.pgbouncer.environment.POOL_MODE).toBe('transaction');
  });

  it('gives each gateway every required variable and the same start command', () => {
    for (const [, service] of gateways) {
      expect(Object.keys(service.environment)).toEqual(expect.arrayContaining(REQUIRED));
      expect(Object.keys(service.environment).some((v) => v === 'JWT_SECRET' || v === 'JWT_JWKS_URL')).toBe(true);
      expect(service.environment.DATABASE_URL).toContain('@pgbouncer:');
      expect(service.environment.DATABASE_DIRECT_URL).toContain('@postgres:');
      expect(service.command).toEqual(START);
    }
  });

  it('upgrades WebSockets on the balancer and retries unanswered requests on the next instance', () => {
    const nginx: string = compose.configs.nginx.content;
    expect(nginx).toMatch(/proxy_set_header Upgrade \$\$http_upgrade/);
    expect(nginx).toMatch(/proxy_next_upstream error timeout non_idempotent/);
  });
});

describe('deploy/kubernetes.yaml', () => {
  it('is a Deployment with readiness and liveness probes and a preStop drain, a Service and a PodDisruptionBudget', () => {
    expect(kubernetes.map((d) => d.kind).sort()).toEqual(['Deployment', 'PodDisruptionBudget', 'Service']);
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.lifecycle.preStop.exec.command[0]).toBe('sleep');
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it('gives the gateway every required variable and the same start command', () => {
    expect(k8sEnv).toEqual(expect.arrayContaining(REQUIRED));
    expect(k8sEnv.some((v) => v === 'JWT_SECRET' || v === 'JWT_JWKS_URL')).toBe(true);
    expect(container.command).toEqual(START);
  });
});

describe('the topology test and docs/deployment.md', () => {
  it('the topology test starts its instances with the same command and the same database variables', () => {
    expect(topology).toContain("spawn('npm', ['run', '--silent', 'start:prod']");
    for (const name of ['NODE_ENV', 'DATABASE_URL', 'DATABASE_DIRECT_URL', 'SHUTDOWN_DELAY_MS']) expect(topology).toContain(`${name}:`);
  });

  it('docs/deployment.md explains every variable the gateway reads', () => {
    const variables = configVariables();
    // A sanity check of the extraction itself.
    expect(variables).toEqual(expect.arrayContaining(['DATABASE_URL', 'DATABASE_DIRECT_URL', 'DATABASE_POOLER', 'SHUTDOWN_DELAY_MS', 'PORT']));
    const missing = variables.filter((v) => !docs.includes(`\`${v}\``));
    expect(missing).toEqual([]);
  });
});
