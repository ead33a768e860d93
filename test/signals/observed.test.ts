import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { TrendSample } from '../../src/signals/trend.ts';
import { observedEvents } from '../../src/signals/observed.ts';
import { concat, of, throwError, toArray, lastValueFrom } from 'rxjs';
import { psiWithFallback } from '../../src/signals/index.ts';
import { modePolling, MiB } from './helpers.ts';

const s = (totalMiB: number): TrendSample => ({ atMs: 0, memTotalBytes: totalMiB * MiB, memAvailableBytes: 0, availableTrendBps: 0 });

describe('mem.observed', () => {
  it('reports MemTotal growth over boot RAM, counting what was plugged before the daemon started', () => {
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    ts.run(({ cold, expectObservable }) => {
      const samples$ = cold('a b c d e', { a: s(1152), b: s(1152), c: s(1152.5), d: s(1408), e: s(1024) });
      expectObservable(observedEvents(samples$, { initialPluggedBytes: 128 * MiB })).toBe('a 2ms d e', {
        a: { type: 'mem.observed', pluggedBytes: 128 * MiB },
        d: { type: 'mem.observed', pluggedBytes: 384 * MiB },
        e: { type: 'mem.observed', pluggedBytes: 0 },
      });
    });
  });
});

describe('mem.observed when the guest cannot tell what was plugged before it started', () => {
  it('waits for the host\'s word and takes the baseline at the first sample after it', () => {
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    ts.run(({ hot, cold, expectObservable }) => {
      // Sample a comes before the welcome: it cannot count. The baseline is c's MemTotal.
      const samples$ = hot('a-cd', { a: s(1536), c: s(1536), d: s(1664) });
      const welcome$ = cold('-w', { w: 512 * MiB });
      expectObservable(observedEvents(samples$, { initialPluggedBytes: welcome$ })).toBe('--cd', {
        c: { type: 'mem.observed', pluggedBytes: 512 * MiB },
        d: { type: 'mem.observed', pluggedBytes: 640 * MiB },
      });
    });
  });
});

describe('psi fallback', () => {
  it('announces psi.lost and switches to the fallback once; a failing fallback ends PSI with a second notice', async () => {
    const out = await lastValueFrom(
      psiWithFallback(concat(of(modePolling), throwError(() => new Error('EPOLLERR'))), () => concat(of(modePolling), throwError(() => new Error('gone too')))).pipe(toArray()),
    );
    expect(out.map((r) => r.type)).toEqual(['psi.mode', 'psi.lost', 'psi.mode', 'psi.lost']);
    expect(out[1]).toEqual({ type: 'psi.lost', reason: 'EPOLLERR', fallback: 'polling' });
    expect(out[3]).toEqual({ type: 'psi.lost', reason: 'gone too', fallback: 'none' });
  });
});
