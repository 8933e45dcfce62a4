import { aCustomer, anAgreement, aPartnerToken, anAcceptance } from '../factories';
import { analystToken, platformAdminToken, type TestGateway } from '../support/gateway';
import { Role } from '../../src/auth/roles';
import { startPartnerCenterSimulator, type PartnerCenterSimulator } from '../../simulator';
import { raiseConnectionAlert } from '../../src/partner-center/connection-alert';
import { connect, disposeAll, subscribe } from '../alerts/ws';
import { aConnectedPartner, startPcGateway, type ConnectedPartner } from './support';

/** Every Partner Center root field by caller (the schema-wide matrix in test/auth lists these here). */

let fake: PartnerCenterSimulator;
let gw: TestGateway;
let p: ConnectedPartner;
let foreign: ConnectedPartner;
let acceptanceId: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  fake = await startPartnerCenterSimulator();
  gw = await startPcGateway(fake);
  p = await aConnectedPartner(gw, fake);
  foreign = await aConnectedPartner(gw, fake);
  const template = await anAgreement(gw, { effectiveFrom: '2020-01-01' });
  const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
  acceptanceId = (await anAcceptance(gw, { customer, partner: p.partner, template })).id;
  Object.assign(tokens, {
    admin: await platformAdminToken(),
    analyst: await analystToken(),
    ADMIN: p.admin,
    AGENT: p.agent,
    VIEWER: await aPartnerToken(p.partner, Role.VIEWER),
    foreign: foreign.admin,
  });
});
afterAll(async () => {
  await disposeAll();
  await gw?.stop();
  await fake?.close();
});

const outcome = (res: { data?: any; errors?: any[] }, field: string) => res.errors?.[0]?.extensions?.code ?? (res.data?.[field] === null ? 'null' : 'ok');

const CASES: { field: string; query: string; variables: () => Record<string, unknown>; expected: Record<string, string> }[] = [
  {
    field: 'partnerCenterConnection',
    query: 'query ($partnerId: ID) { partnerCenterConnection(partnerId: $partnerId) { status } }',
    variables: () => ({ partnerId: p.partner.id }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'ok', AGENT: 'FORBIDDEN', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  {
    field: 'acceptanceSyncs',
    query: 'query ($partnerId: ID) { acceptanceSyncs(partnerId: $partnerId) { totalCount } }',
    variables: () => ({ partnerId: p.partner.id }),
    expected: { admin: 'ok', analyst: 'ok', ADMIN: 'ok', AGENT: 'ok', VIEWER: 'ok', foreign: 'NOT_FOUND' },
  },
  {
    field: 'importAgreementTemplates',
    query: 'mutation ($partnerId: ID!) { importAgreementTemplates(partnerId: $partnerId) { imported } }',
    variables: () => ({ partnerId: p.partner.id }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'FORBIDDEN', AGENT: 'FORBIDDEN', VIEWER: 'FORBIDDEN', foreign: 'FORBIDDEN' },
  },
  {
    field: 'retryAcceptanceSync',
    query: 'mutation ($id: ID!) { retryAcceptanceSync(acceptanceId: $id) { acceptance { id } } }',
    variables: () => ({ id: acceptanceId }),
    // Not FAILED: writers of the partner get CONFLICT, which proves they passed authorization and tenancy.
    expected: { admin: 'CONFLICT', analyst: 'FORBIDDEN', ADMIN: 'CONFLICT', AGENT: 'CONFLICT', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  {
    field: 'connectPartnerCenter',
    query: 'mutation ($input: ConnectPartnerCenterInput!) { connectPartnerCenter(input: $input) { connection { status } } }',
    variables: () => ({ input: { ...p.creds, partnerId: p.partner.id } }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'ok', AGENT: 'FORBIDDEN', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
  {
    field: 'disconnectPartnerCenter',
    query: 'mutation ($partnerId: ID) { disconnectPartnerCenter(partnerId: $partnerId) { connection { status } } }',
    variables: () => ({ partnerId: p.partner.id }),
    expected: { admin: 'ok', analyst: 'FORBIDDEN', ADMIN: 'ok', AGENT: 'FORBIDDEN', VIEWER: 'FORBIDDEN', foreign: 'NOT_FOUND' },
  },
];

describe('Partner Center authorization matrix', () => {
  test.each(CASES.map((c) => [c.field, c] as const))('%s', async (_field, c) => {
    const got: Record<string, string> = {};
    for (const caller of Object.keys(c.expected)) got[caller] = outcome(await gw.gql(c.query, c.variables(), tokens[caller]), c.field);
    expect(got).toEqual(c.expected);
    expect(outcome(await gw.gql(c.query, c.variables()), c.field)).toBe('UNAUTHENTICATED');
  });
});

describe('partnerCenterConnectionAlerts (over graphql-ws)', () => {
  const ON_ALERT = `subscription A($partnerId: ID, $after: String) { partnerCenterConnectionAlerts(partnerId: $partnerId, after: $after) { partner { id } code } }`;
  const raise = (partnerId: string, code: string) => gw.orm.em.fork().transactional((tx) => raiseConnectionAlert(tx as any, partnerId, code, 'test alert'));

  test("the partner's ADMIN and platform admins receive them; analysts, AGENTs and VIEWERs are FORBIDDEN; another partner's admin receives only its own, even naming this partner", async () => {
    await raise(p.partner.id, 'AADSTS700082');
    await raise(foreign.partner.id, 'AADSTS50173');
    const got = (token: string, variables: Record<string, unknown> = {}) => subscribe(connect(gw, token).client, ON_ALERT, { after: '0', ...variables }, (d) => d.partnerCenterConnectionAlerts);
    const own = await got(tokens.ADMIN).until((r) => r.length >= 1);
    expect(own[0]).toEqual({ partner: { id: p.partner.id }, code: 'AADSTS700082' });
    const all = await got(tokens.admin).until((r) => r.length >= 2);
    expect(all.map((a) => a.partner.id)).toEqual([p.partner.id, foreign.partner.id]);
    // Alerts arrive in cursor order: had p's alert reached them, it would come first.
    const other = await got(tokens.foreign).until((r) => r.length >= 1);
    expect(other[0].partner.id).toBe(foreign.partner.id);
    const refusal = async (token: string | null) => {
      const sub = subscribe(connect(gw, token).client, ON_ALERT, { after: '0' }, (d) => d.partnerCenterConnectionAlerts);
      const ended = await sub.ended;
      return JSON.stringify([ended, sub.errors]);
    };
    for (const caller of ['analyst', 'AGENT', 'VIEWER']) expect(await refusal(tokens[caller])).toContain('FORBIDDEN');
    // Without a token the socket itself is refused: the subscription ends in an error, nothing received.
    const anonymous = subscribe(connect(gw, null).client, ON_ALERT, { after: '0' }, (d) => d.partnerCenterConnectionAlerts);
    expect(await anonymous.ended).not.toBeNull();
    expect(anonymous.received).toEqual([]);
  });
});

export const PARTNER_CENTER_ROOT_FIELDS = CASES.map((c) => c.field);
