import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { PartnerCenterSimulator } from '../../simulator';
import { initOrm } from '../../src/db/orm';
import { entities } from '../../src/features';
import type { Gateway } from '../../src/gateway';
import { queryRows } from '../../src/db/query';
import { freshDatabase } from '../support/database';
import { gql, type TestGateway } from '../support/gateway';
import { anAttestWorld, eventually, ONE, REQUEST, signatory } from './support';
import { connectOnSim, MCA_TEMPLATE_ID, simConfig, startSim, startSimGateway } from './sim-support';

/**
 * Crash safety (DESIGN.md section 11): a gateway killed between "the customer accepted"
 * and "the agreement is created" — here with the agreement call on the wire, which the
 * simulator goes on to apply after the gateway is dead — is followed up after a restart
 * with the SAME MS-RequestId, stored on the row before the call: the simulator replays its
 * first answer, nothing is created twice upstream, and the confirmation is recorded once.
 */

let sim: PartnerCenterSimulator;
let db: Awaited<ReturnType<typeof freshDatabase>>;
let child: ChildProcess | undefined;
let survivor: TestGateway | undefined;
let orm: MikroORM | undefined;

beforeAll(async () => {
  sim = await startSim();
  db = await freshDatabase();
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await survivor?.stop();
  await orm?.close();
  await sim?.close();
  await db?.drop();
});

test('a gateway killed between customer accepted and agreement created records exactly once after restart, replaying the stored MS-RequestId', async () => {
  child = spawn(process.execPath, ['-r', 'reflect-metadata', '-r', '@swc-node/register', join(__dirname, '../partner-center/gateway-child.ts')], {
    cwd: join(__dirname, '../..'),
    env: { ...process.env, CHILD_CONFIG: JSON.stringify(simConfig(sim, db.url)) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child!.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}/graphql`;
  // Fixtures through an ORM of our own: no gateway (and no follower) in this process yet.
  orm = await initOrm(db.url, entities);
  const target = { orm } as unknown as Gateway;
  const w = await anAttestWorld(target, { templateId: MCA_TEMPLATE_ID, connect: false });
  await connectOnSim({ gql: (q, v, t) => gql(url, q, v, t) }, sim, w.partner);
  const em = () => orm!.em.fork() as EntityManager;

  const res = await gql(url, REQUEST, { input: { customerId: w.customer.id, signatory, language: 'en-US' } }, w.admin);
  expect(res.errors).toBeUndefined();
  const id = res.data.requestAttestation.attestation.id;
  const issued = await eventually(
    async () => (await gql(url, ONE, { id }, w.admin)).data.attestation,
    (a) => a.status === 'LINK_ISSUED',
  );

  // Slow upstream: the agreement call is on the wire when the gateway dies, and applied after.
  sim.misbehave({ latencyMs: 3_000 });
  sim.acceptAttestation(issued.upstreamId);
  const agreementPath = `/v1/customers/${w.customer.tenantId}/agreements`;
  const posts = () => sim.requests.filter((r) => r.method === 'POST' && r.path === agreementPath);
  await eventually(async () => posts().length, (n) => n >= 1, 30_000);
  const exited = new Promise((resolve) => child!.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  child = undefined;

  const [row] = await queryRows<{ status: string; agreement_request_id: string }>(em(), 'select status, agreement_request_id from attestations where id = ?', [id]);
  expect(row.status).toBe('CUSTOMER_ACCEPTED');
  expect(posts()[0].headers['ms-requestid']).toBe(row.agreement_request_id);
  // Upstream applied it after all: the agreement exists there, the gateway never heard.
  await eventually(async () => sim.agreementsOf(w.customer.tenantId).length, (n) => n === 1, 10_000);
  sim.misbehave({ latencyMs: 0 });

  survivor = await startSimGateway(sim, db.url);
  const recorded = await eventually(
    async () => (await survivor!.gql(ONE, { id }, w.admin)).data.attestation,
    (a) => a.status === 'RECORDED',
    30_000,
  );
  expect(recorded.status).toBe('RECORDED');
  expect(posts().map((p) => p.headers['ms-requestid'])).toEqual([row.agreement_request_id, row.agreement_request_id]);
  expect(posts()[1].status).toBe(201); // the first answer (sent to a dead gateway), replayed
  expect(sim.agreementsOf(w.customer.tenantId)).toHaveLength(1);
  const acceptances = await queryRows(em(), 'select source, attestation_id from acceptances where customer_id = ?', [w.customer.id]);
  expect(acceptances).toEqual([{ source: 'ATTESTATION', attestation_id: id }]);
  const changes = await queryRows<{ status: string }>(em(), 'select status from attestation_updates where attestation_id = ? order by id', [id]);
  expect(changes.map((c) => c.status)).toEqual(['REQUESTED', 'LINK_ISSUED', 'CUSTOMER_ACCEPTED', 'RECORDED']);
}, 90_000);
