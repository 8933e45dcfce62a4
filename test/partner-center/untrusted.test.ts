import { aCustomer, anAgreement } from '../factories';
import { analystToken, type TestGateway } from '../support/gateway';
import { redact } from '../../src/partner-center/credentials';
import { upstreamMessage } from '../../src/partner-center/sync.rules';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { ACCEPTANCE_AUDIT } from '../audit/fixture';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { MCA_TEMPLATE_ID, startPartnerCenterSimulator, type PartnerCenterSimulator } from '../../simulator';
import { aConnectedPartner, CONFIRM, CONNECT, eventually, startPcGateway, SYNC_OF } from './support';

/**
 * Upstream error text is untrusted (issue 16): what Partner Center or the token endpoint
 * quote back keeps its status and code and the gateway's words, with contact values
 * masked and secrets redacted in every form an echo takes.
 */

const SECRET = 'S3cr3t+/=key "quoted" & spaced\\ü';

describe('redact', () => {
  test.each([
    ['raw', SECRET],
    ['URL-encoded', encodeURIComponent(SECRET)],
    ['form-encoded', new URLSearchParams({ client_secret: SECRET }).toString().slice('client_secret='.length)],
    ['URL-encoded in lower case', encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())],
    ['JSON-escaped', JSON.stringify(SECRET).slice(1, -1)],
    ['JSON-escaped as ASCII', JSON.stringify(SECRET).slice(1, -1).replace('ü', '\\u00fc')],
  ])('removes a secret echoed %s', (_form, echoed) => {
    const out = redact(`invalid_client: received client_secret=${echoed}; try again`, [SECRET]);
    expect(out).toBe('invalid_client: received client_secret=[redacted]; try again');
  });
});

