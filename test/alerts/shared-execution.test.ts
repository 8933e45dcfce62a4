import { buildSchema, parse } from 'graphql';
import { sharedSubscribe } from '../../src/server/shared-execution';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Viewer } from '../../src/auth/viewer';

/**
 * A shared event (the hub hands one alert object to every entitled subscriber) is
 * executed once per kind of subscriber: same document, variables, roles and partner.
 * Subscribers of another kind get their own execution, so tenancy and masking, which
 * read the viewer, still answer per kind.
 */
const schema = buildSchema(`
  type Alert { id: ID! seenBy: String! }
  type Query { ok: Boolean }
  type Subscription { alerts: Alert! }
`);
const document = parse('subscription { alerts { id seenBy } }');

function subscriber(viewer: Viewer, events: object[], executions: string[]) {
  const rootValue = {
    alerts: async function* () {
      for (const e of events) yield e;
    },
  };
  // Field resolvers record each execution and read the viewer, as masking does.
  const Alert = (e: { id: string }) => ({ id: e.id, seenBy: () => (executions.push(viewer.userId), viewer.roles.join(',')) });
  return sharedSubscribe({
    schema,
    document,
    rootValue,
    contextValue: { viewer },
    fieldResolver: (source, _args, _ctx, info) => {
      if (info.fieldName === 'alerts') return Alert(source.alerts ?? source);
      const value = (source as Record<string, unknown>)[info.fieldName];
      return typeof value === 'function' ? (value as () => unknown)() : value;
    },
    subscribeFieldResolver: (root: typeof rootValue) => root.alerts(),
  });
}

async function drain(result: Awaited<ReturnType<typeof sharedSubscribe>>) {
  const out: unknown[] = [];
  for await (const r of result as AsyncIterable<unknown>) out.push(r);
  return out;
}

const admin = (userId: string, partnerId: string): Viewer => ({ userId, displayName: userId, roles: [Role.ADMIN], partnerId, partnerType: PartnerType.DIRECT_BILL });
const analyst = (userId: string): Viewer => ({ userId, displayName: userId, roles: [Role.ANALYST] });

describe('subscription events shared by every entitled subscriber', () => {
  it('are executed once per kind of subscriber, and each kind gets its own answer', async () => {
    const events = [{ id: '1' }, { id: '2' }];
    const executions: string[] = [];
    const [a, b, c, d] = await Promise.all([
      subscriber(admin('u1', 'p1'), events, executions).then(drain),
      subscriber(admin('u2', 'p1'), events, executions).then(drain),
      subscriber(admin('u3', 'p2'), events, executions).then(drain),
      subscriber(analyst('u4'), events, executions).then(drain),
    ]);
    // Two events × three kinds (p1 admins, p2 admin, analyst); u2 shared u1's executions.
    expect(executions.sort()).toEqual(['u1', 'u1', 'u3', 'u3', 'u4', 'u4']);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(d).toEqual([{ data: { alerts: { id: '1', seenBy: 'ANALYST' } } }, { data: { alerts: { id: '2', seenBy: 'ANALYST' } } }]);
  });

  it('that are not the same object (a catch-up page read per subscriber) are executed per subscriber', async () => {
    const executions: string[] = [];
    await Promise.all([subscriber(admin('u1', 'p1'), [{ id: '1' }], executions).then(drain), subscriber(admin('u2', 'p1'), [{ id: '1' }], executions).then(drain)]);
    expect(executions.sort()).toEqual(['u1', 'u2']);
  });
});
