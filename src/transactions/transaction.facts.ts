import type { EntityManager } from '@mikro-orm/postgresql';
import type { AgreementTemplate } from '../agreements/agreement.entity';
import { AgreementType, GLOBAL } from '../agreements/agreement.enums';
import { currentTemplate, languageOfCountry, todayUtc } from '../agreements/current';
import type { Channel } from '../acceptance/acceptance.enums';
import { visibleCustomerCondition } from '../auth/tenancy';
import type { Viewer } from '../auth/viewer';
import { CloudInstance } from '../customers/customer.enums';
import { queryRows } from '../db/query';
import type { PartnerType } from '../partners/partner.enums';
import type { AcceptanceState, GateFacts } from './gate';
import type { SubscriptionStatus, TransactionKind } from './transaction.enums';

export interface LoadedFacts extends GateFacts {
  currentAgreement: AgreementTemplate | null;
}

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

/** An order row as `row_to_json` writes it. */
export interface OrderJson {
  id: string;
  customer_id: string;
  partner_id: string;
  reseller_id: string | null;
  kind: string;
  channel: string;
  outcome: string;
  block_reasons: string[];
  warnings: string[];
  requested_at: string;
  created_at: string;
  offer_id: string | null;
  quantity: number;
  subscription_id: string | null;
  placed_by_id: string;
  idempotency_key: string;
  idempotency_scope: string;
  request_hash: string;
}

/** A blocked-order alert row as `row_to_json` writes it. */
export interface AlertJson {
  id: number | string;
  order_id: string;
  customer_id: string;
  partner_id: string;
  reseller_id: string | null;
  reasons: string[];
  created_at: string;
  acknowledged_at: string | null;
  acknowledged_by_id: string | null;
}

export interface SubscriptionJson {
  id: string;
  customer_id: string;
  partner_id: string;
  reseller_id: string | null;
  offer_id: string;
  seats: number;
  status: SubscriptionStatus;
  renews_on: string;
  created_at: string;
  cancelled_at: string | null;
}

export interface CustomerJson {
  id: string;
  tenant_id: string;
  company_name: string;
  domain: string;
  country: string;
  cloud: CloudInstance;
  contact_first_name: string;
  contact_last_name: string;
  contact_email: string;
  contact_phone_number: string | null;
  created_at: string;
}

export interface PartnerJson {
  id: string;
  name: string;
  tenant_id: string;
  type: PartnerType;
  created_at: string;
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
  gate: {
    activeRank: number | null;
    withdrawn: boolean;
    existing: boolean;
    linked: boolean;
    serving: boolean;
  };
  templates: AgreementTemplate[];
}

interface Row {
  earlier: { order: OrderJson; alert: AlertJson | null } | null;
  customer: CustomerJson | null;
  partners: PartnerJson[] | null;
  subscription: SubscriptionJson | null;
  active_rank: number | null;
  withdrawn: boolean;
  existing: boolean;
  linked: boolean;
  serving: boolean;
  templates: { templateId: string; type: AgreementType; version: string; versionRank: number; country: string; language: string; displayUri: string; effectiveFrom: string; createdAt: string }[] | null;
}

/**
 * Reads, in one statement, what an attempt checks and what the gate decides on: the
 * earlier order under the idempotency key (with its alert), the customer if the viewer
 * may see it, the types of the partners the input names, the subscription, the
 * acceptance and reseller facts, and the agreement templates of the customer's country
 * and GLOBAL. Validation and the decision (the pure `decide` in gate.ts) happen in code,
 * in the order the rules ask. "Now" for the current agreement and for "existing
 * customer" is the order's business time, so replayed history is judged as it stood.
 */
