import type { EntityManager } from '@mikro-orm/postgresql';
import type { AgreementTemplate } from '../agreements/agreement.entity';
import { plainTemplate, type TemplateRow } from '../agreements/agreement.queries';
import { todayUtc } from '../agreements/current';
import type { Channel } from '../acceptance/acceptance.enums';
import { visibleCustomerCondition } from '../auth/tenancy';
import type { Viewer } from '../auth/viewer';
import { blockedOrderAlertJsonOf } from '../alerts/alert.queries';
import { queryRows } from '../db/query';
import type { PartnerType } from '../auth/roles';
import type { AlertJson, CustomerJson, OrderJson, PartnerJson, SubscriptionJson } from './transaction.queries';
import { currentAgreementJson, customerGateFacts, gateFactsOf, probedGateFacts, type GateFactColumns, type LoadedFacts } from './gate.facts';
import { POLICY_RULES_JSON, policyRulesOf } from '../policy/policy.queries';
import type { DescribedRule, PolicyRuleRow } from '../policy/policy.rules';
import type { TransactionKind } from './transaction.enums';

/** What one attempt (or dry run) asks the database, with every id already checked to be a UUID (else null). */
export interface AttemptQuery {
  viewer: Viewer;
  /** The earlier order under this key, for an attempt; null for a dry run. */
  idempotency: { scope: string; key: string } | null;
  customerId: string | null;
  /** `input.partnerId`, when it needs its type checked (resellers and platform roles name it). */
  namedPartnerId: string | null;
  /** `input.resellerId`, when it needs its type checked. */
  namedResellerId: string | null;
  /** The billing partner the order would be for (the gate's facts are about it). */
  partnerId: string | null;
  /** The reseller the order would be placed by. */
  resellerId: string | null;
  subscriptionId: string | null;
  requestedAt: Date;
}

/** Everything an attempt needs to read, from one statement. */
export interface AttemptFacts {
  earlier: { order: OrderJson; alert: AlertJson | null } | null;
  /** The customer, when it exists and the viewer may see it. */
  customer: CustomerJson | null;
  /** The partners of the query that exist (named, billing, reseller), by id. */
  partners: Map<string, PartnerJson>;
  namedPartnerType: PartnerType | null;
  namedResellerType: PartnerType | null;
  /** The subscription, when it belongs to the customer and the billing partner. */
  subscription: SubscriptionJson | null;
  /** The gate's facts about the customer, the billing partner and the reseller. */
  gate: GateFactColumns;
  /** The current versions' translations (of every type) for the customer. */
  current: AgreementTemplate[];
  /** The requirement policy's rules, descriptions included. */
  rules: DescribedRule[];
}

interface Row extends GateFactColumns {
  earlier: { order: OrderJson; alert: AlertJson | null } | null;
  customer: CustomerJson | null;
  partners: PartnerJson[] | null;
  subscription: SubscriptionJson | null;
  current: TemplateRow[] | null;
  rules: PolicyRuleRow[] | null;
}

/**
 * Reads, in one statement, what an attempt checks and what the gate decides on: the
 * earlier order under the idempotency key (with its alert), the customer if the viewer
 * may see it, the types of the partners the input names, the subscription, the gate's
 * facts (gate.facts.ts) and the current agreement's translations for the customer.
 * Validation and the decision (the pure `decide` in gate.ts) happen in code, in the
 * order the rules ask. "Now" for the current agreement and for "existing customer" is
 * the order's business time, so replayed history is judged as it stood.
 */
export async function readAttemptFacts(em: EntityManager, q: AttemptQuery): Promise<AttemptFacts> {
  const visible = visibleCustomerCondition(q.viewer, 'c.id');
  const [row] = await queryRows<Row>(
    em,
    {
      key: `facts:${visible.sql}`,
      sql: () => `select
       (select json_build_object('order', row_to_json(o), 'alert', ${blockedOrderAlertJsonOf('o.id')})
          from orders o where o.idempotency_scope = ? and o.idempotency_key = ?) as earlier,
       row_to_json(c) as customer,
       (select json_agg(row_to_json(p)) from partners p where p.id in (?, ?, ?, ?)) as partners,
       (select row_to_json(s) from subscriptions s where s.id = ? and s.customer_id = c.id and s.partner_id = q.partner_id) as subscription,
       ${customerGateFacts('c')}, ${probedGateFacts({ customer: 'c.id', partner: 'q.partner_id', reseller: 'q.reseller_id' }, 'q.requested_at')},
       ${currentAgreementJson('c.country', 'q.today')} as current,
       ${POLICY_RULES_JSON} as rules
     from (select ?::uuid as partner_id, ?::uuid as reseller_id, ?::timestamptz as requested_at, ?::date as today) as q
     left join customers c on c.id = ? and ${visible.sql}`,
    },
    [
      q.idempotency?.scope ?? null, q.idempotency?.key ?? null,
      q.namedPartnerId, q.namedResellerId, q.partnerId, q.resellerId,
      q.subscriptionId,
      q.partnerId, q.resellerId, q.requestedAt, todayUtc(q.requestedAt),
      q.customerId, ...visible.params,
    ],
  );
  const partners = new Map((row.partners ?? []).map((p) => [p.id, p]));
  return {
    earlier: row.earlier,
    customer: row.customer,
    partners,
    namedPartnerType: (q.namedPartnerId && partners.get(q.namedPartnerId)?.type) || null,
    namedResellerType: (q.namedResellerId && partners.get(q.namedResellerId)?.type) || null,
    subscription: row.subscription,
    gate: row,
    current: (row.current ?? []).map(plainTemplate),
    rules: policyRulesOf(row.rules),
  };
}

export interface GateQuery {
  customer: { country: string };
  kind: TransactionKind;
  channel: Channel;
  requestedAt: Date;
  /** The subscription changed, renewed or cancelled (its windows), and the seats asked for. */
  subscription?: SubscriptionJson | null;
  quantity?: number;
}

/** The gate's facts from what `readAttemptFacts` read; the decision itself is the pure `decide` in gate.ts. */
export function gateFacts(facts: AttemptFacts, q: GateQuery): LoadedFacts {
  const loaded = gateFactsOf(facts.gate, q, facts.current, facts.rules);
  const s = q.subscription;
  if (!s) return loaded;
  return {
    ...loaded,
    subscription: { termStartedAt: new Date(s.term_started_at), seats: s.seats, lots: s.seat_lots ?? [] },
    quantity: q.quantity,
  };
}
