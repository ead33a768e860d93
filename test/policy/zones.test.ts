import { describe, expect, it } from 'vitest';
import { PolicySchema } from '../../src/config/schema.ts';
import { parseZoneinfo } from '../../src/io/zoneinfo.ts';
import { kernelZoneFloorBytes, splitGrowth } from '../../src/policy/zones.ts';

const MiB = 2 ** 20;
const policy = PolicySchema.parse({});

describe('zone split of new memory', () => {
  it('keeps the kernel zones\' floor: room for the memmap of two of the largest grows', () => {
    expect(kernelZoneFloorBytes(policy)).toBe(64 * MiB); // 2 x 2 GiB x 1.5625 %
  });

  it('goes MOVABLE within the ratio when the kernel zones have their floor', () => {
    const z = { kernelFreeBytes: 300 * MiB, kernelManagedBytes: 1024 * MiB, movableManagedBytes: 0 };
    expect(splitGrowth(512 * MiB, 2 * MiB, z, 301, 64 * MiB)).toEqual({ kernelBytes: 0, movableBytes: 512 * MiB });
    // Past ratio x kernel-zone memory, the rest goes to the kernel zone, as the kernel's auto-movable does.
    const full = { ...z, movableManagedBytes: 3000 * MiB };
    const split = splitGrowth(512 * MiB, 2 * MiB, full, 301, 64 * MiB);
    expect(split.movableBytes).toBe(82 * MiB);
    expect(split.kernelBytes).toBe(430 * MiB);
  });

  it('gives the kernel zones back their floor first when anonymous pages filled them', () => {
    const z = { kernelFreeBytes: 10 * MiB, kernelManagedBytes: 1024 * MiB, movableManagedBytes: 256 * MiB };
    const split = splitGrowth(2048 * MiB, 128 * MiB, z, 301, 64 * MiB);
    expect(split.kernelBytes).toBe(128 * MiB); // 54 MiB short, in whole blocks
    expect(split.movableBytes).toBe(1920 * MiB);
    expect(split.kernelBytes + split.movableBytes).toBe(2048 * MiB);
  });

  it('never hands out more than was plugged', () => {
    const z = { kernelFreeBytes: 0, kernelManagedBytes: 512 * MiB, movableManagedBytes: 0 };
    expect(splitGrowth(2 * MiB, 2 * MiB, z, 301, 64 * MiB)).toEqual({ kernelBytes: 2 * MiB, movableBytes: 0 });
  });
});

describe('/proc/zoneinfo', () => {
  const text = [
    'Node 0, zone      DMA',
    '  pages free     3840',
    '        managed  3840',
    'Node 0, zone    DMA32',
    '  pages free     100000',
    '        managed  200000',
    '  pagesets',
    'Node 0, zone   Normal',
    '  pages free     25600',
    '        min      100',
    '        managed  65536',
    'Node 0, zone  Movable',
    '  pages free     50000',
    '        managed  131072',
  ].join('\n');

  it('sums free and managed pages of the kernel zones, and MOVABLE\'s managed pages', () => {
    const r = parseZoneinfo(text);
    expect(r).toMatchObject({
      ok: true,
      zones: { kernelFreeBytes: (3840 + 100000 + 25600) * 4096, kernelManagedBytes: (3840 + 200000 + 65536) * 4096, movableManagedBytes: 131072 * 4096 },
    });
  });

  it('sums free memory above each populated zone\'s high watermark and boost, not the per-cpu "high:" lines', () => {
    const real = [
      'Node 0, zone      DMA',
      '  pages free     3840',
      '        boost    0',
      '        min      25',
      '        low      31',
      '        high     37',
      '        managed  3840',
      '  pagesets',
      '    cpu: 0',
      '              count: 0',
      '              high:  0',
      'Node 0, zone   Normal',
      '  pages free     20000',
      '        boost    2000',
      '        min      11807',
      '        low      14758',
      '        high     17709',
      '        managed  1802240',
      '  pagesets',
      '    cpu: 0',
      '              high:  7379',
      'Node 0, zone  Movable',
      '  pages free     262144',
      '        high     1000',
      '        managed  524288',
      'Node 0, zone   Device',
      '  pages free     0',
      '        high     0',
      '        managed  0',
    ].join('\n');
    const r = parseZoneinfo(real);
    const kernel = (3840 - 37 + 0) * 4096; // Normal: 20000 < 17709 + 2000 + ... -> 291 pages above
    const normal = (20000 - 17709 - 2000) * 4096;
    expect(r).toMatchObject({ ok: true, headroom: { kernelFreeAboveHighBytes: kernel + normal, freeAboveHighBytes: kernel + normal + (262144 - 1000) * 4096 } });
  });

  it('returns a typed error for garbled or empty input', () => {
    expect(parseZoneinfo('').ok).toBe(false);
    expect(parseZoneinfo('Node 0, zone Normal\n  pages free  lots\n')).toEqual({ ok: false, error: 'zoneinfo: bad free count "lots" in zone Normal' });
  });
});
