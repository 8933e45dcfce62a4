import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { Partner, ResellerLink, User } from '../partners/partner.entity';
import { PartnerType, Role } from '../auth/roles';
import { Customer, CustomerRelationship } from '../customers/customer.entity';
import { CloudInstance } from '../customers/customer.enums';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { AgreementType, GLOBAL } from '../agreements/agreement.enums';
import { Acceptance } from '../acceptance/acceptance.entity';
import { Channel } from '../acceptance/acceptance.enums';
import { Setting } from '../db/setting.entity';
import { AcceptanceSubmission } from '../acceptance/acceptance.entity';
import { Order, Subscription } from '../transactions/transaction.entity';
import { BillingCycle, BlockReason, OrderOutcome, SubscriptionStatus, TermDuration, TransactionKind } from '../transactions/transaction.enums';
import { termEnd } from '../transactions/windows';
import { AlertService } from '../alerts/alert.service';
import { recordBlockedOrderAlert } from '../alerts/alert.record';
import { enqueueAcceptanceSync } from '../partner-center/outbox';

const SEEDED = 'demo_seeded_at';

/** A demo user: what a token needs. */
export interface DemoUser {
  sub: string;
  name: string;
  roles: Role[];
  partnerId?: string;
  partnerName?: string;
}

export interface DemoSeed {
  seededNow: boolean;
  users: DemoUser[];
}

export const DEMO_PARTNERS = [
  { key: 'direct', name: 'Contoso Cloud Direct', tenantId: 'demo-contoso-direct', type: PartnerType.DIRECT_BILL },
  { key: 'provider', name: 'Northwind Distribution', tenantId: 'demo-northwind-provider', type: PartnerType.INDIRECT_PROVIDER },
  { key: 'reseller', name: 'Fabrikam Solutions', tenantId: 'demo-fabrikam-reseller', type: PartnerType.INDIRECT_RESELLER },
] as const;

const PARTNER_ROLES = [Role.ADMIN, Role.AGENT, Role.VIEWER];

function demoUsers(partners: Map<string, Partner>): DemoUser[] {
  const users: DemoUser[] = [
    { sub: 'demo-platform-admin', name: 'Pat Platform', roles: [Role.PLATFORM_ADMIN] },
    { sub: 'demo-analyst', name: 'Ana Analyst', roles: [Role.ANALYST] },
  ];
  for (const p of DEMO_PARTNERS) {
    const partner = partners.get(p.key)!;
    for (const role of PARTNER_ROLES) {
      users.push({
        sub: `demo-${p.key}-${role.toLowerCase()}`,
        name: `${p.name} ${role.toLowerCase()}`,
        roles: [role],
        partnerId: partner.id,
        partnerName: partner.name,
      });
    }
  }
  return users;
}

/** The demo users, when the demo partners exist in this database (else none). */
export async function findDemoUsers(em: EntityManager): Promise<DemoUser[]> {
  const partners = await em.find(Partner, { tenantId: { $in: DEMO_PARTNERS.map((p) => p.tenantId) } });
  const byKey = new Map<string, Partner>();
  for (const p of DEMO_PARTNERS) {
    const found = partners.find((x) => x.tenantId === p.tenantId);
    if (found) byKey.set(p.key, found);
  }
  return byKey.size === DEMO_PARTNERS.length ? demoUsers(byKey) : [];
}

/** A calendar day `days` from today (UTC), as the Date scalar writes it. */
const dayFromToday = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/**
 * Loads the demo dataset into an empty database, once, in one transaction: a platform
 * admin, one partner of each type with users of each role, a reseller linked to its
 * provider, customers on the public and a national cloud, agreement templates in two
 * versions and two languages; and something for every feature to show: confirmations
 * waiting in the Partner Center sync backlog (no partner is connected), a history of
 * blocked-order alerts (one acknowledged, one open), a reseller's submission pending its
 * provider's review, and a subscription whose renewal the gate would block (a renewal
 * risk). Runs under the start-up lock.
 */
export async function seedDemoData(em: EntityManager, _config: Config): Promise<DemoSeed> {
  const already = await em.findOne(Setting, { key: SEEDED });
  const hasData = (await em.count(Partner)) > 0;
  if (already || hasData) return { seededNow: false, users: await findDemoUsers(em) };
  return em.transactional((tx) => seed(tx as EntityManager));
}

