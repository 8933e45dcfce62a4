import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';
import type { Viewer } from '../auth/viewer';
import { boundedCount, pageSize, type ConnectionResult } from '../common/connection';
import { NotFoundError } from '../errors';
import { BlockedOrderAlert } from './alert.entity';
import type { AlertFilter } from './alert.inputs';
import { alertScopeCondition, checkScopeIds, isAlertId, parseCursor } from './alert.tenancy';

export class AlertService {
  constructor(private readonly em: EntityManager, private readonly viewer: Viewer) {}

  /**
   * Alerts the viewer receives, oldest first by cursor, so a client can page through
   * history and then subscribe with the last page's `endCursor` as `after`.
   */
  async list(filter: AlertFilter | null | undefined, args: { first?: number | null; after?: string | null }): Promise<ConnectionResult<BlockedOrderAlert>> {
    const limit = pageSize(args.first);
    const after = args.after ? parseCursor(args.after, 'after') : null;
    checkScopeIds(filter ?? {}, 'filter.');
    const cond = alertScopeCondition({ viewer: this.viewer, partnerId: filter?.partnerId, customerId: filter?.customerId }, 'a');
    const qb = this.em.createQueryBuilder(BlockedOrderAlert, 'a').where(cond.sql, cond.params);
    if (filter?.reason) qb.andWhere('? = any(a.reasons)', [filter.reason]);
    if (filter?.acknowledged === true) qb.andWhere('a.acknowledged_at is not null');
    if (filter?.acknowledged === false) qb.andWhere('a.acknowledged_at is null');
    const countQb = qb.clone();
    if (after !== null) qb.andWhere({ id: { $gt: String(after) } });
    qb.orderBy({ id: 'asc' }).limit(limit + 1);
    const [rows, totalCount] = await Promise.all([qb.getResultList(), boundedCount(countQb)]);
    const edges = rows.slice(0, limit).map((node) => ({ node, cursor: String(node.id) }));
    return {
      edges,
      totalCount,
      pageInfo: {
        hasNextPage: rows.length > limit,
        hasPreviousPage: after !== null,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
    };
  }

  /**
   * Marks an alert acknowledged by the viewer: a platform admin, or a user of a partner
   * the alert belongs to (its billing partner, or the reseller that placed the order).
   * Anyone else is told it does not exist. Acknowledging again keeps the first
   * acknowledgement.
   */
  async acknowledge(id: string): Promise<BlockedOrderAlert> {
    if (!isAlertId(id)) throw new NotFoundError('BlockedOrderAlert', id, 'id');
    const cursor = id;
    const cond = alertScopeCondition({ viewer: this.viewer }, 'a');
    const updated = await queryRows<{ id: string }>(
      this.em,
      `update blocked_order_alerts a set acknowledged_at = coalesce(a.acknowledged_at, now()),
              acknowledged_by_id = coalesce(a.acknowledged_by_id, ?)
        where a.id = ?::bigint and ${cond.sql} returning a.id`,
      [this.viewer.userId, cursor, ...cond.params],
    );
    if (!updated.length) throw new NotFoundError('BlockedOrderAlert', id, 'id');
    return this.em.findOneOrFail(BlockedOrderAlert, { id: cursor }, { refresh: true });
  }
}
