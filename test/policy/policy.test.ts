import { policyRules } from '../../src/policy/policy.queries';
import { startGateway, type TestGateway } from '../support/gateway';
import { DEFAULT_TIMELINE } from './timeline';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({}, undefined, { permissiveToday: false });
});
afterAll(() => gw?.stop());

const decisive = ({ id: _id, createdAt: _at, ...rest }: { id: string; createdAt: Date; [k: string]: unknown }) => rest;

describe('the requirement policy as data (DESIGN.md section 10)', () => {
  it('the default policy is loaded with the schema: the timeline of section 10, oldest first', async () => {
    const rules = await policyRules(gw.orm.em.fork());
    expect(rules.map(({ description: _d, ...r }) => decisive(r))).toEqual(DEFAULT_TIMELINE.map(decisive));
    expect(rules.every((r) => r.description.length > 0)).toBe(true);
  });
});
