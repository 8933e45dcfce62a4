import type { Viewer } from '../auth/viewer';
import type { ComplianceStatus } from './acceptance.enums';

/**
 * A SQL condition on a customer id column keeping customers whose compliance status
 * is `status`: relative to `partnerId` when given, else (for callers without a
 * partner) the least compliant status across the customer's billing partners, as
 * DESIGN.md section 2 states. The same rules as the `complianceStatus` field.
 *
 * Owned by the acceptance feature (issue 3); the customers list calls it for its filter.
 */
export function complianceStatusCondition(
  _viewer: Viewer,
  _status: ComplianceStatus,
  _partnerId: string | null,
  _customerIdColumn: string,
): { sql: string; params: unknown[] } {
  throw new Error('complianceStatusCondition: implemented by the acceptance feature');
}
