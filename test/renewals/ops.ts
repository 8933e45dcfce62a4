import { randomUUID } from 'node:crypto';
import type { TestGateway } from '../support/gateway';
import { platformAdminToken } from '../support/gateway';
import { ATTEMPT, CONFIRM, WITHDRAW, contact } from '../acceptance/ops';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';

/** The contract's renewal operations (../shared/contract/renewals.graphql), as the tests send them. */

export const RENEWAL_RISKS = `query RenewalRisks($partnerId: ID, $withinDays: Int, $first: Int, $after: String) {
  renewalRisks(partnerId: $partnerId, withinDays: $withinDays, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        renewsOn blockReasons warnings
        requiredAgreement { templateId version }
        subscription { id offerId seats status renewsOn }
        customer { id companyName }
        partner { id }
        reseller { id }
      }
    }
  }
}`;

export const SCAN = `mutation ScanRenewalRisks($withinDays: Int) { scanRenewalRisks(withinDays: $withinDays) { raised } }`;

export const ON_RENEWAL_RISK = `subscription OnRenewalRisk($partnerId: ID, $after: String) {
  renewalRiskAlerts(partnerId: $partnerId, after: $after) {
    id cursor createdAt renewsOn blockReasons
    subscription { id }
    customer { id }
    partner { id }
  }
}`;

export const PREFLIGHT_RENEWAL = `query PreflightTransaction($input: TransactionInput!) {
  preflightTransaction(input: $input) { allowed blockReasons warnings requiredAgreement { templateId version } }
}`;

/** YYYY-MM-DD, `days` from today (UTC). */
export const dayFromToday = (days: number) => {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
};

const yearsBefore = (day: string, years: number) => `${Number(day.slice(0, 4)) - years}${day.slice(4)}`;

/** The contract's operations with replayed business times, as a platform admin does them. */
export class Replay {
  constructor(private readonly gw: TestGateway) {}

  private async send(query: string, variables: Record<string, unknown>, token?: string) {
    const res = await this.gw.gql(query, variables, token ?? (await platformAdminToken()));
    if (res.errors) throw new Error(`${JSON.stringify(res.errors)} for ${JSON.stringify(variables)}`);
    return res.data;
  }

  async confirm(customer: Customer, partner: Partner, template: AgreementTemplate, dateAgreed = template.effectiveFrom): Promise<string> {
    const data = await this.send(CONFIRM, { input: { customerId: customer.id, partnerId: partner.id, templateId: template.templateId, dateAgreed, contact } });
    return data.confirmCustomerAcceptance.acceptance.id;
  }

  async withdraw(customer: Customer, partner: Partner, reason = 'The customer no longer agrees'): Promise<void> {
    await this.send(WITHDRAW, { input: { customerId: customer.id, partnerId: partner.id, reason } });
  }

  async attempt(input: Record<string, unknown>) {
    const data = await this.send(ATTEMPT, { input: { quantity: 5, idempotencyKey: randomUUID(), ...input } });
    return data.attemptTransaction.order;
  }

  /**
   * A subscription whose term ends on `renewsOn`: a NEW_PURCHASE replayed one year
   * earlier (so the gate must let it through then), placed through `reseller` if given.
   */
  async subscriptionRenewingOn(customer: Customer, partner: Partner, renewsOn: string, reseller?: Partner): Promise<string> {
    const order = await this.attempt({
      customerId: customer.id,
      kind: 'NEW_PURCHASE',
      partnerId: partner.id,
      resellerId: reseller?.id,
      offerId: 'office-e3',
      requestedAt: `${yearsBefore(renewsOn, 1)}T12:00:00Z`,
    });
    if (order.outcome !== 'COMPLETED') throw new Error(`purchase ${order.outcome}: ${order.blockReasons}`);
    return order.subscription.id;
  }

  /**
   * A subscription that exists without a valid acceptance: bought before the API's
   * enforcement date (COMPLETED with warnings), then kept alive by AUTO_RENEWALs (never
   * blocked by acceptance) until its term ends on `renewsOn`.
   */
  async grandfatheredSubscription(customer: Customer, partner: Partner, renewsOn: string): Promise<string> {
    let years = 1;
    while (`${yearsBefore(renewsOn, years)}` >= '2019-03-22') years++;
    const order = await this.attempt({
      customerId: customer.id,
      kind: 'NEW_PURCHASE',
      partnerId: partner.id,
      offerId: 'legacy-plan',
      requestedAt: `${yearsBefore(renewsOn, years)}T12:00:00Z`,
    });
    if (order.outcome !== 'COMPLETED') throw new Error(`purchase ${order.outcome}: ${order.blockReasons}`);
    for (let i = 1; i < years; i++) {
      const renewal = await this.attempt({ customerId: customer.id, kind: 'AUTO_RENEWAL', partnerId: partner.id, subscriptionId: order.subscription.id });
      if (renewal.outcome !== 'COMPLETED') throw new Error(`auto-renewal ${renewal.outcome}`);
    }
    return order.subscription.id;
  }
}
