import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Meminfo, MeminfoReading } from '../../src/io/meminfo.ts';
import { withTrend } from '../../src/signals/trend.ts';

const MiB = 2 ** 20;
const reading = (atMs: number, totalMiB: number, availMiB: number): MeminfoReading => ({
  type: 'meminfo',
  atMs,
  meminfo: { memTotalBytes: totalMiB * MiB, memAvailableBytes: availMiB * MiB } as Meminfo,
});

async function trends(readings: MeminfoReading[]): Promise<number[]> {
  const out = await lastValueFrom(from(readings).pipe(withTrend(3000), toArray()));
  return out.map((s) => s.availableTrendBps);
}

describe('memory trend', () => {
  it('measures consumption as the fall of MemAvailable', async () => {
    const t = await trends([0, 500, 1000, 1500].map((ms, i) => reading(ms, 1024, 800 - i * 50)));
    expect(t.at(-1)! / MiB).toBeCloseTo(-100, 5);
  });

  it('does not count an unplug as consumption: MemTotal and MemAvailable fall together', async () => {
    const t = await trends([0, 500, 1000, 1500].map((ms, i) => reading(ms, 2048 - i * 256, 1500 - i * 256)));
    expect(t.at(-1)).toBe(0);
  });

  it('does not count a plug as freed memory', async () => {
    const t = await trends([0, 500, 1000, 1500].map((ms, i) => reading(ms, 1024 + i * 128, 100 + i * 128 - i * 10)));
    expect(t.at(-1)! / MiB).toBeCloseTo(-20, 5);
  });
});
