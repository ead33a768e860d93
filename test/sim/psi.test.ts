import { describe, expect, it } from 'vitest';
import { PsiModel } from '../../src/sim/psi.ts';
import { fullStall, someStall, DEFAULT_STALL } from '../../src/sim/guest.ts';

describe('PSI model', () => {
  it('counts total in microseconds and decays avg10 like the kernel (2 s updates)', () => {
    const psi = new PsiModel(100);
    for (let t = 100; t <= 10_000; t += 100) psi.tick(t, 0.5, 0.25);
    expect(psi.someUs).toBeCloseTo(5_000_000, -1);
    expect(psi.fullUs).toBeCloseTo(2_500_000, -1);
    // 5 updates of 50%: avg10 = 50 * (1 - e^(-2/10 * 5))
    expect(psi.avgSome[0]).toBeCloseTo(50 * (1 - Math.exp(-1)), 6);
    expect(psi.text()).toMatch(/^some avg10=31\.61 avg60=\d+\.\d\d avg300=\d+\.\d\d total=5000000\nfull /);
  });

  it('fires a trigger at most once per window, only when the stall in the window reaches the threshold', () => {
    const psi = new PsiModel(100);
    const events: number[] = [];
    let now = 0;
    psi.addTrigger({ kind: 'some', mode: 'rtpoll', thresholdUs: 50_000, windowUs: 500_000, onEvent: () => events.push(now) });
    // 5% stall: 25 ms per 500 ms window, under the threshold.
    for (now = 100; now <= 3000; now += 100) psi.tick(now, 0.05, 0);
    expect(events).toEqual([]);
    // 20% stall: 20 ms per tick; the 5 ms ticks still in the window help it cross in the 2nd tick, then once per window.
    for (; now <= 5000; now += 100) psi.tick(now, 0.2, 0);
    expect(events[0]).toBe(3200);
    for (let i = 1; i < events.length; i++) expect(events[i]! - events[i - 1]!).toBeGreaterThanOrEqual(500);
    expect(events.length).toBe(4);
  });

  it('evaluates avgs-mode triggers only at the 2 s averaging updates', () => {
    const psi = new PsiModel(100);
    const events: number[] = [];
    let now = 0;
    psi.addTrigger({ kind: 'some', mode: 'avgs', thresholdUs: 100_000, windowUs: 2_000_000, onEvent: () => events.push(now) });
    for (now = 100; now <= 6000; now += 100) psi.tick(now, 0.5, 0);
    expect(events).toEqual([2000, 4000, 6000]);
  });

  it('stall is monotonic in the deficit, zero without one, total at r = 1', () => {
    let prev = 0;
    for (let r = 0; r <= 1.0001; r += 0.01) {
      const s = someStall(r, DEFAULT_STALL);
      expect(s).toBeGreaterThanOrEqual(prev);
      expect(fullStall(r, DEFAULT_STALL)).toBeLessThanOrEqual(s);
      prev = s;
    }
    expect(someStall(0, DEFAULT_STALL)).toBe(0);
    expect(someStall(1, DEFAULT_STALL)).toBe(1);
  });
});
