import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { PolicySchema } from '../../src/config/schema.ts';
import type { MeminfoReading } from '../../src/io/meminfo.ts';
import { headroomEvents, project } from '../../src/signals/headroom.ts';
import { slopePerSecond, withTrend } from '../../src/signals/trend.ts';
import { meminfo, MiB } from './helpers.ts';

// reserve = max(128 MiB, 6 % of 1 GiB) = 128 MiB
const policy = PolicySchema.parse({ growLatencyInitialMs: 1000 });
const cfg = { headroomMarginMs: 1000, headroomMinConsumeBps: 1_000_000, headroomRepeatMs: 1000 };

function scheduler() {
  return new TestScheduler((a, b) => expect(a).toEqual(b));
}

/** One meminfo reading every 100 ms with MemAvailable from `mib(t)`. */
function readings(count: number, mib: (tMs: number) => number): { marble: string; values: Record<string, MeminfoReading> } {
  const values: Record<string, MeminfoReading> = {};
  const frames: string[] = [];
  for (let i = 0; i < count; i++) {
    const k = String.fromCharCode(0x100 + i);
    values[k] = meminfo(i * 100, mib(i * 100));
    frames.push(k);
  }
  return { marble: frames.join(' 99ms '), values };
}

describe('trend', () => {
  it('is the least-squares slope and ignores points too close in time', () => {
    expect(slopePerSecond([{ t: 0, y: 100 }, { t: 1000, y: 50 }, { t: 2000, y: 0 }])).toBeCloseTo(-50);
    expect(slopePerSecond([{ t: 0, y: 100 }, { t: 1, y: 0 }], 500)).toBe(0);
  });
});

describe('headroom.low', () => {
  it('fires while a grow can still land: before MemAvailable reaches the reserve', () => {
    const ts = scheduler();
    const fired: { atMs: number; availMiB: number; s: number }[] = [];
    ts.run(({ cold, hot }) => {
      // Falling 100 MiB/s from 700 MiB: the reserve (128 MiB) is reached at t = 5.72 s.
      const r = readings(60, (t) => Math.max(0, 700 - t / 10));
      const samples$ = cold(r.marble, r.values).pipe(withTrend(3000));
      headroomEvents(samples$, hot(''), cfg, policy).subscribe((e) => fired.push({ atMs: ts.now(), availMiB: e.memAvailableBytes / MiB, s: e.secondsToReserve }));
    });
    const first = fired[0];
    expect(first).toBeDefined();
    // Lead = grow latency 1 s + margin 1 s: fires about 2 s before the crossing, not after.
    expect(first?.atMs).toBeGreaterThanOrEqual(3500);
    expect(first?.atMs).toBeLessThanOrEqual(3800);
    expect(first?.availMiB).toBeGreaterThan(128);
    // Repeats at most once per headroomRepeatMs while consumption goes on.
    const gaps = fired.slice(1).map((f, i) => f.atMs - (fired[i]?.atMs ?? 0));
    expect(gaps.every((g) => g >= 1000)).toBe(true);
  });

  it('uses the measured grow latency: a slow grow moves the alarm earlier', () => {
    const ts = scheduler();
    let at = -1;
    ts.run(({ cold }) => {
      const r = readings(60, (t) => Math.max(0, 700 - t / 10));
      const samples$ = cold(r.marble, r.values).pipe(withTrend(3000));
      headroomEvents(samples$, cold('a', { a: 3000 }), cfg, policy).subscribe(() => {
        if (at < 0) at = ts.now();
      });
    });
    expect(at).toBeGreaterThanOrEqual(1500);
    expect(at).toBeLessThanOrEqual(1800);
  });

  it('stays quiet for a steady or slowly drifting MemAvailable, however low', () => {
    const ts = scheduler();
    ts.run(({ cold, hot, expectObservable }) => {
      const r = readings(50, (t) => 200 - t / 10_000); // 0.1 MiB/s: noise
      expectObservable(headroomEvents(cold(r.marble, r.values).pipe(withTrend(3000)), hot(''), cfg, policy)).toBe('');
    });
  });

  it('does not oscillate when the projection hovers at the edge (hysteresis)', () => {
    const ts = scheduler();
    let count = 0;
    ts.run(({ cold, hot }) => {
      // Falls fast, then alternates between slightly slower and slightly faster consumption.
      const r = readings(80, (t) => 500 - t / 10 + (Math.floor(t / 200) % 2) * 3);
      headroomEvents(cold(r.marble, r.values).pipe(withTrend(3000)), hot(''), { ...cfg, headroomRepeatMs: 100_000 }, policy).subscribe(() => count++);
    });
    expect(count).toBe(1);
  });

  it('projects to the learned stall floor when PSI showed the working set stalls above the reserve', () => {
    const ts = scheduler();
    let at = -1;
    ts.run(({ cold, hot }) => {
      // Falling 100 MiB/s from 700 MiB; a stall was seen at 336 MiB (floor 400 MiB with the margin).
      const r = readings(60, (t) => Math.max(0, 700 - t / 10));
      const samples$ = cold(r.marble, r.values).pipe(withTrend(3000));
      headroomEvents(samples$, hot(''), cfg, policy, cold('a', { a: { floorBytes: 400 * MiB, atMs: 0 } })).subscribe(() => {
        if (at < 0) at = ts.now();
      });
    });
    // The floor is reached at t = 3 s: with the 2 s lead the alarm comes near 1 s, not 3.5 s.
    expect(at).toBeGreaterThanOrEqual(800);
    expect(at).toBeLessThanOrEqual(1200);
  });

  it('projects zero seconds when already under the reserve', () => {
    expect(project({ atMs: 0, memTotalBytes: 1024 * MiB, memAvailableBytes: 100 * MiB, availableTrendBps: -10 * MiB }, policy).secondsToReserve).toBe(0);
    expect(project({ atMs: 0, memTotalBytes: 1024 * MiB, memAvailableBytes: 100 * MiB, availableTrendBps: 5 }, policy).secondsToReserve).toBe(Infinity);
  });
});
