/**
 * The production topology, rebuilt from Debian's packages on 127.0.0.1 (`npm run test:topology`):
 * three gateway instances (compiled, `npm run start:prod` as in the image, NODE_ENV=production) behind nginx (HTTP and
 * WebSocket upgrade on one port), PostgreSQL behind PgBouncer in transaction mode
 * (DATABASE_URL) with a direct session beside it (DATABASE_DIRECT_URL). Orders and
 * confirmations from several partners and 200 subscribers through the balancer, while
 * each instance is replaced in turn (SIGTERM, a new one, readiness awaited). Then:
 * every idempotency key answered by one order, every alert received once by each entitled
 * subscriber in order, no request failed except with a retryable answer, and no
 * connection left behind. Without pgbouncer, nginx or a local PostgreSQL it says it is
 * skipped and why, and exits 0.
 */
import 'reflect-metadata';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { initOrm } from '../../src/db/orm';
import { entities } from '../../src/features';
import { mintToken } from '../../src/auth/token';
import { PartnerType, Role } from '../../src/auth/roles';
import { Partner } from '../../src/partners/partner.entity';
import { Customer, CustomerRelationship } from '../../src/customers/customer.entity';
import { CloudInstance } from '../../src/customers/customer.enums';
import { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { AgreementType, GLOBAL } from '../../src/agreements/agreement.enums';
import { freePort } from '../hardening/child-postgres';

const ROOT = join(__dirname, '..', '..');
const ADMIN_URL = process.env.TOPOLOGY_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = randomBytes(32).toString('base64url');
const INSTANCES = 3;
const PARTNERS = 4;
const CUSTOMERS_PER_PARTNER = 6;
const SUBSCRIBERS = 200;
const ORDER_WORKERS = 6;
/** The whole run must end within this (CI's budget); every wait below is bounded by it. */
const DEADLINE = Date.now() + 8 * 60_000;

const say = (message: string) => console.log(`[topology] ${message}`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds; throws `what` when the run's deadline or `limitMs` passes first. */
async function until(what: string, check: () => Promise<boolean> | boolean, limitMs = 60_000): Promise<void> {
  const end = Math.min(DEADLINE, Date.now() + limitMs);
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out: ${what}`);
}

function which(binary: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin']) {
    const path = join(dir, binary);
    if (spawnSync('test', ['-x', path]).status === 0) return path;
  }
  return undefined;
}

/** Why the topology cannot be built on this machine, or undefined. */
async function missing(): Promise<string | undefined> {
  const tools = ['pgbouncer', 'nginx'].filter((b) => !which(b));
  if (tools.length) return `${tools.join(' and ')} not installed (apt-get install ${tools.join(' ')})`;
  const probe = new Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 });
  try {
    await probe.connect();
    await probe.end();
  } catch (err) {
    return `no PostgreSQL at ${ADMIN_URL.replace(/\/\/[^@]*@/, '//')} (${(err as Error).message}); set TOPOLOGY_POSTGRES_URL to a trust-auth superuser URL`;
  }
  return undefined;
}

/** Everything started, stopped in reverse on the way out (also on failure). */
const cleanups: (() => Promise<void> | void)[] = [];

function started(child: ChildProcess, name: string): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const gone = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!gone) {
        say(`${name} did not stop on SIGTERM; killed`);
        child.kill('SIGKILL');
      }
    }
  });
  return exited;
}

// --- PgBouncer and nginx ---

function startPgbouncer(dir: string, port: number, pgPort: number, pgHost: string): ChildProcess {
  writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${pgHost} port=${pgPort}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'admin_users = postgres',
      'pool_mode = transaction',
      'max_client_conn = 1000',
      'default_pool_size = 40',
      // The gateway sends no session start-up parameters behind a transaction pooler (DATABASE_POOLER).
      'ignore_startup_parameters = extra_float_digits',
      'server_reset_query =',
      '',
    ].join('\n'),
  );
  // PgBouncer refuses to run as root; -u switches to an unprivileged user.
  const asRoot = userInfo().uid === 0 ? ['-u', 'nobody'] : [];
  const child = spawn(which('pgbouncer')!, [...asRoot, join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (chunk) => process.env.TOPOLOGY_VERBOSE && process.stderr.write(`[pgbouncer] ${chunk}`));
  return child;
}

function startNginx(dir: string, port: number, upstreams: number[]): ChildProcess {
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 2048; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream gateway {
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join('\n')}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://gateway;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 3600s;
      # A request an instance never answered (closed, refused) goes to the next one; orders
      # are safe to resend because they carry idempotency keys.
      proxy_next_upstream error timeout non_idempotent;
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn(which('nginx')!, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (chunk) => process.env.TOPOLOGY_VERBOSE && process.stderr.write(`[nginx] ${chunk}`));
  return child;
}

// --- Gateway instances ---

interface Instance {
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
}

async function ready(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/readyz`).then(
    async (r) => (await r.text(), r.status === 200),
    () => false,
  );
}

async function startInstance(port: number, env: NodeJS.ProcessEnv): Promise<Instance> {
  // The image's start command (Dockerfile, compose.yaml, deploy/), signals passing through npm as they do there.
  const child = spawn('npm', ['run', '--silent', 'start:prod'], {
    cwd: ROOT,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errors = '';
  child.stderr!.on('data', (chunk) => (errors += String(chunk)));
  const exited = started(child, `gateway :${port}`);
  await until(`gateway on :${port} ready`, async () => {
    if (child.exitCode !== null) throw new Error(`gateway on :${port} exited with ${child.exitCode}: ${errors.trim()}`);
    return ready(port);
  });
  return { port, child, exited };
}

// --- The domain's fixtures, straight through the ORM on the direct URL ---

interface World {
  template: AgreementTemplate;
  partners: { partner: Partner; token: string; customers: Customer[] }[];
}

async function makeWorld(orm: MikroORM): Promise<World> {
  const em = orm.em.fork() as EntityManager;
  const tag = randomBytes(3).toString('hex');
  const template = em.create(AgreementTemplate, {
    templateId: `mca-topology-${tag}`,
    type: AgreementType.MICROSOFT_CLOUD_AGREEMENT,
    version: 'v1',
    versionRank: 1,
    country: GLOBAL,
    language: 'en-US',
    displayUri: 'https://example.com/mca.pdf',
    effectiveFrom: '2019-01-01',
  });
  const partners: World['partners'] = [];
  for (let p = 0; p < PARTNERS; p++) {
    const partner = em.create(Partner, { name: `Topology Partner ${p} ${tag}`, tenantId: `topology-${tag}-${p}`, type: PartnerType.DIRECT_BILL });
    const customers: Customer[] = [];
    for (let c = 0; c < CUSTOMERS_PER_PARTNER; c++) {
      const customer = em.create(Customer, {
        tenantId: `topology-${tag}-${p}-${c}`,
        companyName: `Customer ${p}-${c} ${tag}`,
        domain: `c${p}-${c}-${tag}.example`,
        country: 'US',
        cloud: CloudInstance.PUBLIC,
        primaryContact: { firstName: 'Jane', lastName: 'Doe', email: 'jane.doe@example.com', phoneNumber: '+14255550100' },
      });
      em.create(CustomerRelationship, { customer, partner });
      customers.push(customer);
    }
    partners.push({ partner, token: '', customers });
  }
  await em.flush();
  for (const entry of partners) {
    entry.token = await mintToken(SECRET, { sub: `topology-agent-${entry.partner.id}`, partnerId: entry.partner.id, roles: [Role.AGENT] }, { expiresIn: '1h' });
  }
  return { template, partners };
}

// --- Load through the balancer ---

const ATTEMPT = `mutation ($input: TransactionInput!) { attemptTransaction(input: $input) { order { id outcome } alert { id cursor } } }`;
const CONFIRM = `mutation ($input: ConfirmCustomerAcceptanceInput!) { confirmCustomerAcceptance(input: $input) { acceptance { id } } }`;
const ALERTS = `subscription ($after: String) { blockedOrderAlerts(after: $after) { id cursor } }`;

/** An answer that says "try again" (an instance going away), not "this request is wrong". */
const RETRYABLE_STATUS = new Set([502, 503, 504]);
const RETRYABLE_CODES = new Set(['SERVICE_UNAVAILABLE']);

/** True from an instance's SIGTERM until a little after its replacement is ready: the only time a retryable answer is allowed. */
let draining = false;

interface Tally {
  /** Per idempotency key, every order id the gateway answered with. */
  answers: Map<string, Set<string>>;
  retried: Map<string, number>;
  failures: string[];
}

/** POSTs through the balancer, resending the same request (same idempotency key) on a retryable answer. */
async function post(base: string, tally: Tally, query: string, variables: Record<string, unknown>, token: string): Promise<any> {
  for (let attempt = 1; ; attempt++) {
    let reason: string;
    try {
      const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
      const text = await res.text();
      let body: any;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const code: string | undefined = body?.errors?.[0]?.extensions?.code;
      if (res.status === 200 && !body?.errors) return body.data;
      if (!RETRYABLE_STATUS.has(res.status) && !(code && RETRYABLE_CODES.has(code))) {
        tally.failures.push(`HTTP ${res.status} ${code ?? ''} ${text.slice(0, 200)}`);
        return undefined;
      }
      reason = `HTTP ${res.status}${code ? ` ${code}` : ''}`;
    } catch (err) {
      reason = `network: ${(err as Error).message}`;
    }
    tally.retried.set(reason, (tally.retried.get(reason) ?? 0) + 1);
    if (!draining) tally.failures.push(`${reason} while no instance was draining`);
    if (attempt >= 30 || Date.now() > DEADLINE) {
      tally.failures.push(`gave up after ${attempt} attempts: ${reason}`);
      return undefined;
    }
    await sleep(100 * Math.min(attempt, 10));
  }
}

async function orderLoad(base: string, world: World, tally: Tally, stop: () => boolean): Promise<number> {
  let sent = 0;
  const worker = async (w: number) => {
    for (let i = 0; !stop(); i++) {
      const entry = world.partners[(w + i) % PARTNERS];
      const customer = entry.customers[i % CUSTOMERS_PER_PARTNER];
      // Now and then a confirmation for a customer, so later orders of it complete.
      if (i % 25 === 24) {
        await post(base, tally, CONFIRM, { input: { customerId: customer.id, templateId: world.template.templateId, dateAgreed: '2024-01-15', contact: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phoneNumber: '+14255550100' } } }, entry.token);
        continue;
      }
      const key = randomUUID();
      const input = { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'office-e3', quantity: 1, idempotencyKey: key };
      const data = await post(base, tally, ATTEMPT, { input }, entry.token);
      sent++;
      const answers = tally.answers.get(key) ?? new Set<string>();
      if (data) answers.add(data.attemptTransaction.order.id);
      tally.answers.set(key, answers);
      // The same key again (a client's own retry): it must answer the same order.
      if (i % 10 === 3) {
        const again = await post(base, tally, ATTEMPT, { input }, entry.token);
        if (again) answers.add(again.attemptTransaction.order.id);
      }
    }
  };
  await Promise.all(Array.from({ length: ORDER_WORKERS }, (_, w) => worker(w)));
  return sent;
}

// --- Subscribers through the balancer ---

interface Subscriber {
  partnerId: string;
  received: string[];
  cursors: string[];
  client: WsClient;
  connects: number;
  error?: unknown;
}

function subscribe(wsUrl: string, partnerId: string, token: string, after: string): Subscriber {
  // graphql-ws resends this same payload on every reconnect: advancing `after` as alerts
  // arrive makes the resumed subscription start right after the last one received.
  const variables = { after };
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 1_000,
    shouldRetry: () => true,
    retryWait: async () => sleep(100 + Math.random() * 400),
    connectionParams: { authorization: `Bearer ${token}` },
    on: { connected: () => subscriber.connects++ },
  });
  const subscriber: Subscriber = { partnerId, received: [], cursors: [], client, connects: 0 };
  client.subscribe<{ blockedOrderAlerts: { id: string; cursor: string } }>(
    { query: ALERTS, variables },
    {
      next: (msg) => {
        const alert = msg.data?.blockedOrderAlerts;
        if (!alert) return;
        subscriber.received.push(alert.id);
        subscriber.cursors.push(alert.cursor);
        variables.after = alert.cursor;
      },
      error: (err) => (subscriber.error = err),
      complete: () => undefined,
    },
  );
  return subscriber;
}

