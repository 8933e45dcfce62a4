import { isUuid } from '../auth/tenancy';
import { seesAllPartners, type Viewer } from '../auth/viewer';
import { BadUserInputError } from '../errors';

/**
 * Who receives which alert (DESIGN.md section 6), as one predicate for the in-memory
 * fan-out and the same rule as SQL for table reads. A partner user receives the alerts
 * it is a party to: as billing partner (a provider's orders include its resellers'),
 * or as the reseller that placed the order. Platform admins and analysts receive all.
 * `partnerId` and `customerId` only narrow that set, so naming another tenant's
 * partner yields nothing of theirs.
 */
export interface AlertScope {
  viewer: Viewer;
  partnerId?: string | null;
  customerId?: string | null;
}

/** The columns the rule reads, as ids. */
export interface AlertParties {
  partnerId: string;
  resellerId: string | null;
  customerId: string;
}

const involves = (a: AlertParties, partnerId: string) => a.partnerId === partnerId || a.resellerId === partnerId;

export function alertInScope(scope: AlertScope, a: AlertParties): boolean {
  if (!seesAllPartners(scope.viewer) && !involves(a, scope.viewer.partnerId!)) return false;
  if (scope.partnerId && !involves(a, scope.partnerId)) return false;
  if (scope.customerId && a.customerId !== scope.customerId) return false;
  return true;
}

/** The same rule as a SQL condition on the alerts table under `alias`. */
export function alertScopeCondition(scope: AlertScope, alias: string): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const party = (id: string) => {
    parts.push(`(${alias}.partner_id = ? or ${alias}.reseller_id = ?)`);
    params.push(id, id);
  };
  if (!seesAllPartners(scope.viewer)) party(scope.viewer.partnerId!);
  if (scope.partnerId) party(scope.partnerId);
  if (scope.customerId) {
    parts.push(`${alias}.customer_id = ?`);
    params.push(scope.customerId);
  }
  return { sql: parts.length ? parts.join(' and ') : 'true', params };
}

/** Ids reach SQL only when well-formed; a malformed one is the caller's mistake, named by field. */
export function checkScopeIds(scope: Omit<AlertScope, 'viewer'>, fieldPrefix = ''): void {
  if (scope.partnerId && !isUuid(scope.partnerId)) throw new BadUserInputError('partnerId is not a partner id', `${fieldPrefix}partnerId`);
  if (scope.customerId && !isUuid(scope.customerId)) throw new BadUserInputError('customerId is not a customer id', `${fieldPrefix}customerId`);
}

const MAX_BIGINT = 9_223_372_036_854_775_807n;

/** Alert ids (and cursors) are decimal bigints: anything else, or beyond bigint, names no alert. */
export function isAlertId(value: string): boolean {
  return /^\d{1,19}$/.test(value) && BigInt(value) <= MAX_BIGINT;
}

/** Alert cursors are the decimal bigint ids. */
export function parseCursor(cursor: string, field: string): bigint {
  if (!isAlertId(cursor)) throw new BadUserInputError(`${field} is not an alert cursor`, field);
  return BigInt(cursor);
}
