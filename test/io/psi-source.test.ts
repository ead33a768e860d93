import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { makePsiSource, PsiLostError, type EpollFactory, type PsiReading } from '../../src/io/psi.ts';
import type { PsiFs } from '../../src/io/psi-trigger.ts';
import { defaultGuestConfig } from '../../src/config/schema.ts';

const cfg = defaultGuestConfig().signals;
const text = (total: number) => `some avg10=0.00 avg60=0.00 avg300=0.00 total=${total}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n`;

function fakes(read: () => string, privileged = false) {
  const reads: number[] = [];
  const closed: number[] = [];
  let onEvent: ((err: Error | null, fd: number, events: number) => void) | null = null;
  const removed: number[] = [];
  // Like this machine's kernel for an unprivileged writer: only 2 s-multiple windows.
  // A privileged writer's 500 ms window is accepted.
  const write = (_fd: number, t: string) => {
    if (!privileged && Number(t.trim().split(' ')[2]) % 2_000_000 !== 0) throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
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

  it('reads the file every probe interval while probing, in rtpoll mode only', () => {
    const CAP_SYS_RESOURCE = 1n << 24n;
    const run = (capEff: bigint) => {
      const f = fakes(() => text(5), true);
      const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
      const out: PsiReading[] = [];
      ts.run(({ cold }) => {
        // Probing from 1 s to 1.35 s (a repeated `true` restarts nothing), then from 5 s on.
        const probe$ = cold<boolean>('1000ms a 99ms a 249ms b 3649ms a', { a: true, b: false });
        const sub = makePsiSource(cfg, { file: '/p', fs: f.fs, epoll: f.epoll, capEff, scheduler: ts, probe$ }).subscribe((r) => out.push(r));
        ts.schedule(() => sub.unsubscribe(), 5250);
      });
      return out;
    };
    const rt = run(CAP_SYS_RESOURCE);
    expect(rt[0]).toMatchObject({ mode: 'rtpoll', windowUs: 500_000 });
    expect(rt.filter((r) => r.type === 'psi.probe').map((r) => (r as { atMs: number }).atMs)).toEqual([1100, 1200, 1300, 5100, 5200]);
    // In avgs mode a read would suppress the trigger: no probe reads at all.
    const avgs = run(0n);
    expect(avgs[0]).toMatchObject({ mode: 'avgs' });
    expect(avgs.filter((r) => r.type === 'psi.probe')).toEqual([]);
  });

  it('probes in polling mode too, beside the polled samples', () => {
    const f = fakes(() => text(5));
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    const out: PsiReading[] = [];
    ts.run(({ cold }) => {
      // On at 500 ms, off at 800 ms (before that interval's read).
      const probe$ = cold<boolean>('500ms a 299ms b', { a: true, b: false });
      const sub = makePsiSource(cfg, { file: '/p', fs: f.fs, epoll: null, scheduler: ts, probe$ }).subscribe((r) => out.push(r));
      ts.schedule(() => sub.unsubscribe(), 2 * cfg.psiPollIntervalMs + 1);
    });
    expect(out[0]).toMatchObject({ mode: 'polling' });
    expect(out.filter((r) => r.type === 'psi.probe').map((r) => (r as { atMs: number }).atMs)).toEqual([600, 700]);
    expect(out.filter((r) => r.type === 'psi.sample')).toHaveLength(3);
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
