import { describe, expect, it } from 'vitest';
import { GiB, MiB } from '../../src/config/units.ts';
import { entitledShortfall, planReclaim } from '../../src/host/reclaim-plan.ts';

const B = 2 * MiB;

describe('entitledShortfall', () => {
  it('is what a VM lacks up to the smaller of its target and its share', () => {
    expect(entitledShortfall({ targetBytes: GiB, shareBytes: GiB, holdsBytes: 256 * MiB, blockBytes: B })).toBe(768 * MiB);
    expect(entitledShortfall({ targetBytes: 512 * MiB, shareBytes: GiB, holdsBytes: 256 * MiB, blockBytes: B })).toBe(256 * MiB);
  });

  it('is zero for growth beyond the share (borrowing displaces nobody) and for a VM at its share', () => {
    expect(entitledShortfall({ targetBytes: 2 * GiB, shareBytes: GiB, holdsBytes: GiB, blockBytes: B })).toBe(0);
    expect(entitledShortfall({ targetBytes: 2 * GiB, shareBytes: GiB, holdsBytes: 1.5 * GiB, blockBytes: B })).toBe(0);
  });

  it('rounds a fractional share down to the block', () => {
    expect(entitledShortfall({ targetBytes: GiB, shareBytes: 100 * MiB + 1, holdsBytes: 0, blockBytes: B })).toBe(100 * MiB);
  });
});

describe('planReclaim', () => {
  it('splits the shortfall in proportion to each borrower\'s excess, block-aligned', () => {
    const plan = planReclaim(300 * MiB, [{ name: 'a', excessBytes: 600 * MiB }, { name: 'b', excessBytes: 300 * MiB }], B);
    expect(plan).toEqual([{ name: 'a', bytes: 200 * MiB }, { name: 'b', bytes: 100 * MiB }]);
  });

  it('asks no borrower for more than its excess, and asks all of it when the shortfall is larger', () => {
    const plan = planReclaim(4 * GiB, [{ name: 'a', excessBytes: 600 * MiB + 1 }, { name: 'b', excessBytes: 300 * MiB }], B);
    expect(plan).toEqual([{ name: 'a', bytes: 600 * MiB }, { name: 'b', bytes: 300 * MiB }]);
  });

  it('rounds up so that rounding never leaves the starved VM short', () => {
    const plan = planReclaim(3 * MiB, [{ name: 'a', excessBytes: GiB }, { name: 'b', excessBytes: GiB }, { name: 'c', excessBytes: GiB }], B);
    expect(plan.reduce((s, a) => s + a.bytes, 0)).toBeGreaterThanOrEqual(3 * MiB);
    for (const a of plan) expect(a.bytes % B).toBe(0);
  });

  it('asks nobody for nothing: no shortfall, or excess under one block', () => {
    expect(planReclaim(0, [{ name: 'a', excessBytes: GiB }], B)).toEqual([]);
    expect(planReclaim(GiB, [{ name: 'a', excessBytes: B - 1 }, { name: 'b', excessBytes: -GiB }], B)).toEqual([]);
  });
});
