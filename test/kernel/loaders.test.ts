import { RequestLoader } from '../../src/kernel/loaders';

/** A loader over `batch` that records the keys each batch asked for. */
function aLoader(options: ConstructorParameters<typeof RequestLoader<string, string>>[1] = {}) {
  const batches: string[][] = [];
  const loader = new RequestLoader<string, string>(async (keys) => {
    batches.push([...keys]);
    return keys.map((k) => `loaded ${k}`);
  }, options);
  return { loader, batches };
}

describe('RequestLoader', () => {
  it('answers a primed value at once, and load answers it without a batch', async () => {
    const { loader, batches } = aLoader();
    loader.prime('a', 'primed a');
    expect(loader.primedOrLoad('a')).toBe('primed a');
    await expect(loader.load('a')).resolves.toBe('primed a');
    await expect(loader.loadMany(['a', 'b'])).resolves.toEqual(['primed a', 'loaded b']);
    expect(batches).toEqual([['b']]);
  });

  it('answers a promise for a key it was not primed with', async () => {
    const { loader } = aLoader();
    const answer = loader.primedOrLoad('a');
    expect(answer).toBeInstanceOf(Promise);
    await expect(answer).resolves.toBe('loaded a');
  });

  it("keeps a key's first value, as DataLoader does", async () => {
    const { loader } = aLoader();
    await loader.load('a');
    loader.prime('a', 'primed a');
    await expect(loader.primedOrLoad('a')).resolves.toBe('loaded a');
    loader.prime('b', 'first b');
    loader.prime('b', 'second b');
    expect(loader.primedOrLoad('b')).toBe('first b');
  });

  it('forgets primed values when cleared', async () => {
    const { loader, batches } = aLoader();
    loader.prime('a', 'primed a').prime('b', 'primed b');
    loader.clear('a');
    await expect(loader.load('a')).resolves.toBe('loaded a');
    loader.clearAll();
    await expect(loader.load('b')).resolves.toBe('loaded b');
    expect(batches).toEqual([['a'], ['b']]);
  });

  it('keys primed values by cacheKeyFn', () => {
    const { loader } = aLoader({ cacheKeyFn: (k) => k.toLowerCase() });
    loader.prime('A', 'primed a');
    expect(loader.primedOrLoad('a')).toBe('primed a');
  });

  it('leaves a primed error to DataLoader: load rejects with it', async () => {
    const { loader } = aLoader();
    loader.prime('a', new Error('gone'));
    await expect(loader.load('a')).rejects.toThrow('gone');
  });
});
