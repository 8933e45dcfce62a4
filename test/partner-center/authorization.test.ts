import { aCustomer, anAgreement, aPartnerToken, anAcceptance } from '../factories';
import { analystToken, platformAdminToken, type TestGateway } from '../support/gateway';
import { Role } from '../../src/auth/roles';
import { startPartnerCenterSimulator, type PartnerCenterSimulator } from '../../simulator';
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

export const PARTNER_CENTER_ROOT_FIELDS = CASES.map((c) => c.field);