// --- The run ---

async function main(): Promise<void> {
  const why = await missing();
  if (why) {
    say(`SKIPPED: ${why}. Nothing was started; the topology was not tested on this machine.`);
    return;
  }
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'cg-topology-'));
  chmodSync(dir, 0o777); // PgBouncer runs as nobody under root
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

  say('building (npm run build), as the image does');
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 5 * 60_000 });
  if (build.status !== 0) throw new Error(`npm run build failed (${build.status ?? build.signal})`);

  const database = `cg_topology_${randomBytes(4).toString('hex')}`;
  const admin = new URL(ADMIN_URL);
  const adminClient = new Client({ connectionString: ADMIN_URL });
  await adminClient.connect();
  await adminClient.query(`create database ${database}`);
  // What docs/deployment.md asks of an operator behind a transaction pooler (here on the database, not a shared role).
  await adminClient.query(`alter database ${database} set statement_timeout = '30s'`);
  await adminClient.query(`alter database ${database} set idle_in_transaction_session_timeout = '15s'`);
  await adminClient.end();
  cleanups.push(async () => {
    const c = new Client({ connectionString: ADMIN_URL });
    await c.connect();
    await c.query(`drop database if exists ${database} with (force)`);
    await c.end();
  });
  const direct = new URL(ADMIN_URL);
  direct.pathname = `/${database}`;

  const [pgbPort, lbPort, ...ports] = await Promise.all([freePort(), freePort(), ...Array.from({ length: INSTANCES }, () => freePort())]);
  const pgbouncer = startPgbouncer(dir, pgbPort, Number(admin.port || 5432), admin.hostname);
  started(pgbouncer, 'pgbouncer');
  const pooled = new URL(direct);
  pooled.port = String(pgbPort);
  await until('pgbouncer accepting', async () => {
    const c = new Client({ connectionString: pooled.toString(), connectionTimeoutMillis: 1_000 });
    return c.connect().then(
      async () => (await c.end(), true),
      () => false,
    );
  });
  const nginx = startNginx(dir, lbPort, ports);
  started(nginx, 'nginx');
  say(`PostgreSQL ${admin.host}, PgBouncer :${pgbPort} (transaction mode), nginx :${lbPort} → gateways :${ports.join(', :')}`);

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    JWT_SECRET: SECRET,
    DATABASE_URL: pooled.toString(),
    DATABASE_DIRECT_URL: direct.toString(),
    DATABASE_POOL_MAX: '10',
    SEED_DEMO: 'false',
    RENEWAL_SCAN_ON_START: 'false',
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '1000000',
    SHUTDOWN_DELAY_MS: '1000',
    LOG_LEVEL: 'warn',
    DATA_DIR: join(dir, 'data'),
  };
  // The first alone (it migrates), the others together (they find nothing to do).
  const instances: Instance[] = [await startInstance(ports[0], env)];
  instances.push(...(await Promise.all(ports.slice(1).map((p) => startInstance(p, env)))));
  say(`${INSTANCES} instances ready after ${Math.round((Date.now() - t0) / 1000)} s`);

  // The world's own connections end once it is made: the check at the end counts the gateway's sessions only
  // (an idle pooled connection is kept 10 minutes, DATABASE_POOL_IDLE_TIMEOUT_MS).
  const orm = await initOrm(direct.toString(), entities);
  const world = await makeWorld(orm).finally(() => orm.close());
  const base = `http://127.0.0.1:${lbPort}`;
  const tally: Tally = { answers: new Map(), retried: new Map(), failures: [] };

  // One alert per partner before anyone subscribes: its cursor is where every subscriber starts.
  const startCursor = new Map<string, string>();
  const startAlert = new Map<string, string>();
  for (const entry of world.partners) {
    const data = await post(base, tally, ATTEMPT, { input: { customerId: entry.customers[0].id, kind: 'NEW_PURCHASE', offerId: 'office-e3', quantity: 1, idempotencyKey: randomUUID() } }, entry.token);
    if (!data?.attemptTransaction.alert) throw new Error(`the first order of a partner was not blocked: ${JSON.stringify(data)}`);
    startCursor.set(entry.partner.id, data.attemptTransaction.alert.cursor);
    startAlert.set(entry.partner.id, data.attemptTransaction.alert.id);
  }
  const wsUrl = `ws://127.0.0.1:${lbPort}/graphql`;
  const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => {
    const entry = world.partners[i % PARTNERS];
    return subscribe(wsUrl, entry.partner.id, entry.token, startCursor.get(entry.partner.id)!);
  });
  cleanups.push(() => Promise.all(subscribers.map((s) => s.client.dispose())).then(() => undefined));
  await until('200 subscribers connected through the balancer', () => subscribers.every((s) => s.connects > 0));
  say(`${SUBSCRIBERS} subscribers connected`);

  let stopLoad = false;
  const load = orderLoad(base, world, tally, () => stopLoad || Date.now() > DEADLINE - 90_000);
  await sleep(2_000);
  for (let i = 0; i < INSTANCES; i++) {
    const old = instances[i];
    draining = true;
    old.child.kill('SIGTERM');
    const code = await Promise.race([old.exited, sleep(60_000).then(() => 'still running')]);
    if (code !== 0) throw new Error(`instance :${old.port} ended with ${code} on SIGTERM`);
    instances[i] = await startInstance(old.port, env);
    say(`instance ${i + 1} of ${INSTANCES} replaced (:${old.port})`);
    // nginx takes a failed server back after fail_timeout (2 s); answers in flight meanwhile still count as the drain's.
    await sleep(2_500);
    draining = false;
    await sleep(1_500);
  }
  stopLoad = true;
  const sent = await load;
  say(`${sent} orders sent; retried answers: ${JSON.stringify(Object.fromEntries(tally.retried))}`);

  // --- The checks ---
  const problems: string[] = [...tally.failures.map((f) => `request failed: ${f}`)];
  const db = new Client({ connectionString: direct.toString() });
  await db.connect();
  const orderRows = await db.query<{ key: string; n: string; ids: string[] }>(
    'select idempotency_key as key, count(*) as n, array_agg(id::text) as ids from orders where idempotency_key = any($1) group by idempotency_key',
    [[...tally.answers.keys()]],
  );
  const stored = new Map(orderRows.rows.map((r) => [r.key, r]));
  for (const [key, answers] of tally.answers) {
    const row = stored.get(key);
    if (!row) problems.push(`order ${key}: no order stored`);
    else if (Number(row.n) !== 1) problems.push(`order ${key}: ${row.n} orders stored`);
    else if (answers.size !== 1 || !answers.has(row.ids[0])) problems.push(`order ${key}: answered ${[...answers].join(', ') || 'never'}, stored ${row.ids[0]}`);
  }

  const expected = new Map<string, string[]>();
  for (const entry of world.partners) {
    const rows = await db.query<{ id: string }>(
      'select a.id::text as id from blocked_order_alerts a where (a.partner_id = $1 or a.reseller_id = $1) and a.id > $2 order by a.id',
      [entry.partner.id, startAlert.get(entry.partner.id)],
    );
    expected.set(entry.partner.id, rows.rows.map((r) => r.id));
  }
  const complete = () => subscribers.every((s) => s.received.length >= expected.get(s.partnerId)!.length);
  await until('every subscriber received every alert', complete, 90_000).catch(() => undefined);
  let totalAlerts = 0;
  for (const s of subscribers) {
    const want = expected.get(s.partnerId)!;
    totalAlerts += s.received.length;
    if (s.error) problems.push(`subscriber of ${s.partnerId}: error ${JSON.stringify(s.error)}`);
    if (JSON.stringify(s.received) !== JSON.stringify(want)) {
      const seen = new Set<string>();
      const doubled = s.received.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
      const lost = want.filter((id) => !seen.has(id));
      const at = s.received.findIndex((id, i) => id !== want[i]);
      problems.push(`subscriber of ${s.partnerId}: received ${s.received.length} of ${want.length}, lost ${lost.length}, doubled ${doubled.length}; first difference at ${at}: got ${s.received.slice(at, at + 3).join(',')}, expected ${want.slice(at, at + 3).join(',')}`);
    }
  }
  const reconnects = subscribers.reduce((n, s) => n + s.connects - 1, 0);
  say(`${[...expected.values()].reduce((n, l) => n + l.length, 0)} alerts raised, ${totalAlerts} deliveries to ${SUBSCRIBERS} subscribers, ${reconnects} reconnects`);

  // Everything of the gateway's ends with it: subscribers, instances, then PgBouncer's own.
  await Promise.all(subscribers.map((s) => s.client.dispose()));
  for (const instance of instances) {
    instance.child.kill('SIGTERM');
    const code = await Promise.race([instance.exited, sleep(60_000).then(() => 'still running')]);
    if (code !== 0) problems.push(`instance :${instance.port} ended with ${code} on SIGTERM at the end`);
  }
  const bouncerAdmin = new Client({ connectionString: `postgres://postgres@127.0.0.1:${pgbPort}/pgbouncer` });
  await bouncerAdmin.connect();
  const clients = await bouncerAdmin.query<{ database: string }>('show clients');
  const clientsLeft = clients.rows.filter((r) => r.database === database);
  if (clientsLeft.length) problems.push(`${clientsLeft.length} client connections left at PgBouncer`);
  await bouncerAdmin.end();
  pgbouncer.kill('SIGINT');
  await until('pgbouncer stopped', () => pgbouncer.exitCode !== null || pgbouncer.signalCode !== null, 20_000);
  // A backend ends a moment after its client's socket closes: wait for that, within a bound.
  const sessionsLeft = async () =>
    (await db.query<{ app: string; state: string }>("select application_name as app, coalesce(state, '') as state from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [database])).rows;
  await until('database sessions ended', async () => (await sessionsLeft()).length === 0, 10_000).catch(() => undefined);
  const left = await sessionsLeft();
  if (left.length) problems.push(`${left.length} database sessions left after every instance and PgBouncer stopped: ${JSON.stringify(left)}`);
  await db.end();

  say(`done in ${Math.round((Date.now() - t0) / 1000)} s`);
  if (problems.length) {
    // Anything else before the (possibly 200) subscribers' lines.
    problems.sort((a, b) => Number(a.startsWith('subscriber')) - Number(b.startsWith('subscriber')));
    for (const p of problems.slice(0, 40)) say(`FAIL ${p}`);
    if (problems.length > 40) say(`... and ${problems.length - 40} more`);
    throw new Error(`${problems.length} problems`);
  }
  say(`PASS: ${tally.answers.size} orders each answered by one order, every alert received once in order by each of ${SUBSCRIBERS} subscribers, nothing left behind`);
}

main()
  .then(
    () => 0,
    (err) => {
      say(`FAILED: ${err instanceof Error ? err.message : err}`);
      return 1;
    },
  )
  .then(async (code) => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch((err) => say(`cleanup: ${(err as Error).message}`));
    process.exit(code);
  });
