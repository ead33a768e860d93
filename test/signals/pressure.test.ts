import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { PsiReading } from '../../src/io/psi.ts';
import { pressureEvents, stallRate } from '../../src/signals/pressure.ts';
import { modeAvgs, modePolling, modeRtpoll, pressure } from './helpers.ts';

const cfg = { psiPollThresholdPercent: 5, psiProbeThresholdPercent: 0.5, psiFullSeverityPercent: 10, psiDebounceMs: 1000 };

function scheduler() {
  return new TestScheduler((a, b) => expect(a).toEqual(b));
}

/** Readings stamped with virtual time at emission. */
function stamped(ts: TestScheduler, make: (atMs: number) => PsiReading) {
  return map((_: unknown) => make(ts.now()));
}

describe('stall rate', () => {
  it('is the total delta over the span, floored to the trigger window', () => {
    const a = { atMs: 0, pressure: pressure(0) };
    expect(stallRate(a, { atMs: 1000, pressure: pressure(100_000, 20_000) })).toEqual({ somePercent: 10, fullPercent: 2 });
    // 100 ms stall observed 100 ms after the last read: within a 2 s window that is 5 %, not 100 %.
    expect(stallRate(a, { atMs: 100, pressure: pressure(100_000) }, 2_000_000).somePercent).toBe(5);
  });
});

