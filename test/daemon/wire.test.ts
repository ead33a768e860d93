import { interval, map, of, Subject, VirtualAction, VirtualTimeScheduler, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { defaultGuestConfig } from '../../src/config/schema.ts';
import type { HostEvent, HostLink } from '../../src/io/host-link.ts';
import { makeMemoryLogger } from '../../src/io/log.ts';
import type { MeminfoReading } from '../../src/io/meminfo.ts';
import type { ResizeRequest } from '../../src/machines/events.ts';
import { makeDryRunLink } from '../../src/io/dry-run-link.ts';
import { wireGuest, type Clock } from '../../src/daemon/wire.ts';
import { meminfo, MiB, modeAvgs } from '../signals/helpers.ts';

/** XState timers on the same virtual time as the RxJS pipelines. */
function clockOn(vts: VirtualTimeScheduler): Clock {
  return {
    setTimeout: (fn, ms) => vts.schedule(() => fn(), ms),
    clearTimeout: (id) => (id as Subscription).unsubscribe(),
  };
}

describe('wireGuest', () => {
  it('grows before free memory runs out, observes the grow and measures its latency', () => {
    const vts = new VirtualTimeScheduler(VirtualAction, 8000);
    const { log, lines } = makeMemoryLogger({ now: () => vts.now() });
    const state = { plugged: 0, used: 0 };
    const host = new Subject<HostEvent>();
    const requests: ResizeRequest[] = [];
    const link: HostLink = {
      events$: host,
      sendHello: () => vts.schedule(() => host.next({ type: 'host.welcome', minBytes: 0, maxBytes: 2048 * MiB, blockBytes: 2 * MiB, requestedBytes: 0, pluggedBytes: 0 }), 5),
      sendResize: (req) => {
        requests.push(req);
        vts.schedule(() => host.next({ type: 'host.ack', id: req.id, outcome: 'granted', grantedBytes: req.targetBytes }), 20);
        vts.schedule(() => {
          state.plugged = req.targetBytes;
        }, 70);
      },
      replyReclaim: () => {},
      close: async () => {},
    };
    // 1 GiB boot RAM, 800 MiB free at start, consumed at 100 MiB/s.
    const meminfo$ = interval(100, vts).pipe(
      map((): MeminfoReading => {
        state.used = Math.min(1024 * MiB, (vts.now() / 1000) * 100 * MiB);
        const total = 1024 * MiB + state.plugged;
        return meminfo(vts.now(), (total - 224 * MiB - state.used) / MiB, total / MiB);
      }),
    );
    const handle = wireGuest({ psi$: of(modeAvgs), meminfo$, link, clock: clockOn(vts), scheduler: vts, log, config: defaultGuestConfig(), idPrefix: 't' });
    vts.schedule(() => host.next({ type: 'host.connected' }), 1);
    vts.flush();
    const ctx = handle.actor.getSnapshot().context;
    handle.stop();

    expect(requests.length).toBeGreaterThan(0);
    const first = requests[0] as ResizeRequest;
    expect(first.kind).toBe('grow');
    expect(first.pressure.source).toBe('headroom');
    // The first request left while MemAvailable was still above the 128 MiB reserve.
    expect(first.pressure.memAvailableBytes).toBeGreaterThan(128 * MiB);
    expect(ctx.pluggedBytes).toBeGreaterThan(0);
    // The initial 1000 ms estimate moved towards the measured ~100 ms (EWMA): grow.measured arrived.
    expect(ctx.growLatencyMs).toBeLessThan(1000);
    expect(lines.some((l) => l.msg === 'psi mode' && l.mode === 'avgs')).toBe(true);
  });

  it('with the dry-run link reaches ready and logs the requests it would send, sending nothing', () => {
    const vts = new VirtualTimeScheduler(VirtualAction, 6000);
    const { log, lines } = makeMemoryLogger({ now: () => vts.now() });
    const dry = makeDryRunLink({ minBytes: 0, maxBytes: 1024 * MiB, blockBytes: 2 * MiB }, { log, scheduler: vts, pluggedBytes: () => 0 });
    const meminfo$ = interval(100, vts).pipe(map((): MeminfoReading => meminfo(vts.now(), 600 - vts.now() / 10)));
    const handle = wireGuest({ psi$: of(modeAvgs), meminfo$, link: dry, clock: clockOn(vts), scheduler: vts, log, config: defaultGuestConfig(), idPrefix: 'd' });
    vts.schedule(() => dry.connect(), 1);
    vts.flush();
    handle.stop();
    expect(lines.some((l) => l.msg === 'transition' && l.to === 'ready.idle')).toBe(true);
    const would = lines.filter((l) => l.msg === 'would send resize');
    expect(would.length).toBeGreaterThan(0);
    expect(would[0]).toMatchObject({ kind: 'grow', requestId: 'd-1' });
    // No ack ever comes: the same id is retried, never a second id.
    expect(new Set(would.map((l) => l.requestId))).toEqual(new Set(['d-1']));
  });
});
