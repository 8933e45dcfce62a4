import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Gateway } from '../src/gateway';
import { Partner, ResellerLink, User } from '../src/partners/partner.entity';
import { PartnerType, Role } from '../src/auth/roles';
import { Customer, CustomerRelationship } from '../src/customers/customer.entity';
import { CloudInstance } from '../src/customers/customer.enums';
import { AgreementTemplate } from '../src/agreements/agreement.entity';
import { AgreementType, GLOBAL } from '../src/agreements/agreement.enums';
import { tokenFor } from './support/gateway';

/** Fixtures by factory: each test makes what it needs, straight through the ORM. */

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
const em = (gw: Gateway) => gw.orm.em.fork() as EntityManager;

export async function aPartner(gw: Gateway, data: Partial<Pick<Partner, 'name' | 'tenantId' | 'type'>> = {}): Promise<Partner> {
  const e = em(gw);
  const partner = e.create(Partner, {
    name: data.name ?? unique('Partner'),
    tenantId: data.tenantId ?? unique('tenant'),
    type: data.type ?? PartnerType.DIRECT_BILL,
  });
  await e.flush();
  return partner;
}

export async function aLink(gw: Gateway, reseller: Partner, provider: Partner): Promise<void> {
  const e = em(gw);
  e.create(ResellerLink, { reseller: e.getReference(Partner, reseller.id), provider: e.getReference(Partner, provider.id) });
  await e.flush();
}

/** A token for a user of `partner` with `role`; the user record appears when the token is first used. */
export function aPartnerToken(partner: Partner, role: Role = Role.AGENT, sub = `${role.toLowerCase()}-${partner.id}`): Promise<string> {
  return tokenFor({ sub, name: `${partner.name} ${role}`, partnerId: partner.id, roles: [role] });
}

/** A user record, for entities that need one (confirmedBy, placedBy). */
export async function aUser(gw: Gateway, data: { id?: string; partner?: Partner | null; roles?: Role[] } = {}): Promise<User> {
  const e = em(gw);
  const user = e.create(User, {
    id: data.id ?? unique('user'),
    displayName: 'Test User',
    partner: data.partner ? e.getReference(Partner, data.partner.id) : null,
    roles: data.roles ?? [Role.AGENT],
  });
  await e.flush();
  return user;
}

export interface CustomerFixture {
  country?: string;
  cloud?: CloudInstance;
  companyName?: string;
  domain?: string;
  tenantId?: string;
  /** Billing partners, each optionally with resellers. */
  partners?: { partner: Partner; resellers?: Partner[] }[];
}

export async function aCustomer(gw: Gateway, data: CustomerFixture = {}): Promise<Customer> {
  const e = em(gw);
  const customer = e.create(Customer, {
    tenantId: data.tenantId ?? unique('cust'),
    companyName: data.companyName ?? unique('Company'),
    domain: data.domain ?? `${unique('d')}.example`,
    country: data.country ?? 'US',
    cloud: data.cloud ?? CloudInstance.PUBLIC,
    primaryContact: { firstName: 'Jane', lastName: 'Doe', email: 'jane.doe@example.com', phoneNumber: '+14255550100' },
  });
  for (const { partner, resellers = [] } of data.partners ?? []) {
    const rel = e.create(CustomerRelationship, { customer, partner: e.getReference(Partner, partner.id) });
    for (const r of resellers) rel.resellers.add(e.getReference(Partner, r.id));
  }
  await e.flush();
  return customer;
}

export async function anAgreement(
  gw: Gateway,
  data: Partial<Pick<AgreementTemplate, 'templateId' | 'type' | 'version' | 'versionRank' | 'country' | 'language' | 'effectiveFrom' | 'displayUri'>> = {},
): Promise<AgreementTemplate> {
  const e = em(gw);
  const rank = data.versionRank ?? 1;
  const template = e.create(AgreementTemplate, {
    templateId: data.templateId ?? unique('mca'),
    type: data.type ?? AgreementType.MICROSOFT_CLOUD_AGREEMENT,
    version: data.version ?? `v${rank}`,
    versionRank: rank,
    country: data.country ?? GLOBAL,
    language: data.language ?? 'en-US',
    displayUri: data.displayUri ?? 'https://example.com/mca.pdf',
    effectiveFrom: data.effectiveFrom ?? '2018-11-07',
  });
  await e.flush();
  return template;
}

// --- Blocked orders and their alerts (alerts feature) ---
// Imports beside the factories that use them, so this block only appends.
import type { MikroORM } from '@mikro-orm/postgresql';
import { Order } from '../src/transactions/transaction.entity';
import { BillingCycle, BlockReason, OrderOutcome, SubscriptionStatus, TermDuration, TransactionKind } from '../src/transactions/transaction.enums';
import { Channel } from '../src/acceptance/acceptance.enums';
import { recordBlockedOrderAlert } from '../src/alerts/alert.record';

export interface BlockedOrderFixture {
  customer: Customer;
  /** The billing partner. */
  partner: Partner;
  reseller?: Partner | null;
  reasons?: BlockReason[];
  kind?: TransactionKind;
}

/**
 * BLOCKED orders with their alerts, all in ONE transaction (one commit, one ring),
 * written the way the transactions feature writes them: the order, then
 * `recordBlockedOrderAlert` inside the same `em.transactional`. Answers the alert
 * cursors in order. Takes anything with an ORM, so a test can raise alerts while no
 * gateway is running.
 */
