import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { PolicySchema } from '../../src/config/schema.ts';
import type { PsiReading } from '../../src/io/psi.ts';
import { relaxedEvents } from '../../src/signals/relaxed.ts';
import type { TrendSample } from '../../src/signals/trend.ts';
import { MiB, pressure } from './helpers.ts';

const policy = PolicySchema.parse({});
const cfg = { relaxedAvg10Percent: 1, relaxedAvg60Percent: 2, relaxedHoldMs: 3000, relaxedCheckIntervalMs: 2000 };
const roomy: TrendSample = { atMs: 0, memTotalBytes: 2048 * MiB, memAvailableBytes: 1500 * MiB, availableTrendBps: 0 };
const tight: TrendSample = { ...roomy, memAvailableBytes: 200 * MiB };

function scheduler() {
  return new TestScheduler((a, b) => expect(a).toEqual(b));
}

/** A psi.sample every second with the given averages, stamped in virtual time. */
function samples(ts: TestScheduler, marble: string, hot: TestScheduler['createHotObservable'], avg: Record<string, [number, number]>) {
  return hot(marble).pipe(map((k): PsiReading => ({ type: 'psi.sample', atMs: ts.now(), pressure: pressure(0, 0, ...(avg[k] ?? [0, 0])) })));
}

describe('psi.relaxed', () => {
  it('fires once averages are low, no stall for the hold time, and free memory exceeds reserve plus a step', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const psi$ = samples(ts, 'q 999ms q 999ms q 999ms q 999ms q', hot.bind(ts), {});
      expectObservable(relaxedEvents(psi$, hot(''), hot('a', { a: roomy }), cfg, policy)).toBe('3000ms r', { r: { type: 'psi.relaxed' } });
    });
  });

  it('never fires while free memory is within reserve plus one step', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const psi$ = samples(ts, 'q 999ms q 999ms q 999ms q 999ms q', hot.bind(ts), {});
      expectObservable(relaxedEvents(psi$, hot(''), hot('a', { a: tight }), cfg, policy)).toBe('');
    });
  });

  it('waits for the averages to decay under the low-water marks', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const psi$ = samples(ts, 'h 999ms h 999ms h 999ms h 999ms q', hot.bind(ts), { h: [0.5, 2.5] });
      expectObservable(relaxedEvents(psi$, hot(''), hot('a', { a: roomy }), cfg, policy)).toBe('4000ms r', { r: { type: 'psi.relaxed' } });
    });
  });

  it('restarts the hold after any pressure, and repeats at most once per check interval', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const psi$ = samples(ts, 'q 999ms q 999ms q 999ms q 999ms q 999ms q 999ms q 999ms q 999ms q 999ms q', hot.bind(ts), {});
      const pressureAt$ = hot('2500ms p').pipe(map(() => ts.now()));
      // Hold restarts at 2500: first relaxed at the first sample at or after 5500 (6000), then
      // one per check interval (2 s) while it stays relaxed, not one per sample (1 s).
      expectObservable(relaxedEvents(psi$, pressureAt$, hot('a', { a: roomy }), cfg, policy)).toBe('6000ms r 1999ms r', { r: { type: 'psi.relaxed' } });
    });
  });
});
