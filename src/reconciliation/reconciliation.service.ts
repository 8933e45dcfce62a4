import type { EntityManager } from '@mikro-orm/postgresql';
import { PartnerType } from '../auth/roles';
import { actingPartnerId, isUuid, linkedBySql, mayReadPartner, partnerExists, visibleCustomerCondition } from '../auth/tenancy';
import { seesAllPartners, type Viewer } from '../auth/viewer';
import { paginateRows, timeOrder, type ConnectionResult, type SqlCondition } from '../common/connection';
import { BadUserInputError, ForbiddenError, NotFoundError } from '../errors';
import { PartnerCenterRefusedError } from '../partner-center/partner-center.service';
import type { Services } from '../kernel/context';
import type { AcceptanceDriftRecord } from './reconciliation.entity';
import { driftCountSql, plainDrift, type DriftRow } from './reconciliation.queries';
import { reconciliation } from './reconciliation.runtime';
import type { RunResult } from './reconciliation.run';
import { isConnected, UpstreamUnavailableError } from './reconciliation.upstream';

/**
 * Who reconciles, and who reads drift:
 * - `reconcilePartnerCenter`: a partner's ADMIN for its own partner, a platform admin for
 *   any. Not AGENT: a run uses the partner's Partner Center connection (managed by its
 *   ADMIN), spends its shared upstream budget for every customer, and records direct
 *   acceptances, which otherwise only platform admins record. Not a reseller: it confirms
 *   nothing, its provider's run covers its customers.
 * - `acceptanceDrift`: every role; a partner user sees its own partner's drift, or a linked
 *   partner's on the customers it serves (a reseller reads its provider's drift of its own
 *   customers, as it reads the provider's acceptances); analysts and admins all. `detail`
 *   never holds a contact value, so there is nothing to mask.
 */
export class ReconciliationService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
    private readonly services: Services,
  ) {}

  async reconcile(partnerId: string | null | undefined): Promise<RunResult> {
    if (this.viewer.partnerType === PartnerType.INDIRECT_RESELLER) {
      throw new ForbiddenError('A reseller records no confirmations; its provider reconciles its customers');
    }
    if (seesAllPartners(this.viewer) && !partnerId) throw new BadUserInputError('partnerId is required for a caller without a partner', 'partnerId');
    if (partnerId && !isUuid(partnerId)) throw new NotFoundError('Partner', partnerId, 'partnerId');
    const id = await actingPartnerId(this.em, this.viewer, partnerId).catch((err) => {
      throw err instanceof NotFoundError ? new NotFoundError('Partner', partnerId ?? undefined, 'partnerId') : err;
    });
    if (!(await isConnected(this.em, id))) throw new BadUserInputError('This partner has no Partner Center connection; connect it first', 'partnerId');
    try {
      return await reconciliation(this.services).run(id);
    } catch (err) {
      if (!(err instanceof UpstreamUnavailableError)) throw err;
      if (err.kind === 'not_connected') throw new BadUserInputError(err.message, 'partnerId');
      // A connection Partner Center refuses (re-authorization needed, credentials refused): trying again will not help.
      throw new PartnerCenterRefusedError(`Partner Center could not be read with this partner's connection: ${err.message}`, err.status, err.code);
    }
  }

  async list(args: { partnerId?: string | null; open?: boolean | null; first?: number | null; after?: string | null }): Promise<ConnectionResult<AcceptanceDriftRecord>> {
    const where: SqlCondition[] = [];
    // A partner the caller may not read answers exactly as an unknown one: NOT_FOUND (as renewalRisks).
    const missing = () => new NotFoundError('Partner', args.partnerId ?? undefined, 'partnerId');
    let partnerId: string | null = args.partnerId ?? null;
    if (partnerId && !isUuid(partnerId)) throw missing();
    if (seesAllPartners(this.viewer)) {
      if (partnerId && !(await partnerExists(this.em, partnerId))) throw missing();
    } else {
      partnerId ??= this.viewer.partnerId!;
      if (!(await mayReadPartner(this.viewer, partnerId, linkedBySql(this.em)))) throw missing();
    }
    if (partnerId) where.push({ sql: 'd.partner_id = ?', params: [partnerId] });
    where.push(visibleCustomerCondition(this.viewer, 'd.customer_id'));
    if (args.open === true) where.push({ sql: 'd.resolved_at is null', params: [] });
    if (args.open === false) where.push({ sql: 'd.resolved_at is not null', params: [] });
    return paginateRows<AcceptanceDriftRecord>(
      this.em,
      {
        table: 'acceptance_drift',
        alias: 'd',
        where,
        keys: timeOrder('d.first_detected_at', (d) => d.firstDetectedAt, 'd.id', (d) => d.id),
        row: (r: DriftRow) => plainDrift(r),
        count: 'bounded',
        // Who sees every customer is counted from the maintained counts (a few rows, whatever
        // the table's size); a partner's user only on the customers it may see, row by row.
        countSql: seesAllPartners(this.viewer) ? driftCountSql(partnerId, args.open ?? null) : undefined,
      },
      args,
    );
  }
}
