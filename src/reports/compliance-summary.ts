import type { EntityManager } from '@mikro-orm/postgresql';
import { Field, Int, ObjectType } from 'type-graphql';
import { isUuid, visibleCustomerCondition } from '../auth/tenancy';
import type { Viewer } from '../auth/viewer';
import { NotFoundError } from '../errors';
import { ComplianceStatus } from '../acceptance/acceptance.enums';
import { complianceScope, complianceStatusSql, scopeKey } from '../acceptance/compliance';
import { complianceDirectory } from '../acceptance/compliance.directory';
import { queryDerivedOrLive } from '../kernel/derived';
import { blockedOrderCount, blockedReasonCounts } from '../alerts/alert.queries';
import { alertScopeCondition } from '../alerts/alert.tenancy';
import { BlockReason } from '../transactions/transaction.enums';

@ObjectType({ description: 'Blocked orders for one reason' })
export class ReasonCount {
  @Field(() => BlockReason, { description: 'The block reason' })
  reason!: BlockReason;

  @Field(() => Int, { description: 'Blocked orders listing this reason' })
  count!: number;
}

@ObjectType({ description: 'Customers by compliance status and blocked orders by reason, for one partner or across all' })
export class ComplianceSummary {
  @Field(() => Int, { description: 'Customers counted' })
  customers!: number;

  @Field(() => Int, { description: 'Customers with a current confirmation' })
  confirmed!: number;

  @Field(() => Int, { description: 'Customers whose confirmation is of an older agreement' })
  outdated!: number;

  @Field(() => Int, { description: 'Customers with no confirmation' })
  missing!: number;

  @Field(() => Int, { description: 'Customers whose acceptance was withdrawn' })
  withdrawn!: number;

  @Field(() => Int, { description: 'Customers whose confirmation the policy in force today no longer accepts (wrong type or too old)' })
  reacceptanceRequired!: number;

  @Field(() => Int, { description: 'Customers on national clouds, where acceptance does not apply' })
  notApplicable!: number;

  @Field(() => Int, { description: 'Blocked orders' })
  blockedOrders!: number;

  @Field(() => [ReasonCount], { description: 'Blocked orders by reason (an order may list several), most frequent first' })
  blockedByReason!: ReasonCount[];
}

/**
 * Counts computed in SQL (never by loading rows), with the same compliance rules as
 * the `complianceStatus` field and the same tenancy as `customers` and alerts: a
 * partner user counts only what its partner serves; `partnerId` narrows to one
 * partner (a partner user may name only its own).
 *
 * Read from the maintained counts (issue 23: the compliance directory's per (scope, status),
 * the blocked orders' per scope and reason) while they are valid; otherwise counted live as
 * before. The viewer's customer set is exactly one directory scope: the scope its statuses
 * are judged in (complianceScope), since a scope's rows are the customers its partner
 * serves (visibleCustomerCondition's set), 'all' holding every customer. The blocked
 * orders' scope is the one party alertScopeCondition requires (the named partner, else
 * the viewer's), 'all' when none.
 */
export async function complianceSummary(em: EntityManager, viewer: Viewer, partnerId: string | null | undefined): Promise<ComplianceSummary> {
  if (partnerId && (!isUuid(partnerId) || (viewer.partnerId && partnerId !== viewer.partnerId))) {
    throw new NotFoundError('Partner', partnerId, 'partnerId');
  }
  const visible = visibleCustomerCondition(viewer, 'c.id');
  const served = partnerId
    ? {
        sql: `c.id in (select r.customer_id from customer_relationships r where r.partner_id = ?
                       union select r.customer_id from customer_relationships r
                         join customer_relationship_resellers rr on rr.relationship_id = r.id where rr.reseller_id = ?)`,
        params: [partnerId, partnerId],
      }
    : { sql: 'true', params: [] };
  const scope = complianceScope(viewer, partnerId);
  const status = complianceStatusSql(scope, 'c.id');
  const alerts = alertScopeCondition({ viewer, partnerId }, 'a');
  const party = partnerId ?? viewer.partnerId;
  const alertsScope = party ? `p:${party}` : 'all';

  const [statusRows, blockedByReason, blockedOrders] = await Promise.all([
    queryDerivedOrLive<{ status: ComplianceStatus; n: string }>(
      em,
      complianceDirectory,
      { sql: 'select k.status, sum(k.n) as n from customer_compliance_counts k where k.scope = ? group by k.status having sum(k.n) <> 0', params: [scopeKey(scope)] },
      {
        sql: `select s.status, count(*) as n
         from (select ${status.sql} as status from customers c where ${visible.sql} and ${served.sql}) s
        group by s.status`,
        params: [...status.params, ...visible.params, ...served.params],
      },
    ),
    blockedReasonCounts(em, alertsScope, alerts),
    blockedOrderCount(em, alertsScope, alerts),
  ]);

  const byStatus = new Map(statusRows.map((r) => [r.status, Number(r.n)]));
  const count = (s: ComplianceStatus) => byStatus.get(s) ?? 0;
  return {
    customers: statusRows.reduce((sum, r) => sum + Number(r.n), 0),
    confirmed: count(ComplianceStatus.CONFIRMED),
    outdated: count(ComplianceStatus.OUTDATED),
    missing: count(ComplianceStatus.MISSING),
    withdrawn: count(ComplianceStatus.WITHDRAWN),
    reacceptanceRequired: count(ComplianceStatus.REACCEPTANCE_REQUIRED),
    notApplicable: count(ComplianceStatus.NOT_APPLICABLE),
    blockedOrders,
    blockedByReason,
  };
}