describe('upstreamMessage', () => {
  const contact = { firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', phoneNumber: '+14255550123' };

  test('masks the contact it sent in every form, and any other e-mail address or international number, keeping status, code and the rest', () => {
    const said = `Contact Grace Hopper <grace@example.com> (grace%40example.com, +14255550123, %2B14255550123) conflicts with ada@example.org, +44 20 7946 0958`;
    const message = upstreamMessage(400, { code: 2001, description: said }, '', { contact });
    expect(message).toBe('Partner Center answered 400 (code 2001): Contact G*** H*** <g***@example.com> (g***@example.com, **********23, **********23) conflicts with a***@example.org, **************58');
  });

  test('names are masked as whole words only', () => {
    expect(upstreamMessage(400, { description: 'Gracefully refused for Grace' }, '', { contact })).toBe('Partner Center answered 400: Gracefully refused for G***');
  });

  test('redacts secrets before cutting the text short, so no part of one survives the cut', () => {
    const token = 'at-0123456789abcdef0123456789abcdef';
    const message = upstreamMessage(500, null, `${'x'.repeat(490)}${token}`, { secrets: [token] });
    expect(message).not.toContain('at-0123');
    expect(message).toContain('[redact');
  });

  test('a code that is not a code (free text) is left out', () => {
    expect(upstreamMessage(400, { code: 'grace@example.com says no', description: 'Refused' }, '', { contact })).toBe('Partner Center answered 400: Refused');
    expect(upstreamMessage(400, { code: 'PartnerConfirmedAgreementAlreadyExists', description: 'Refused' }, '')).toBe('Partner Center answered 400 (code PartnerConfirmedAgreementAlreadyExists): Refused');
  });
});

describe('through the gateway', () => {
  let fake: PartnerCenterSimulator;
  let gw: TestGateway;
  let template: AgreementTemplate;
  beforeAll(async () => {
    fake = await startPartnerCenterSimulator();
    // A careless upstream: every error quotes the request it answers (body and Authorization).
    fake.misbehave({ echoInErrors: true });
    gw = await startPcGateway(fake);
    template = await anAgreement(gw, { templateId: MCA_TEMPLATE_ID, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, effectiveFrom: '2019-10-01' });
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  test("an upstream error quoting the contact reaches sync.lastError, the audit note and the export with the contact masked", async () => {
    const p = await aConnectedPartner(gw, fake);
    const customer = await aCustomer(gw, { partners: [{ partner: p.partner }] });
    const contact = { firstName: 'Katherine', lastName: 'Johnson', email: 'katherine.johnson@example.com', phoneNumber: '+14255550188' };
    // A documented business error (600071, the legacy endpoint retired), quoting the body it was sent.
    fake.misbehave({ legacyRetired: true });
    const res = await gw.gql(CONFIRM, { input: { customerId: customer.id, templateId: template.templateId, dateAgreed: '2024-05-01', contact } }, p.agent);
    expect(res.errors).toBeUndefined();
    const sync = await eventually(async () => (await gw.gql(SYNC_OF, { id: customer.id }, p.agent)).data.customer.acceptanceHistory[0].sync, (s) => s.status === 'FAILED');
    fake.misbehave({ legacyRetired: false });
    expect(sync.lastError).toMatch(/^Partner Center answered 400 \(code 600071\): Legacy attestation is retired/);
    expect(sync.lastError).toContain('"primaryContact":{"firstName":"K***","lastName":"J***","email":"k***@example.com","phoneNumber":"**********88"}');
    // The access token it quoted is redacted.
    expect(sync.lastError).toContain('Bearer [redacted]');
    const tokens = fake.requests.map((r) => r.headers.authorization?.replace(/^Bearer /, '')).filter((t): t is string => !!t);
    for (const token of tokens) expect(sync.lastError).not.toContain(token);

    const analyst = await analystToken();
    const seenByAnalyst = (await gw.gql(SYNC_OF, { id: customer.id }, analyst)).data.customer.acceptanceHistory[0].sync.lastError;
    const trail = (await gw.gql(ACCEPTANCE_AUDIT, { customerId: customer.id, partnerId: p.partner.id }, analyst)).data.customer.auditTrail;
    const note = trail.find((e: { event: string }) => e.event === 'SYNC_FAILED')?.note;
    const exported = await (
      await fetch(`${gw.url.replace(/\/graphql$/, '')}/exports/acceptances?${new URLSearchParams({ partnerId: p.partner.id, format: 'jsonl' })}`, {
        headers: { authorization: `Bearer ${analyst}` },
      })
    ).text();
    expect(note).toBe(sync.lastError);
    expect(exported).toContain('SYNC_FAILED');
    expect(exported).toContain('k***@example.com');
    for (const text of [seenByAnalyst, note, exported]) {
      for (const value of Object.values(contact)) expect(text).not.toContain(value);
    }
  });

  test('a token endpoint that echoes the form it was sent leaves the client secret in no form in the error, the connection or the logs', async () => {
    const p = await aConnectedPartner(gw, fake, { connect: false });
    const creds = { ...p.creds, clientSecret: `${p.creds.clientSecret}+x/y=z &q` };
    // The simulator's token endpoint quotes the form it received (echoInErrors).
    const refused = await gw.gql(CONNECT, { input: creds }, p.admin);
    expect(refused.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const message = refused.errors![0].message;
    expect(message).toContain('401');
    expect(message).toContain('[invalid_client]');
    for (const form of [creds.clientSecret, encodeURIComponent(creds.clientSecret), new URLSearchParams({ s: creds.clientSecret }).toString().slice(2)]) {
      expect(message).not.toContain(form);
    }
    expect(message).not.toMatch(/SECRET-\d+-/);
    expect(message).not.toMatch(/REFRESH-\d+-/);
    const exchanges = JSON.stringify(await gw.orm.em.fork().getConnection().execute('select * from partner_center_exchanges where partner_id = ?', [p.partner.id]));
    expect(exchanges).toContain('"outcome":"failed"');
    expect(exchanges).not.toMatch(/SECRET-\d+-|REFRESH-\d+-/);
  });
});
