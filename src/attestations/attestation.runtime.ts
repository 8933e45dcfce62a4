import PgBoss from 'pg-boss';
import { withStartupLock } from '../db/migrate';
import { sessionUrl } from '../db/topology';
import type { Services } from '../kernel/context';
import { RuntimeSlot } from '../kernel/feature';
import type { AlertHub, AlertKind } from '../alerts/alert.hub';
import { BOSS_SCHEMA } from '../partner-center/outbox';
import { AttestationUpdate } from './attestation.entity';
import { follow, type FollowerDeps } from './attestation.follower';
import { ATTESTATION_QUEUE, type FollowJobData } from './attestation.jobs';
import { ATTESTATION_CHANNEL } from './attestation.queries';
import type { AttestationUpstream } from './attestation.upstream';

/** Status changes as a kind of the alert hub: same LISTEN connection, same streams, same tenancy (partner or reseller). */
export const ATTESTATION_UPDATES: AlertKind<AttestationUpdate> = {
  name: 'attestation-update',
  table: 'attestation_updates',
  channel: ATTESTATION_CHANNEL,
  entity: AttestationUpdate,
  parties: (u) => ({ partnerId: u.partner.id, resellerId: u.reseller?.id ?? null, customerId: u.customer.id }),
};

/** Follow workers per instance, each taking up to BATCH due jobs per fetch. */
const WORKERS = 2;
const BATCH = 20;

/**
 * What the attestations feature keeps while the gateway runs: pg-boss with the follow
 * queue and its workers (any instance follows any attestation; one job per attestation
 * at a time, the one its row names), and the hub of status changes.
 */
export class AttestationRuntime {
  boss?: PgBoss;
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly services: Services,
    readonly updates: AlertHub<AttestationUpdate>,
    /** Partner Center as the follower sees it (tests may put a fake in its place). */
    public upstream: AttestationUpstream,
  ) {}

  private get deps(): FollowerDeps {
    const { pollSeconds, retrySeconds } = this.services.config.attestations;
    return {
      orm: this.services.orm,
      upstream: this.upstream,
      pollMs: pollSeconds * 1000,
      retryMs: retrySeconds * 1000,
      log: this.services.log.child({ component: 'attestations' }),
    };
  }

  async start(): Promise<void> {
    const { jobExpireSeconds, maintenanceIntervalSeconds, pollingIntervalSeconds } = this.services.config.attestations;
    const boss = new PgBoss({
      connectionString: this.services.orm.config.get('clientUrl'),
      schema: BOSS_SCHEMA,
      max: 2,
      application_name: 'consent-gateway attestations',
      schedule: false,
      supervise: true,
      maintenanceIntervalSeconds,
    });
    boss.on('error', (err) => this.services.log.warn({ err }, 'pg-boss error (attestations)'));
    const queue = { name: ATTESTATION_QUEUE, policy: 'standard' as const, retryLimit: 50, retryDelay: 1, retryBackoff: true, expireInSeconds: jobExpireSeconds };
    try {
      // Queue DDL under the start-up lock, as the sync engine does (instances at once would deadlock).
      await withStartupLock(sessionUrl(this.services.orm), async () => {
        await boss.start();
        if (!(await boss.getQueue(ATTESTATION_QUEUE))) await boss.createQueue(ATTESTATION_QUEUE, queue);
        await boss.updateQueue(ATTESTATION_QUEUE, queue);
      });
      for (let i = 0; i < WORKERS; i++) {
        await boss.work<FollowJobData>(ATTESTATION_QUEUE, { batchSize: BATCH, pollingIntervalSeconds }, (jobs) => this.handle(jobs));
      }
    } catch (err) {
      await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
      throw err;
    }
    this.boss = boss;
  }

  private async handle(jobs: PgBoss.Job<FollowJobData>[]): Promise<void> {
    const deps = this.deps;
    const run = Promise.allSettled(jobs.map((job) => follow(deps, job.id, job.data)));
    this.running.add(run);
    const results = await run.finally(() => this.running.delete(run));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    // A failed batch goes back to pg-boss; jobs already stepped are stale by then and complete at once.
    if (failure) throw failure.reason;
  }

  async stop(): Promise<void> {
    await this.boss?.stop({ graceful: true, wait: true, timeout: 2_000 });
    // A step still waiting on upstream is abandoned: its job stays active, expires and is
    // retried (same row, same MS-RequestId) by whichever instance runs then.
    let timer: NodeJS.Timeout | undefined;
    const abandon = new Promise((resolve) => (timer = setTimeout(resolve, 2_000)));
    await Promise.race([Promise.allSettled([...this.running]), abandon]);
    clearTimeout(timer);
  }
}

/** The gateway's attestation runtime while the attestations feature runs. */
export const attestationRuntimes = new RuntimeSlot<AttestationRuntime>('attestations');

export const attestationRuntime = (services: Services): AttestationRuntime => attestationRuntimes.of(services);