async function seed(em: EntityManager): Promise<DemoSeed> {

  const partners = new Map<string, Partner>();
  for (const p of DEMO_PARTNERS) {
    partners.set(p.key, em.create(Partner, { name: p.name, tenantId: p.tenantId, type: p.type }));
  }
  em.create(ResellerLink, { reseller: partners.get('reseller')!, provider: partners.get('provider')! });

  const users = demoUsers(partners);
  const userRecords = new Map<string, User>();
  for (const u of users) {
    userRecords.set(
      u.sub,
      em.create(User, { id: u.sub, displayName: u.name, roles: u.roles, partner: u.partnerId ? partners.get(DEMO_PARTNERS.find((p) => p.name === u.partnerName)!.key) : null }),
    );
  }

  // Both eras: the 2018 Cloud Agreement, and the Customer Agreement that replaced it (two versions).
  const templates = [
    { templateId: 'cloud-2018-en', type: AgreementType.MICROSOFT_CLOUD_AGREEMENT, version: '2018-11', versionRank: 1, language: 'en-US', effectiveFrom: '2018-11-07' },
    { templateId: 'mca-2019-de', type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, version: '2019-10', versionRank: 1, language: 'de-DE', effectiveFrom: '2019-10-01' },
    { templateId: 'mca-2024-en', type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, version: '2024-06', versionRank: 2, language: 'en-US', effectiveFrom: '2024-06-01' },
    { templateId: 'mca-2024-de', type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, version: '2024-06', versionRank: 2, language: 'de-DE', effectiveFrom: '2024-06-01' },
  ].map((t) =>
    em.create(AgreementTemplate, {
      ...t,
      country: GLOBAL,
      displayUri: `https://example.com/agreements/${t.templateId}.pdf`,
    }),
  );

  const customer = (tenantId: string, companyName: string, domain: string, country: string, cloud: CloudInstance, first: string, last: string) =>
    em.create(Customer, {
      tenantId,
      companyName,
      domain,
      country,
      cloud,
      primaryContact: { firstName: first, lastName: last, email: `${first.toLowerCase()}.${last.toLowerCase()}@${domain}`, phoneNumber: '+14255550100' },
    });
  const adatum = customer('demo-adatum', 'Adatum Corporation', 'adatum.example', 'US', CloudInstance.PUBLIC, 'Jane', 'Doe');
  const litware = customer('demo-litware', 'Litware GmbH', 'litware.example', 'DE', CloudInstance.PUBLIC, 'Max', 'Muster');
  const tailspin = customer('demo-tailspin', 'Tailspin Toys', 'tailspin.example', 'US', CloudInstance.PUBLIC, 'Sam', 'Lee');
  const govAgency = customer('demo-gov', 'Woodgrove Agency', 'woodgrove.example', 'US', CloudInstance.US_GOVERNMENT, 'Ray', 'Gov');
  const fourthCoffee = customer('demo-fourthcoffee', 'Fourth Coffee', 'fourthcoffee.example', 'US', CloudInstance.PUBLIC, 'Kim', 'Ali');
  const wideWorld = customer('demo-wideworld', 'Wide World Importers', 'wideworld.example', 'US', CloudInstance.PUBLIC, 'Lee', 'Chen');
  // Wide World accepted the Customer Agreement itself, in its admin center: that counts for every partner.
  wideWorld.directAcceptanceType = AgreementType.MICROSOFT_CUSTOMER_AGREEMENT;
  wideWorld.directAcceptedOn = '2024-04-15';
  wideWorld.directAcceptanceSource = 'PLATFORM_ADMIN';

  const rel = (c: Customer, partner: Partner, resellers: Partner[] = []) => {
    const r = em.create(CustomerRelationship, { customer: c, partner });
    for (const reseller of resellers) r.resellers.add(reseller);
  };
  rel(adatum, partners.get('direct')!);
  rel(litware, partners.get('provider')!, [partners.get('reseller')!]);
  rel(tailspin, partners.get('direct')!);
  rel(tailspin, partners.get('provider')!, [partners.get('reseller')!]);
  rel(govAgency, partners.get('direct')!);
  rel(fourthCoffee, partners.get('direct')!);
  rel(wideWorld, partners.get('direct')!);

  // Adatum confirmed the current Customer Agreement; Litware an older version in 2022 (before
  // 2023-04-01: re-acceptance required); Fourth Coffee only ever the Cloud Agreement (no longer
  // accepted); Tailspin nothing yet.
  const confirmations = [
    em.create(Acceptance, {
      customer: adatum,
      partner: partners.get('direct')!,
      template: templates[2],
      dateAgreed: '2025-01-15',
      contact: { ...adatum.primaryContact },
      channel: Channel.DASHBOARD,
      confirmedBy: userRecords.get('demo-direct-agent')!,
    }),
    em.create(Acceptance, {
      customer: litware,
      partner: partners.get('provider')!,
      template: templates[1],
      dateAgreed: '2022-03-02',
      contact: { ...litware.primaryContact },
      channel: Channel.API,
      confirmedBy: userRecords.get('demo-provider-agent')!,
    }),
    em.create(Acceptance, {
      customer: fourthCoffee,
      partner: partners.get('direct')!,
      template: templates[0],
      dateAgreed: '2019-05-02',
      contact: { ...fourthCoffee.primaryContact },
      channel: Channel.DASHBOARD,
      confirmedBy: userRecords.get('demo-direct-agent')!,
    }),
  ];

  // Litware's licences renew in 45 days, and its confirmation is of the 2019 version: the
  // gate would block the RENEWAL today (AGREEMENT_VERSION_OUTDATED), so renewalRisks lists it.
  em.create(Subscription, {
    customer: litware,
    partner: partners.get('provider')!,
    reseller: partners.get('reseller')!,
    offerId: 'O365_E3',
    seats: 40,
    renewsOn: dayFromToday(45),
    termStartedAt: new Date(Date.now() - 320 * 86_400_000),
    seatLots: [{ seats: 40, addedAt: new Date(Date.now() - 320 * 86_400_000).toISOString() }],
  });

  // New commerce (DESIGN.md section 12): Fourth Coffee with Contoso, each term and its
  // billing; one bought two days ago (inside its 7-day windows), one a month ago (outside),
  // and one with auto-renew off (ENDING at renewsOn).
  const newCommerce: { offerId: string; term: TermDuration; billing: BillingCycle; daysAgo: number; autoRenew?: boolean }[] = [
    { offerId: 'M365_BP_MONTHLY', term: TermDuration.P1M, billing: BillingCycle.MONTHLY, daysAgo: 2 },
    { offerId: 'M365_E5_ANNUAL', term: TermDuration.P1Y, billing: BillingCycle.ANNUAL, daysAgo: 30 },
    { offerId: 'D365_SALES_TRIENNIAL', term: TermDuration.P3Y, billing: BillingCycle.TRIENNIAL, daysAgo: 100 },
    { offerId: 'TEAMS_ESS_ENDING', term: TermDuration.P1Y, billing: BillingCycle.MONTHLY, daysAgo: 60, autoRenew: false },
  ];
  for (const n of newCommerce) {
    const started = new Date(Date.now() - n.daysAgo * 86_400_000);
    em.create(Subscription, {
      customer: fourthCoffee,
      partner: partners.get('direct')!,
      offerId: n.offerId,
      seats: 5,
      termDuration: n.term,
      billingCycle: n.billing,
      autoRenew: n.autoRenew ?? true,
      status: n.autoRenew === false ? SubscriptionStatus.ENDING : SubscriptionStatus.ACTIVE,
      termStartedAt: started,
      seatLots: [{ seats: 5, addedAt: started.toISOString() }],
      renewsOn: termEnd(started, n.term),
    });
  }

  // Fabrikam handed Tailspin's acceptance to Northwind, which has not reviewed it yet.
  em.create(AcceptanceSubmission, {
    customer: tailspin,
    provider: partners.get('provider')!,
    reseller: partners.get('reseller')!,
    template: templates[2],
    dateAgreed: '2025-09-01',
    contact: { ...tailspin.primaryContact },
    submittedBy: userRecords.get('demo-reseller-agent')!,
  });
  em.create(Setting, { key: SEEDED, value: new Date().toISOString() });
  await em.flush();

  // Every confirmation queues its Partner Center delivery, as a recorded one does: with no
  // partner connected, they wait in the sync backlog (NOT_CONNECTED) until one connects.
  for (const acceptance of confirmations) await enqueueAcceptanceSync(em, acceptance);

  // Two earlier attempts for Tailspin, blocked for want of a confirmation: Contoso's, which
  // its agent acknowledged, and Fabrikam's through Northwind, still open.
  const history = [
    { partner: partners.get('direct')!, reseller: null, kind: TransactionKind.NEW_PURCHASE, quantity: 10, daysAgo: 3, acknowledgedBy: userRecords.get('demo-direct-agent')! },
    { partner: partners.get('provider')!, reseller: partners.get('reseller')!, kind: TransactionKind.NEW_PURCHASE, quantity: 5, daysAgo: 1, acknowledgedBy: null },
  ];
  for (const [i, h] of history.entries()) {
    const order = em.create(Order, {
      customer: tailspin,
      partner: h.partner,
      reseller: h.reseller,
      kind: h.kind,
      channel: Channel.DASHBOARD,
      outcome: OrderOutcome.BLOCKED,
      blockReasons: [BlockReason.ACCEPTANCE_NOT_CONFIRMED],
      requestedAt: new Date(Date.now() - h.daysAgo * 86_400_000),
      offerId: 'O365_E3',
      quantity: h.quantity,
      placedBy: userRecords.get(h.reseller ? 'demo-reseller-agent' : 'demo-direct-agent')!,
      idempotencyKey: `demo-history-${i + 1}`,
      idempotencyScope: (h.reseller ?? h.partner).id,
      requestHash: 'demo',
    });
    await em.flush();
    const alertId = await recordBlockedOrderAlert(em, order);
    if (h.acknowledgedBy) {
      // Acknowledged as the alerts feature does it, by a user of the partner it belongs to.
      const by = { userId: h.acknowledgedBy.id, displayName: h.acknowledgedBy.displayName, roles: [Role.AGENT], partnerId: h.partner.id, partnerType: h.partner.type };
      await new AlertService(em, by).acknowledge(alertId);
    }
  }
  return { seededNow: true, users };
}
