import { randomUUID } from 'node:crypto';
import { CLOUD_TEMPLATE_ID } from '../../simulator';
import { aConfirmation, anApp, anAttestationRequest, appOnlyToken, appUserToken, call, useSimulator } from './support';

/** sim.reset() between tests: a clean upstream, with the partner's connection kept. */
const sim = useSimulator();

describe('sim.reset()', () => {
  it('forgets requests, records, attestations, flags, request ids, switches, templates and the clock; keeps apps and their tokens', async () => {
    const app = anApp(sim());
    const user = await appUserToken(sim(), app);
    const only = await appOnlyToken(sim(), app);
    const customer = randomUUID();
    const requestId = randomUUID();
    const body = aConfirmation(sim());
    await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, user, body, { 'MS-RequestId': requestId });
    await call(sim(), 'POST', '/v1/attestations/enhanced', only, anAttestationRequest());
    sim().setDirectSigned(customer, true);
    sim().templates = [];
    sim().misbehave({ legacyRetired: true, throttle: { limit: 100, windowMs: 1000 } });
    sim().advance(60_000);

    sim().reset();

    expect(sim().requests).toEqual([]);
    expect(sim().agreementsOf(customer)).toEqual([]);
    expect(sim().attestations).toEqual([]);
    expect(sim().misbehaviour).toEqual({});
    expect(Math.abs(sim().now() - Date.now())).toBeLessThan(60_000);
    expect(sim().templates.map((t) => t.templateId)).toContain(CLOUD_TEMPLATE_ID);
    expect((await call(sim(), 'GET', `/v1/customers/${customer}/directSignedMicrosoftCustomerAgreementStatus`, user)).body).toEqual({ isSigned: false });
    // The same request id is new again: the agreement is created anew.
    expect((await call(sim(), 'POST', `/v1/customers/${customer}/agreements`, user, body, { 'MS-RequestId': requestId })).status).toBe(201);
    expect(sim().agreementsOf(customer)).toHaveLength(1);
    expect(await appUserToken(sim(), app)).toEqual(expect.any(String));
  });
});