export async function readAttemptFacts(em: EntityManager, q: AttemptQuery): Promise<AttemptFacts> {
  const visible = visibleCustomerCondition(q.viewer, 'c.id');
  const today = todayUtc(q.requestedAt);
  const [row] = await queryRows<Row>(em, {
    key: `facts:${visible.sql}`,
    sql: () => `select
       (select json_build_object('order', row_to_json(o), 'alert', (select row_to_json(a) from blocked_order_alerts a where a.order_id = o.id))
          from orders o where o.idempotency_scope = ? and o.idempotency_key = ?) as earlier,
       row_to_json(c) as customer,
       (select json_agg(row_to_json(p)) from partners p where p.id in (?, ?, ?, ?)) as partners,
       (select row_to_json(s) from subscriptions s where s.id = ? and s.customer_id = c.id and s.partner_id = ?) as subscription,
       (select t.version_rank from acceptances a join agreement_templates t on t.template_id = a.template_id
         where a.customer_id = c.id and a.partner_id = ? and a.status = 'ACTIVE') as active_rank,
       exists (select 1 from acceptances w where w.customer_id = c.id and w.partner_id = ? and w.status = 'WITHDRAWN') as withdrawn,
       exists (select 1 from orders o where o.customer_id = c.id and o.partner_id = ? and o.outcome = 'COMPLETED' and o.requested_at < ?) as existing,
       exists (select 1 from reseller_links l where l.reseller_id = ? and l.provider_id = ?) as linked,
       exists (select 1 from customer_relationships r join customer_relationship_resellers rr on rr.relationship_id = r.id
                where r.customer_id = c.id and r.partner_id = ? and rr.reseller_id = ?) as serving,
       (select json_agg(json_build_object('templateId', t.template_id, 'type', t.type, 'version', t.version, 'versionRank', t.version_rank,
                 'country', t.country, 'language', t.language, 'displayUri', t.display_uri, 'effectiveFrom', t.effective_from, 'createdAt', t.created_at))
          from agreement_templates t
         where t.type = ? and t.country in (upper(c.country), ?) and t.effective_from <= ?) as templates
     from (select 1) as one
     left join customers c on c.id = ? and ${visible.sql}`,
  }, [
      q.idempotency?.scope ?? null, q.idempotency?.key ?? null,
      q.namedPartnerId, q.namedResellerId, q.partnerId, q.resellerId,
      q.subscriptionId, q.partnerId,
      q.partnerId,
      q.partnerId,
      q.partnerId, q.requestedAt,
      q.resellerId, q.partnerId,
      q.partnerId, q.resellerId,
      AgreementType.MICROSOFT_CLOUD_AGREEMENT, GLOBAL, today,
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
    gate: { activeRank: row.active_rank, withdrawn: row.withdrawn, existing: row.existing, linked: row.linked, serving: row.serving },
    templates: (row.templates ?? []).map((t) => ({ ...t, createdAt: new Date(t.createdAt) }) as AgreementTemplate),
  };
}

export interface GateQuery {
  customer: { country: string; cloud: CloudInstance };
  resellerId: string | null;
  kind: TransactionKind;
  channel: Channel;
  requestedAt: Date;
}

/** The most likely language per country code (Intl's likely subtags), computed once per code. */
const languages = new Map<string, string | null>();
function languageOf(country: string): string | null {
  let language = languages.get(country);
  if (language === undefined) {
    language = languageOfCountry(country);
    if (languages.size < 1_000) languages.set(country, language);
  }
  return language;
}

/** The gate's facts from what `readAttemptFacts` read; the decision itself is the pure `decide` in gate.ts. */
export function gateFacts(facts: AttemptFacts, q: GateQuery): LoadedFacts {
  const g = facts.gate;
  const acceptance: AcceptanceState =
    g.activeRank !== null && g.activeRank !== undefined
      ? { status: 'ACTIVE', templateRank: Number(g.activeRank) }
      : g.withdrawn
        ? { status: 'WITHDRAWN' }
        : { status: 'NONE' };
  return {
    kind: q.kind,
    channel: q.channel,
    requestedAt: q.requestedAt,
    nationalCloud: q.customer.cloud !== CloudInstance.PUBLIC,
    acceptance,
    // Any translation of the current version satisfies the gate; the one named as
    // requiredAgreement is in the customer's country's language where one exists.
    currentAgreement: currentTemplate(facts.templates, {
      type: AgreementType.MICROSOFT_CLOUD_AGREEMENT,
      country: q.customer.country,
      language: languageOf(q.customer.country),
      today: todayUtc(q.requestedAt),
    }),
    existingCustomer: g.existing,
    reseller: q.resellerId ? { linkedToProvider: g.linked, servesCustomer: g.serving } : null,
  };
}
