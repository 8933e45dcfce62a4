import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { aCustomer, anAcceptance, anAgreement, aPartner, aPartnerToken, aUser } from '../factories';
import { startGateway, type TestGateway, requestStatements as statementsOf } from '../support/gateway';
import { PartnerType } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import { Customer } from '../../src/customers/customer.entity';
import { Partner as PartnerEntity, User } from '../../src/partners/partner.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { Order } from '../../src/transactions/transaction.entity';
import { BlockReason, OrderOutcome, TransactionKind } from '../../src/transactions/transaction.enums';
import { Channel } from '../../src/acceptance/acceptance.enums';
import { recordBlockedOrderAlert } from '../../src/alerts/alert.record';
import { ATTEMPT } from '../acceptance/ops';

const CONFIRM_ID = `mutation ($input: ConfirmCustomerAcceptanceInput!) { confirmCustomerAcceptance(input: $input) { acceptance { id } } }`;
const SIGNER = { firstName: 'Ada', lastName: 'Signer', email: 'ada.signer@example.com' };

/** How an order is written: its round trips, and the alert cursor's order under concurrency. */

let gw: TestGateway;
let direct: Partner;
let mca: AgreementTemplate;

beforeAll(async () => {
  gw = await startGateway();
  direct = await aPartner(gw, { type: PartnerType.DIRECT_BILL });
  mca = await anAgreement(gw, { versionRank: 1, effectiveFrom: '2019-01-01' });
});
afterAll(() => gw?.stop());

const purchase = (customer: Customer, idempotencyKey = randomUUID()) => ({
  input: { customerId: customer.id, kind: 'NEW_PURCHASE', offerId: 'o', quantity: 3, idempotencyKey },
});

const requestStatements = (work: () => Promise<unknown>) => statementsOf(gw, work);

describe('ids of written rows', () => {
  it('orders, their subscriptions and acceptances get time-ordered ids: each written after another sorts after it', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    const token = await aPartnerToken(direct);
    const acceptance = await gw.gql(CONFIRM_ID, { input: { customerId: customer.id, templateId: mca.templateId, dateAgreed: '2024-05-01', contact: SIGNER } }, token);
    const first = (await gw.gql(ATTEMPT, purchase(customer), token)).data.attemptTransaction.order;
    const second = (await gw.gql(ATTEMPT, purchase(customer), token)).data.attemptTransaction.order;
    const ids = [acceptance.data.confirmCustomerAcceptance.acceptance.id, first.id, first.subscription.id, second.id, second.subscription.id];
    // Version 7 (RFC 9562): the first 48 bits are the creation time in milliseconds.
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first.id < second.id && first.subscription.id < second.subscription.id && ids[0] < first.id).toBe(true);
  });
});

describe('round trips of an order', () => {
  it('a completed NEW_PURCHASE, answered with its customer, partner and subscription, costs one statement to read and one to write', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    await anAcceptance(gw, { customer, partner: direct, template: mca });
    const token = await aPartnerToken(direct);
    await gw.gql(ATTEMPT, purchase(customer), token); // the viewer is known from here on
    let res: any;
    const statements = await requestStatements(async () => {
      res = await gw.gql(ATTEMPT, purchase(customer), token);
    });
    expect(res.data.attemptTransaction.order).toMatchObject({
      outcome: 'COMPLETED',
      customer: { id: customer.id },
      partner: { id: direct.id },
      subscription: { id: expect.any(String), seats: 3, status: 'ACTIVE' },
    });
    expect(statements).toBe(2);
  });

  it('a blocked order and its alert cost one statement to read and one to write; its replay one to read', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    const token = await aPartnerToken(direct);
    await gw.gql(ATTEMPT, purchase(customer), token);
    const key = randomUUID();
    let first: any;
    const placing = await requestStatements(async () => {
      first = await gw.gql(ATTEMPT, purchase(customer, key), token);
    });
    expect(first.data.attemptTransaction.alert).toEqual({ id: expect.any(String), cursor: expect.any(String) });
    expect(placing).toBe(2);
    let again: any;
    const replaying = await requestStatements(async () => {
      again = await gw.gql(ATTEMPT, purchase(customer, key), token);
    });
    expect(again.data).toEqual(first.data);
    expect(replaying).toBe(1);
  });
});

