import { describe, expect, it } from 'vitest';
import { GiB, MiB } from '../../src/config/units.ts';
import { defaultGuestParams, GuestModel } from '../../src/sim/guest.ts';
import { MetricsRecorder } from '../../src/sim/metrics.ts';
import type { Workload } from '../../src/sim/workload.ts';

/** Anon rises past what a 1 GiB VM holds beside 300 MiB of file working set, then falls. */
const bump = (peakAnon: number): Workload => ({
  durationS: 60,
  at: (t) => ({ anonBytes: 600 * MiB + (t >= 10 && t < 20 ? peakAnon - 600 * MiB : 0), fileBytes: 300 * MiB, unmovableBytes: 0 }),
});

function run(workload: Workload, plugAtS: number | null): ReturnType<MetricsRecorder['result']> {
  const g = new GuestModel(defaultGuestParams(GiB), workload);
  const m = new MetricsRecorder(g, 4 * GiB, 2 * MiB);
  g.tick(0, 0);
  for (let t = 100; t <= 40_000; t += 100) {
    if (plugAtS !== null && t === plugAtS * 1000) g.setPlugged(512 * MiB);
    g.tick(t, 100);
    m.tick(t, 100, g.pluggedBytes);
  }
  return m.result({ requests: 0, sends: 0, granted: 0, partial: 0, denied: 0, busy: 0, dropped: 0, late: 0, unplugComplete: 0, unplugPartial: 0, unplugFailed: 0 } as never);
}

describe('grow latency metric', () => {
  it('counts an episode that ends with more memory plugged, from the first stalled tick', () => {
    const r = run(bump(760 * MiB), 12);
    expect(r.stallSomeS).toBeGreaterThan(0);
    expect(r.growEpisodes).toBe(1);
    expect(r.growLatencyP99Ms).toBeGreaterThanOrEqual(1700);
    expect(r.growLatencyP99Ms).toBeLessThanOrEqual(2100);
  });

  it('does not count an episode that ends because demand fell, though usable memory moves with page tables', () => {
    const r = run(bump(760 * MiB), null);
    expect(r.stallSomeS).toBeGreaterThan(0);
    expect(r.growEpisodes).toBe(0);
    expect(r.growLatencyP99Ms).toBeNull();
  });
});
