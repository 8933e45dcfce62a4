import type { Services } from '../../src/kernel/context';
import { entitiesOf, RunningFeatures, RuntimeSlot, type Feature } from '../../src/kernel/feature';
import { features, resolvers } from '../../src/features';
import { Contact } from '../../src/common/contact';

/** Only the identity of the services matters to the lifecycle: they key the runtime slots. */
const aGateway = () => ({}) as Services;

/** A feature that records its start and stop in `log` and keeps `{ name }` as its runtime. */
function aFeature(name: string, log: string[], fail = false): Feature<{ name: string }> {
  return {
    name,
    runtime: new RuntimeSlot(name),
    async start() {
      if (fail) throw new Error(`${name} failed to start`);
      log.push(`start ${name}`);
      return { name };
    },
    async stop(runtime) {
      log.push(`stop ${runtime.name}`);
    },
  };
}

describe('feature lifecycle (src/kernel/feature.ts)', () => {
  it('starts features in list order and stops them in reverse, each runtime found in its slot meanwhile', async () => {
    const log: string[] = [];
    const [a, b] = [aFeature('a', log), aFeature('b', log)];
    const services = aGateway();
    const running = new RunningFeatures(services);
    await running.start([a, b]);
    expect(a.runtime!.of(services)).toEqual({ name: 'a' });
    expect(b.runtime!.of(services)).toEqual({ name: 'b' });
    await running.stop();
    expect(log).toEqual(['start a', 'start b', 'stop b', 'stop a']);
    expect(a.runtime!.find(services)).toBeUndefined();
    expect(() => b.runtime!.of(services)).toThrow('the b feature is not started');
  });

  it('after a failed start, stop stops only what had started', async () => {
    const log: string[] = [];
    const running = new RunningFeatures(aGateway());
    await expect(running.start([aFeature('a', log), aFeature('b', log, true), aFeature('c', log)])).rejects.toThrow('b failed to start');
    await running.stop();
    expect(log).toEqual(['start a', 'stop a']);
  });

  it('keeps one runtime per gateway', async () => {
    const feature = aFeature('a', []);
    const [one, two] = [aGateway(), aGateway()];
    await new RunningFeatures(one).start([feature]);
    expect(feature.runtime!.find(one)).toEqual({ name: 'a' });
    expect(feature.runtime!.find(two)).toBeUndefined();
  });

  it('lists an entity that several features declare once', () => {
    const withContact = (name: string): Feature => ({ name, entities: [Contact] });
    expect(entitiesOf([withContact('customers'), withContact('acceptance')])).toEqual([Contact]);
  });
});

describe("the gateway's features (src/features.ts)", () => {
  // Whether they list every entity and resolver, the migrations and schema tests tell.
  it('have distinct names and list no resolver twice', () => {
    expect(new Set(features.map((f) => f.name)).size).toBe(features.length);
    expect(new Set(resolvers).size).toBe(resolvers.length);
  });

  it('start renewals after alerts, whose hub they attach to', () => {
    const names = features.map((f) => f.name);
    expect(names.indexOf('renewals')).toBeGreaterThan(names.indexOf('alerts'));
  });
});
