import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { makePsiSource, PsiLostError, type EpollFactory, type PsiReading } from '../../src/io/psi.ts';
import type { PsiFs } from '../../src/io/psi-trigger.ts';
import { defaultGuestConfig } from '../../src/config/schema.ts';

const cfg = defaultGuestConfig().signals;
const text = (total: number) => `some avg10=0.00 avg60=0.00 avg300=0.00 total=${total}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n`;

function fakes(read: () => string) {
  const reads: number[] = [];
  const closed: number[] = [];
  let onEvent: ((err: Error | null, fd: number, events: number) => void) | null = null;
  const removed: number[] = [];
  // Like this machine's kernel for an unprivileged writer: only 2 s-multiple windows.
  const write = (_fd: number, t: string) => {
    if (Number(t.trim().split(' ')[2]) % 2_000_000 !== 0) throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
  };
  const fs: PsiFs = { openRdwr: () => 7, write, close: (fd) => closed.push(fd), readText: () => (reads.push(1), read()) };
  const epoll: EpollFactory = (cb) => {
    onEvent = cb;
    return { add: () => {}, remove: (fd: number) => removed.push(fd), close: () => {} };
  };
  return { fs, epoll, reads, closed, removed, fire: (events: number) => onEvent?.(null, 7, events) };
}

describe('makePsiSource', () => {
  it('names its mode first, reads the file only at start, after a trigger and at the slow check', () => {
    const f = fakes(() => text(5));
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    const out: PsiReading[] = [];
    ts.run(() => {
      const sub = makePsiSource(cfg, { file: '/p', fs: f.fs, epoll: f.epoll, capEff: 0n, scheduler: ts }).subscribe((r) => out.push(r));
      ts.schedule(() => f.fire(2), 500);
      ts.schedule(() => sub.unsubscribe(), cfg.relaxedCheckIntervalMs + 1);
    });
    expect(out.map((r) => r.type)).toEqual(['psi.mode', 'psi.sample', 'psi.trigger', 'psi.sample']);
    expect(out[0]).toMatchObject({ mode: 'avgs', windowUs: 2_000_000 });
    // mode probe read + baseline + after trigger + one slow check: nothing in between.
    expect(f.reads.length).toBe(4);
    // The fd of the refused 500 ms attempt at once, the armed trigger's at teardown.
    expect(f.closed).toEqual([7, 7]);
    expect(f.removed).toEqual([7]);
  });

  it('ends with PsiLostError on EPOLLERR (the cgroup was removed)', () => {
    const f = fakes(() => text(5));
    let err: unknown;
    const sub = makePsiSource(cfg, { file: '/p', fs: f.fs, epoll: f.epoll, capEff: 0n }).subscribe({ error: (e: unknown) => (err = e) });
    f.fire(8 | 2);
    expect(err).toBeInstanceOf(PsiLostError);
    expect(f.closed).toEqual([7, 7]);
    sub.unsubscribe();
  });

  it('polls `total` at the interval without the epoll addon', () => {
    let total = 0;
    const f = fakes(() => text((total += 1000)));
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    const out: PsiReading[] = [];
    ts.run(() => {
      const sub = makePsiSource(cfg, { file: '/p', fs: f.fs, epoll: null, scheduler: ts }).subscribe((r) => out.push(r));
      ts.schedule(() => sub.unsubscribe(), 3 * cfg.psiPollIntervalMs + 1);
    });
    expect(out[0]).toMatchObject({ type: 'psi.mode', mode: 'polling' });
    expect(out.slice(1).map((r) => r.type)).toEqual(['psi.sample', 'psi.sample', 'psi.sample', 'psi.sample']);
  });

  it('errors with PsiLostError when PSI is unavailable, and when a polled file vanishes', () => {
    const gone: PsiFs = { openRdwr: () => 1, write: () => {}, close: () => {}, readText: () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); } };
    let err: unknown;
    makePsiSource(cfg, { file: '/p', fs: gone, epoll: null }).subscribe({ error: (e: unknown) => (err = e) });
    expect(err).toBeInstanceOf(PsiLostError);
    expect((err as Error).message).toMatch(/unavailable/);
  });
});