describe('the answer of an attempt', () => {
  const WIDE = `mutation ($input: TransactionInput!) {
    attemptTransaction(input: $input) {
      order { id outcome customer { id companyName country cloud } partner { id name type } reseller { id }
              subscription { id offerId seats status renewsOn } }
      alert { id cursor reasons customer { id companyName } partner { id name } }
    }
  }`;

  it('names the customer, partner and subscription as stored, for a completed order and a blocked one', async () => {
    const bought = await aCustomer(gw, { partners: [{ partner: direct }] });
    await anAcceptance(gw, { customer: bought, partner: direct, template: mca });
    const blocked = await aCustomer(gw, { partners: [{ partner: direct }] });
    const token = await aPartnerToken(direct);
    const done = (await gw.gql(WIDE, purchase(bought), token)).data.attemptTransaction;
    const stored = await gw.orm.em.getConnection().execute<{ offer_id: string; seats: number; renews_on: string }[]>(
      "select offer_id, seats, to_char(renews_on, 'YYYY-MM-DD') as renews_on from subscriptions where id = ?",
      [done.order.subscription.id],
    );
    expect(done.order).toMatchObject({
      outcome: 'COMPLETED',
      customer: { id: bought.id, companyName: bought.companyName, country: bought.country, cloud: 'PUBLIC' },
      partner: { id: direct.id, name: direct.name, type: 'DIRECT_BILL' },
      reseller: null,
      subscription: { offerId: stored[0].offer_id, seats: stored[0].seats, status: 'ACTIVE', renewsOn: stored[0].renews_on },
    });
    const stopped = (await gw.gql(WIDE, purchase(blocked), token)).data.attemptTransaction;
    expect(stopped.order).toMatchObject({ outcome: 'BLOCKED', customer: { id: blocked.id, companyName: blocked.companyName }, subscription: null });
    expect(stopped.alert).toEqual({
      id: stopped.alert.cursor,
      cursor: expect.any(String),
      reasons: ['ACCEPTANCE_NOT_CONFIRMED'],
      customer: { id: blocked.id, companyName: blocked.companyName },
      partner: { id: direct.id, name: direct.name },
    });
  });
});

describe('alert cursors follow commit order', () => {
  /** Waits until a session of this database waits for an advisory lock. */
  async function someoneWaitsForAnAdvisoryLock(): Promise<void> {
    for (let i = 0; i < 400; i++) {
      const [row] = await gw.orm.em.getConnection().execute<{ n: string }[]>(
        `select count(*) as n from pg_locks where locktype = 'advisory' and not granted
            and database = (select oid from pg_database where datname = current_database())`,
      );
      if (Number(row.n) > 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('no session ever waited for the alert lock');
  }

  it('a blocked order placed while another transaction holds the alert lock waits, and draws its cursor after every cursor that transaction drew', async () => {
    const customer = await aCustomer(gw, { partners: [{ partner: direct }] });
    const other = await aCustomer(gw, { partners: [{ partner: direct }] });
    const placer = await aUser(gw, { partner: direct });
    const token = await aPartnerToken(direct);
    await gw.gql(ATTEMPT, purchase(customer), token); // the viewer is known from here on
    let attempt!: Promise<any>;
    const blockedOrder = (tx: EntityManager) =>
      tx.create(Order, {
        customer: tx.getReference(Customer, other.id),
        partner: tx.getReference(PartnerEntity, direct.id),
        kind: TransactionKind.NEW_PURCHASE,
        channel: Channel.API,
        outcome: OrderOutcome.BLOCKED,
        blockReasons: [BlockReason.ACCEPTANCE_NOT_CONFIRMED],
        requestedAt: new Date(),
        quantity: 1,
        placedBy: tx.getReference(User, placer.id),
        idempotencyKey: randomUUID(),
        idempotencyScope: direct.id,
        requestHash: 'test',
      });
    const cursors = await (gw.orm.em.fork() as EntityManager).transactional(async (t) => {
      const tx = t as EntityManager;
      const one = blockedOrder(tx);
      await tx.flush();
      const before = await recordBlockedOrderAlert(tx, one); // takes the alert lock until this commits
      attempt = gw.gql(ATTEMPT, purchase(customer), token);
      await someoneWaitsForAnAdvisoryLock();
      // Drawn while the attempt waits: a cursor taken before the lock would be smaller than this one.
      const two = blockedOrder(tx);
      await tx.flush();
      const after = await recordBlockedOrderAlert(tx, two);
      return [before, after];
    });
    const res = await attempt;
    const cursor = BigInt(res.data.attemptTransaction.alert.cursor);
    expect(cursor > BigInt(cursors[1])).toBe(true);
    expect(BigInt(cursors[1]) > BigInt(cursors[0])).toBe(true);
  });
});
