import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { LockMode } from '@mikro-orm/core';
import { AppError, BadUserInputError, ConflictError, NotFoundError, ServiceUnavailableError } from '../errors';
import { actingPartnerId, isUuid, partnerExists } from '../auth/tenancy';
import { seesAllPartners, type Viewer } from '../auth/viewer';
import { paginateRows, timeOrder, type ConnectionResult, type SqlCondition } from '../common/connection';
import { Partner } from '../partners/partner.entity';
import { Acceptance } from '../acceptance/acceptance.entity';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { AgreementType, GLOBAL } from '../agreements/agreement.enums';
import { todayUtc } from '../agreements/current';
import type { Services } from '../kernel/context';
import { currentRequestId } from '../kernel/request-scope';
import { TokenRequestError, type IssuedToken } from './client';
import { cipherFor } from './credentials';
import { plainSync, type SyncRecord } from './partner-center.queries';
import { ConnectionStatus, SyncStatus } from './partner-center.enums';
import type { ConnectPartnerCenterInput } from './partner-center.inputs';
import type { PartnerCenterConnectionView } from './partner-center.types';
import { partnerLockSql, sendSyncJob, sendSyncJobs } from './outbox';
import { syncEngine } from './sync.engine';
import { UpstreamError } from './upstream';
import { queryRows } from '../db/query';

/** Refresh tokens run to a few kilobytes; anything far beyond is not one. */
const CREDENTIAL_MAX = 16_384;

const AGREEMENT_TYPES: Record<string, AgreementType> = {
  MicrosoftCloudAgreement: AgreementType.MICROSOFT_CLOUD_AGREEMENT,
  MicrosoftCustomerAgreement: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT,
};

interface ConnectionRow {
  client_id: string;
  connected_at: Date;
  last_token_at: Date | null;
  last_error: string | null;
  reauthorization_required_at: Date | null;
}

/** A metadata item's type and rank under either documented spelling (PARTNER-CENTER.md section 2). */
export function metadataItemOf(item: unknown): { templateId: string; agreementType: string; agreementLink: string; versionRank: number } | undefined {
  const i = (item ?? {}) as Record<string, unknown>;
  const templateId = typeof i.templateId === 'string' ? i.templateId.trim() : '';
  const agreementType = [i.agreementType, i.type].find((v) => typeof v === 'string' && v) as string | undefined;
  const versionRank = [i.versionRank, i.VersionRank].find((v) => Number.isInteger(v)) as number | undefined;
  if (!templateId || !agreementType || typeof i.agreementLink !== 'string' || versionRank === undefined) return undefined;
  return { templateId, agreementType, agreementLink: i.agreementLink, versionRank };
}

/** Partner Center's refusal of the partner's access, as a clear error (not SERVICE_UNAVAILABLE: trying again will not help). */
export class PartnerCenterRefusedError extends AppError {
  constructor(message: string, upstreamStatus: number | undefined, upstreamCode: string | null | undefined) {
    super(message, 'FORBIDDEN', { upstreamStatus: upstreamStatus ?? null, upstreamCode: upstreamCode ?? null });
  }
}

const view = (partnerId: string, row: ConnectionRow | undefined): PartnerCenterConnectionView =>
  row
    ? {
        partnerId,
        clientId: row.client_id,
        status: row.reauthorization_required_at ? ConnectionStatus.NEEDS_REAUTHORIZATION : row.last_error ? ConnectionStatus.FAILING : ConnectionStatus.CONNECTED,
        connectedAt: new Date(row.connected_at),
        lastTokenAt: row.last_token_at ? new Date(row.last_token_at) : null,
        lastError: row.last_error,
      }
    : { partnerId, clientId: null, status: ConnectionStatus.DISCONNECTED, connectedAt: null, lastTokenAt: null, lastError: null };

function credential(value: string | null | undefined, field: string): string {
  const text = (value ?? '').trim();
  if (!text) throw new BadUserInputError(`${field} is required`, field);
  if (text.length > CREDENTIAL_MAX) throw new BadUserInputError(`${field} is longer than ${CREDENTIAL_MAX} characters`, field);
  return text;
}

/** The field an OAuth error points at, for BAD_USER_INPUT. */
const fieldOfOauthError = (error: string | undefined) => (error === 'invalid_client' || error === 'unauthorized_client' ? 'clientSecret' : error === 'invalid_request' ? 'clientId' : 'refreshToken');

