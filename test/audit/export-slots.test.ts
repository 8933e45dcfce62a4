import { ExportSlots } from '../../src/audit/export-slots';

describe('ExportSlots', () => {
  it('refuses past the limit per partner, and past the total across partners', () => {
    const slots = new ExportSlots({ total: 4, perPartner: 3 });
    const a = [slots.tryAcquire('a'), slots.tryAcquire('a'), slots.tryAcquire('a')];
    expect(a.every((r) => r !== null)).toBe(true);
    expect(slots.tryAcquire('a')).toBeNull();
    const b = slots.tryAcquire('b');
    expect(b).not.toBeNull();
    expect(slots.tryAcquire('c')).toBeNull();
    expect(slots.active).toBe(4);
    b!();
    expect(slots.tryAcquire('c')).not.toBeNull();
  });

  it('a release counts once, however often it is called', () => {
    const slots = new ExportSlots({ total: 2, perPartner: 1 });
    const release = slots.tryAcquire('a')!;
    release();
    release();
    expect(slots.active).toBe(0);
    expect(slots.tryAcquire('a')).not.toBeNull();
    expect(slots.tryAcquire('a')).toBeNull();
    expect(slots.tryAcquire('b')).not.toBeNull();
    expect(slots.tryAcquire('c')).toBeNull();
  });
});