describe('psi.pressure', () => {
  it('turns every trigger into pressure with the measured stall and severity', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const psi$ = hot<PsiReading>('a b 1997ms c 3999ms d', {
        a: modeAvgs,
        b: { type: 'psi.sample', atMs: 0, pressure: pressure(0) },
        c: { type: 'psi.trigger', atMs: 2000, pressure: pressure(600_000, 300_000) },
        d: { type: 'psi.trigger', atMs: 6000, pressure: pressure(700_000, 300_000) },
      });
      expectObservable(pressureEvents(psi$, cfg, ts)).toBe('1999ms c 3999ms d', {
        // 600 ms of 2 s stalled (30 %), 300 ms full (15 %: severe).
        c: { type: 'psi.pressure', severity: 'full', stallPercent: 30, atMs: 2000, via: 'trigger' },
        // Only 100 ms more over 4 s: 2.5 %, but a trigger means at least threshold/window = 5 %.
        d: { type: 'psi.pressure', severity: 'some', stallPercent: 5, atMs: 6000, via: 'trigger' },
      });
    });
  });

  it('answers no trigger or polled stall that came while the kernel had memory to spare, and measures the next from it', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const psi$ = hot<PsiReading>('a b 1997ms c 1999ms d', {
        a: modeAvgs,
        b: { type: 'psi.sample', atMs: 0, pressure: pressure(0) },
        // A cgroup at its own memory.max: lots of stall, but memory free above the watermarks.
        c: { type: 'psi.trigger', atMs: 2000, pressure: pressure(900_000), globalShortage: false },
        // Then the VM itself runs short: the rate counts from the discounted read, not from 0.
        d: { type: 'psi.trigger', atMs: 4000, pressure: pressure(1_300_000), globalShortage: true },
      });
      expectObservable(pressureEvents(psi$, cfg, ts)).toBe('3999ms d', { d: { type: 'psi.pressure', severity: 'some', stallPercent: 20, atMs: 4000, via: 'trigger' } });
    });
    const poll = scheduler();
    poll.run(({ hot, expectObservable }) => {
      const psi$ = hot<PsiReading>('a b 999ms c 999ms d', {
        a: modePolling,
        b: { type: 'psi.sample', atMs: 0, pressure: pressure(0) },
        c: { type: 'psi.sample', atMs: 1000, pressure: pressure(300_000), globalShortage: false }, // 30 %, not the VM's
        d: { type: 'psi.sample', atMs: 2000, pressure: pressure(400_000), globalShortage: true }, // 10 %
      });
      expectObservable(pressureEvents(psi$, cfg, poll)).toBe('2001ms d', { d: { type: 'psi.pressure', severity: 'some', stallPercent: 10, atMs: 2000, via: 'poll' } });
    });
  });

  it('still reports a trigger whose follow-up read failed, at the trigger floor', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const psi$ = hot<PsiReading>('a 9ms c', { a: modeAvgs, c: { type: 'psi.trigger', atMs: 10, pressure: null } });
      expectObservable(pressureEvents(psi$, cfg, ts)).toBe('10ms c', { c: { type: 'psi.pressure', severity: 'some', stallPercent: 5, atMs: 10, via: 'trigger' } });
    });
  });

  it('in polling mode fires only when the stall rate over an interval reaches the threshold', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const psi$ = hot<PsiReading>('a b 999ms c 999ms d 999ms e', {
        a: modePolling,
        b: { type: 'psi.sample', atMs: 0, pressure: pressure(0) },
        c: { type: 'psi.sample', atMs: 1000, pressure: pressure(40_000) }, // 4 %: below
        d: { type: 'psi.sample', atMs: 2000, pressure: pressure(100_000) }, // 6 %
        e: { type: 'psi.sample', atMs: 3000, pressure: pressure(100_000) }, // 0 %
      });
      expectObservable(pressureEvents(psi$, cfg, ts)).toBe('2001ms d', { d: { type: 'psi.pressure', severity: 'some', stallPercent: 6, atMs: 2000, via: 'poll' } });
    });
  });

  it('debounces a flapping trigger to one event per debounce interval', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const trig = hot('a 99ms t 199ms t 199ms t 699ms t', { a: 'mode', t: 'trig' });
      const psi$ = trig.pipe(stamped(ts, (atMs) => (atMs === 0 ? modeAvgs : { type: 'psi.trigger', atMs, pressure: null })));
      expectObservable(pressureEvents(psi$, cfg, ts).pipe(map(() => 'p'))).toBe('100ms p 1099ms p');
    });
  });

  it('ignores read errors', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const psi$ = hot<PsiReading>('a b', { a: modePolling, b: { type: 'psi.error', atMs: 1, message: 'x' } });
      expectObservable(pressureEvents(psi$, cfg, ts)).toBe('');
    });
  });

  it('answers a probe at its own, lower stall rate, measured between probe reads only', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const psi$ = hot<PsiReading>('a b 99ms c 99ms d 99ms e 99ms f', {
        a: modeRtpoll,
        b: { type: 'psi.probe', atMs: 0, pressure: pressure(0) },
        c: { type: 'psi.probe', atMs: 100, pressure: pressure(300) }, // 0.3 % over 100 ms: below 0.5 %
        // A relaxed-check sample between probes must not shorten the probe's span.
        d: { type: 'psi.sample', atMs: 200, pressure: pressure(700) },
        e: { type: 'psi.probe', atMs: 300, pressure: pressure(1_500) }, // 1.2 ms in 200 ms: 0.6 %
        f: { type: 'psi.probe', atMs: 400, pressure: pressure(1_500) },
      });
      expectObservable(pressureEvents(psi$, cfg, ts)).toBe('301ms e', { e: { type: 'psi.pressure', severity: 'some', stallPercent: 0.6, atMs: 300, via: 'probe' } });
    });
  });

  it('measures no probe across a long gap (the zone was left), nor one the kernel could spare memory for', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const psi$ = hot<PsiReading>('a b 2999ms c 99ms d 99ms e', {
        a: modeRtpoll,
        b: { type: 'psi.probe', atMs: 0, pressure: pressure(0) },
        // 3 s later: 20 ms of stall since, 0.67 % of the gap, but the gap is too long to say when.
        c: { type: 'psi.probe', atMs: 3000, pressure: pressure(20_000) },
        d: { type: 'psi.probe', atMs: 3100, pressure: pressure(25_000), globalShortage: false }, // 5 %, a cgroup's own limit
        e: { type: 'psi.probe', atMs: 3200, pressure: pressure(26_000) }, // 1 %
      });
      expectObservable(pressureEvents(psi$, cfg, ts)).toBe('3201ms e', { e: { type: 'psi.pressure', severity: 'some', stallPercent: 1, atMs: 3200, via: 'probe' } });
    });
  });
});