export async function blockedOrders(target: { orm: MikroORM }, orders: BlockedOrderFixture[]): Promise<string[]> {
  const e = target.orm.em.fork() as EntityManager;
  return e.transactional(async (tx) => {
    const placedBy = tx.create(User, { id: unique('placer'), displayName: 'Order Placer', partner: null, roles: [Role.AGENT] });
    const cursors: string[] = [];
    for (const o of orders) {
      const reasons = o.reasons ?? [BlockReason.ACCEPTANCE_NOT_CONFIRMED];
      const order = tx.create(Order, {
        customer: tx.getReference(Customer, o.customer.id),
        partner: tx.getReference(Partner, o.partner.id),
        reseller: o.reseller ? tx.getReference(Partner, o.reseller.id) : null,
        kind: o.kind ?? TransactionKind.NEW_PURCHASE,
        channel: Channel.API,
        outcome: OrderOutcome.BLOCKED,
        blockReasons: reasons,
        requestedAt: new Date(),
        quantity: 1,
        placedBy,
        idempotencyKey: unique('key'),
        idempotencyScope: (o.reseller ?? o.partner).id,
        requestHash: 'test',
      });
      await tx.flush();
      cursors.push(await recordBlockedOrderAlert(tx as EntityManager, order));
    }
    return cursors;
  });
}

/** One BLOCKED order and its alert; answers the alert's cursor. */
export async function aBlockedOrder(target: { orm: MikroORM }, order: BlockedOrderFixture): Promise<string> {
  return (await blockedOrders(target, [order]))[0];
}

// --- Acceptances, subscriptions and orders (acceptance and transactions features) ---
import { Acceptance } from '../src/acceptance/acceptance.entity';
import { AcceptanceStatus } from '../src/acceptance/acceptance.enums';
import { Subscription } from '../src/transactions/transaction.entity';

/** A recorded acceptance of `template` by `partner` for `customer` (ACTIVE unless told). */
export async function anAcceptance(
  gw: Gateway,
  data: { customer: Customer; partner: Partner; template: AgreementTemplate; status?: AcceptanceStatus; dateAgreed?: string; confirmedBy?: User },
): Promise<Acceptance> {
  const e = em(gw);
  const user = data.confirmedBy ?? (await aUser(gw, { partner: data.partner }));
  const acceptance = e.create(Acceptance, {
    customer: e.getReference(Customer, data.customer.id),
    partner: e.getReference(Partner, data.partner.id),
    // AgreementTemplate declares no PrimaryKeyProp, so the ORM cannot type its string key.
    template: e.getReference(AgreementTemplate, data.template.templateId as never) as AgreementTemplate,
    dateAgreed: data.dateAgreed ?? data.template.effectiveFrom,
    contact: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phoneNumber: null },
    confirmedBy: e.getReference(User, user.id),
    status: data.status ?? AcceptanceStatus.ACTIVE,
    withdrawnAt: data.status === AcceptanceStatus.WITHDRAWN ? new Date() : null,
    supersededAt: data.status === AcceptanceStatus.SUPERSEDED ? new Date() : null,
  });
  await e.flush();
  return acceptance;
}

/** An ACTIVE subscription of `customer` billed by `partner`. */
export async function aSubscription(
  gw: Gateway,
  data: {
    customer: Customer;
    partner: Partner;
    reseller?: Partner;
    offerId?: string;
    seats?: number;
    renewsOn?: string;
    /** Business time its term started (its cancellation window and its seats' window): default now. */
    termStartedAt?: Date;
    termDuration?: TermDuration;
    billingCycle?: BillingCycle;
    autoRenew?: boolean;
    status?: SubscriptionStatus;
  },
): Promise<Subscription> {
  const e = em(gw);
  const termStartedAt = data.termStartedAt ?? new Date();
  const seats = data.seats ?? 10;
  const subscription = e.create(Subscription, {
    customer: e.getReference(Customer, data.customer.id),
    partner: e.getReference(Partner, data.partner.id),
    reseller: data.reseller ? e.getReference(Partner, data.reseller.id) : null,
    offerId: data.offerId ?? unique('offer'),
    seats,
    renewsOn: data.renewsOn ?? '2030-01-01',
    termStartedAt,
    seatLots: [{ seats, addedAt: termStartedAt.toISOString() }],
    ...(data.termDuration ? { termDuration: data.termDuration } : {}),
    ...(data.billingCycle ? { billingCycle: data.billingCycle } : {}),
    ...(data.autoRenew !== undefined ? { autoRenew: data.autoRenew } : {}),
    ...(data.status ? { status: data.status } : {}),
  });
  await e.flush();
  return subscription;
}

/** A stored order (COMPLETED unless told), e.g. to make a customer an existing one. */
export async function anOrder(
  gw: Gateway,
  data: { customer: Customer; partner: Partner; outcome?: OrderOutcome; kind?: TransactionKind; requestedAt?: Date },
): Promise<Order> {
  const e = em(gw);
  const user = await aUser(gw, { partner: data.partner });
  const order = e.create(Order, {
    customer: e.getReference(Customer, data.customer.id),
    partner: e.getReference(Partner, data.partner.id),
    kind: data.kind ?? TransactionKind.NEW_PURCHASE,
    channel: Channel.API,
    outcome: data.outcome ?? OrderOutcome.COMPLETED,
    requestedAt: data.requestedAt ?? new Date(Date.now() - 86_400_000),
    offerId: 'offer-earlier',
    quantity: 1,
    placedBy: e.getReference(User, user.id),
    idempotencyKey: unique('key'),
    idempotencyScope: 'fixture',
    requestHash: 'fixture',
  });
  await e.flush();
  return order;
}