/** Connections, the sync backlog and agreement metadata: DESIGN.md section 8. */
export class PartnerCenterService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
    private readonly services: Services,
  ) {}

  /** The partner acted for: the argument, else the caller's own; platform roles must name one. */
  private async partner(partnerId: string | null | undefined): Promise<string> {
    if (seesAllPartners(this.viewer) && !partnerId) throw new BadUserInputError('partnerId is required for a caller without a partner', 'partnerId');
    if (partnerId && !isUuid(partnerId)) throw new NotFoundError('Partner', partnerId, 'partnerId');
    try {
      return await actingPartnerId(this.em, this.viewer, partnerId);
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError('Partner', partnerId ?? undefined, 'partnerId');
      throw err;
    }
  }

  private async row(partnerId: string, em: EntityManager = this.em): Promise<ConnectionRow | undefined> {
    const [row] = await queryRows<ConnectionRow>(em, 'select client_id, connected_at, last_token_at, last_error, reauthorization_required_at from partner_center_connections where partner_id = ?', [partnerId]);
    return row;
  }

  async connection(partnerId: string | null | undefined): Promise<PartnerCenterConnectionView> {
    const id = await this.partner(partnerId);
    return view(id, await this.row(id));
  }

  /**
   * Verifies the credentials with one token request, then stores them encrypted
   * and queues the partner's NOT_CONNECTED backlog, in one transaction.
   */
  async connect(input: ConnectPartnerCenterInput): Promise<PartnerCenterConnectionView> {
    const partnerId = await this.partner(input.partnerId);
    const cipher = cipherFor(this.services.config.partnerCenter.credentialsKey);
    const creds = {
      clientId: credential(input.clientId, 'clientId'),
      clientSecret: credential(input.clientSecret, 'clientSecret'),
      refreshToken: credential(input.refreshToken, 'refreshToken'),
    };
    const partner = await this.em.findOneOrFail(Partner, { id: partnerId });
    const engine = syncEngine(this.services);
    let token: IssuedToken;
    const tokenPath = new URL(engine.client.tokenUrl(partner.tenantId)).pathname;
    try {
      token = await engine.client.token(partner.tenantId, creds, 'delegated');
      await engine.upstream.exchange({ partnerId, operation: 'token', method: 'POST', path: tokenPath, httpStatus: 200, outcome: 'ok' });
    } catch (err) {
      if (!(err instanceof TokenRequestError)) throw err;
      await engine.upstream.exchange({
        partnerId,
        operation: 'token',
        method: 'POST',
        path: tokenPath,
        httpStatus: err.status ?? null,
        code: err.aadsts ?? err.oauthError ?? null,
        outcome: err.status === undefined ? 'transport' : 'failed',
      });
      // Credentials that cannot be verified are not stored, whatever the reason.
      if (err.permanent) throw new BadUserInputError(`Partner Center refused the credentials: ${err.message}`, fieldOfOauthError(err.oauthError));
      throw new BadUserInputError(`The credentials could not be verified: ${err.message}`, 'refreshToken');
    }
    const refreshToken = token.refreshToken ?? creds.refreshToken;
    const { row, queued } = await this.em.transactional(async (t) => {
      const tx = t as EntityManager;
      // Exclusive: confirmations of this partner in flight commit first (and land in the backlog below).
      await queryRows(tx, partnerLockSql('exclusive'), [partnerId]);
      const [stored] = await queryRows<ConnectionRow>(
        tx,
        `insert into partner_center_connections (partner_id, client_id, client_secret_enc, refresh_token_enc, connected_at, last_token_at, last_error, delegated_token_at, reauthorization_required_at)
         values (?, ?, ?, ?, date_trunc('milliseconds', clock_timestamp()), now(), null, now(), null)
         on conflict (partner_id) do update set client_id = excluded.client_id, client_secret_enc = excluded.client_secret_enc,
           refresh_token_enc = excluded.refresh_token_enc, connected_at = excluded.connected_at, last_token_at = excluded.last_token_at, last_error = null,
           delegated_token_at = excluded.delegated_token_at, reauthorization_required_at = null
         returning client_id, connected_at, last_token_at, last_error, reauthorization_required_at`,
        [partnerId, creds.clientId, cipher.encrypt(creds.clientSecret, partnerId, 'clientSecret'), cipher.encrypt(refreshToken, partnerId, 'refreshToken')],
      );
      // The backlog: NOT_CONNECTED rows start afresh; PAUSED ones (a dead grant) resume with the attempts they had.
      const backlog = await queryRows<{ acceptance_id: string; job_id: string }>(
        tx,
        `update acceptance_syncs set status = 'PENDING', job_id = gen_random_uuid(), attempts = case when status = 'PAUSED' then attempts else 0 end, next_attempt_at = null
          where partner_id = ? and status in ('NOT_CONNECTED', 'PAUSED') returning acceptance_id, job_id`,
        [partnerId],
      );
      await sendSyncJobs(tx, backlog.map((r) => ({ id: r.job_id, data: { acceptanceId: r.acceptance_id, partnerId } })));
      return { row: stored, queued: backlog.length };
    });
    engine.remember(partnerId, new Date(row.connected_at), token);
    this.services.log.info({ partnerId, queued, requestId: currentRequestId() }, 'partner center connected');
    return view(partnerId, row);
  }

  /** Erases the credentials; queued deliveries wait as NOT_CONNECTED for the next connection. */
  async disconnect(partnerId: string | null | undefined): Promise<PartnerCenterConnectionView> {
    const id = await this.partner(partnerId);
    await this.em.transactional(async (t) => {
      const tx = t as EntityManager;
      await queryRows(tx, partnerLockSql('exclusive'), [id]);
      await queryRows(tx, 'delete from partner_center_connections where partner_id = ?', [id]);
      await queryRows(tx, `update acceptance_syncs set status = 'NOT_CONNECTED', job_id = null, next_attempt_at = null where partner_id = ? and status in ('PENDING', 'PAUSED')`, [id]);
    });
    syncEngine(this.services).forget(id);
    this.services.log.info({ partnerId: id, requestId: currentRequestId() }, 'partner center disconnected');
    return view(id, undefined);
  }

  /**
   * Pulls agreement metadata of every type (`agreementType=*`) with the partner's
   * delegated token and upserts templates by templateId: agreementLink becomes
   * displayUri, country GLOBAL; the type and rank are read under either documented
   * spelling (`type` or `agreementType`, `versionRank` or `VersionRank`). A new template
   * takes effect today (Partner Center does not say since when); the effective date,
   * label and language of an existing one are kept. Running it again changes nothing.
   * Partner Center refusing access (401, 403, a dead grant) is FORBIDDEN with the
   * upstream status and code; only an unreachable upstream is SERVICE_UNAVAILABLE.
   */
  async importTemplates(partnerId: string): Promise<{ imported: number; updated: number; templates: AgreementTemplate[] }> {
    if (!(await partnerExists(this.em, partnerId))) throw new NotFoundError('Partner', partnerId, 'partnerId');
    const engine = syncEngine(this.services);
    let items: NonNullable<ReturnType<typeof metadataItemOf>>[];
    try {
      const answer = await engine.upstream.request({ partnerId, operation: 'metadata', method: 'GET', path: '/v1/agreements?agreementType=*', tokenKind: 'delegated' }, this.em);
      if (answer.status === 403) throw new PartnerCenterRefusedError(`Partner Center refused the agreement metadata to this account: ${answer.message}`, 403, answer.code);
      if (!answer.ok) throw new PartnerCenterRefusedError(`Partner Center refused the agreement metadata request: ${answer.message}`, answer.status, answer.code);
      const raw = (answer.body as { items?: unknown } | null)?.items;
      if (!Array.isArray(raw)) throw new ServiceUnavailableError('Partner Center answered agreement metadata without items');
      items = raw.map(metadataItemOf).filter((i): i is NonNullable<typeof i> => i !== undefined);
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      if (err.kind === 'not_connected') throw new BadUserInputError(err.message, 'partnerId');
      if (err.kind === 'unavailable' || err.kind === 'throttled') throw new ServiceUnavailableError(`Agreement metadata could not be fetched: ${err.message}`);
      throw new PartnerCenterRefusedError(`Partner Center refused the partner's credentials: ${err.message}`, err.details.status, err.details.code);
    }
    const known = items.filter((i) => AGREEMENT_TYPES[i.agreementType]);
    return this.em.transactional(async (t) => {
      const tx = t as EntityManager;
      const existing = new Map(
        (await tx.find(AgreementTemplate, { templateId: { $in: known.map((i) => i.templateId) } }, { lockMode: LockMode.PESSIMISTIC_WRITE })).map((a) => [a.templateId, a]),
      );
      let imported = 0;
      let updated = 0;
      const templates: AgreementTemplate[] = [];
      for (const item of known) {
        const type = AGREEMENT_TYPES[item.agreementType];
        const current = existing.get(item.templateId);
        if (!current) {
          const created = tx.create(AgreementTemplate, {
            templateId: item.templateId,
            type,
            version: `v${item.versionRank}`,
            versionRank: item.versionRank,
            country: GLOBAL,
            language: 'en-US',
            displayUri: item.agreementLink,
            effectiveFrom: todayUtc(),
          });
          existing.set(item.templateId, created);
          templates.push(created);
          imported++;
          continue;
        }
        if (current.displayUri !== item.agreementLink || current.versionRank !== item.versionRank || current.type !== type || current.country !== GLOBAL) {
          Object.assign(current, { displayUri: item.agreementLink, versionRank: item.versionRank, type, country: GLOBAL });
          updated++;
        }
        if (!templates.includes(current)) templates.push(current);
      }
      await tx.flush();
      return { imported, updated, templates };
    });
  }

  /** An acceptance the viewer's partner recorded (platform admins: any), else NOT_FOUND. */
  private async ownAcceptance(acceptanceId: string): Promise<Acceptance> {
    const acceptance = isUuid(acceptanceId) ? await this.em.findOne(Acceptance, { id: acceptanceId }) : null;
    if (!acceptance || !(seesAllPartners(this.viewer) || acceptance.partner.id === this.viewer.partnerId)) {
      throw new NotFoundError('Acceptance', acceptanceId, 'acceptanceId');
    }
    return acceptance;
  }

  /** Requeues a FAILED sync with a fresh attempt budget and the MS-RequestId its failure left (a new one after an answer). */
  async retry(acceptanceId: string): Promise<Acceptance> {
    const acceptance = await this.ownAcceptance(acceptanceId);
    await this.em.transactional(async (t) => {
      const tx = t as EntityManager;
      await queryRows(tx, partnerLockSql('shared'), [acceptance.partner.id]);
      const jobId = randomUUID();
      const [row] = await queryRows<{ status: SyncStatus }>(
        tx,
        `update acceptance_syncs s set attempts = 0, next_attempt_at = null,
           status = case when exists (select 1 from partner_center_connections pc where pc.partner_id = s.partner_id and pc.reauthorization_required_at is null) then 'PENDING'
                         when exists (select 1 from partner_center_connections pc where pc.partner_id = s.partner_id) then 'PAUSED' else 'NOT_CONNECTED' end,
           job_id = case when exists (select 1 from partner_center_connections pc where pc.partner_id = s.partner_id and pc.reauthorization_required_at is null) then ?::uuid end
         where s.acceptance_id = ? and s.status = 'FAILED' returning s.status`,
        [jobId, acceptance.id],
      );
      if (!row) {
        const [current] = await queryRows<{ status: string }>(tx, 'select status from acceptance_syncs where acceptance_id = ?', [acceptance.id]);
        throw new ConflictError(`Only a FAILED sync can be retried; this one is ${current?.status ?? SyncStatus.NOT_CONNECTED}`);
      }
      if (row.status === SyncStatus.PENDING) await sendSyncJob(tx, jobId, { acceptanceId: acceptance.id, partnerId: acceptance.partner.id });
    });
    return acceptance;
  }

  /** The sync backlog: a partner user its own partner's, platform roles any partner's (or all). */
  async list(args: { partnerId?: string | null; status?: SyncStatus | null; first?: number | null; after?: string | null }): Promise<ConnectionResult<SyncRecord>> {
    let partnerId: string | null = null;
    if (!seesAllPartners(this.viewer) || args.partnerId) {
      if (args.partnerId && !isUuid(args.partnerId)) throw new NotFoundError('Partner', args.partnerId, 'partnerId');
      partnerId = await actingPartnerId(this.em, this.viewer, args.partnerId).catch((err) => {
        throw err instanceof NotFoundError ? new NotFoundError('Partner', args.partnerId ?? undefined, 'partnerId') : err;
      });
    }
    const where: SqlCondition[] = [];
    if (partnerId) where.push({ sql: 's.partner_id = ?::uuid', params: [partnerId] });
    if (args.status) where.push({ sql: 's.status = ?', params: [args.status] });
    return paginateRows(
      this.em,
      {
        table: 'acceptance_syncs',
        alias: 's',
        where,
        keys: timeOrder('s.created_at', (s) => s.createdAt, 's.acceptance_id', (s) => s.acceptance.id),
        row: plainSync,
        count: 'bounded',
      },
      args,
    );
  }
}
