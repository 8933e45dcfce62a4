import { policyRules } from '../../src/policy/policy.queries';
import { startGateway, type TestGateway } from '../support/gateway';
import { DEFAULT_TIMELINE } from './timeline';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({}, undefined, { foundingRules: false });
});
afterAll(() => gw?.stop());

import type { PolicyRule } from '../../src/policy/policy.rules';

/** What decides, without the generated id, the time added and the description. */
const decisive = (r: PolicyRule) => ({
  effectiveFrom: r.effectiveFrom,
  channel: r.channel,
  acceptedTypes: r.acceptedTypes,
  minimumDateAgreed: r.minimumDateAgreed,
  minimumAppliesTo: r.minimumAppliesTo,
  attestationRequired: r.attestationRequired,
});

describe('the requirement policy as data (DESIGN.md section 10)', () => {
  it('the default policy is loaded with the schema: the timeline of section 10, oldest first', async () => {
    const rules = await policyRules(gw.orm.em.fork());
    expect(rules.map(decisive)).toEqual(DEFAULT_TIMELINE.map(decisive));
    expect(rules.every((r) => r.description.length > 0)).toBe(true);
  });
});
