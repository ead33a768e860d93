/**
 * Scenario c of issue 6: a guest with memresize pins more tmpfs data than its boot RAM can
 * hold, then frees an anonymous burst; the daemon's shrink of the surplus ends partial.
 * The daemon must record the failure and back off (no unplug storm), and once the data is
 * deleted a later shrink must complete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFigure } from './harness-figures.ts';
import { DeviceSampler, requestIds, type ProductVm, type Transition } from './harness-product.ts';
import { GiB, MiB } from './harness-qemu.ts';
import { bootWithProduct, daemonTransitions, scenarioSkipReason, waitDaemonReady, waitTransition } from './harness-scenario.ts';

const skip = scenarioSkipReason('scenario c');
const MAX = 2 * GiB;
const ONE_STEP = 128 * MiB;
/** No storm: at most this many shrink requests in any 60 s. */
const MAX_SHRINKS_PER_MINUTE = 4;

const isPartialUnplug = (t: Transition): boolean => t.from === 'ready.shrinking' && /partial|failed|not observed/i.test(t.why ?? '');

function maxPerWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0; i < times.length; i++) {
    const n = times.filter((t) => t >= (times[i] as number) && t < (times[i] as number) + windowMs).length;
    best = Math.max(best, n);
  }
  return best;
}

describe.skipIf(skip !== undefined)('scenario c: a partial unplug is recorded, backed off and completed later', () => {
  let p: ProductVm;
  let sampler: DeviceSampler;

  beforeAll(async () => {
    p = await bootWithProduct({
      name: 'scenario-c',
      limits: { maxBytes: MAX },
      // Shorter waits than production so the retry after the data is gone fits the run.
      guestExtra: { timing: { unplugBackoffBaseMs: 10_000, cooldownAfterShrinkMs: 5000 } },
    });
    await waitDaemonReady(p);
    sampler = new DeviceSampler(p.vm).start(200);
  });

  afterAll(async () => {
    sampler?.stop();
    await p?.host.stop();
    await p?.vm.stop();
  });

  it('c: backs off after a partial unplug and completes the shrink once the pinned data is deleted', async () => {
    const mark = daemonTransitions(p.vm).length;
    // 700 MiB of tmpfs at 100 MiB/s: more than the ~390 MiB of boot MemTotal, so the
    // daemon must grow for it, and part of it must stay on plugged memory.
    const pin = await p.vm.guest.run('sh tmpfs-pin.sh fill /mnt/pin 1500 700 100', 180_000);
    expect(pin.status, pin.lines.join('\n')).toBe(0);
    // An anonymous burst that exits: the surplus it leaves is what the daemon shrinks.
    const burst = await p.vm.guest.run('node alloc.mjs 600 100 5', 180_000);
    expect(burst.status, burst.lines.join('\n')).toBe(0);

    const partial = await waitTransition(p.vm, isPartialUnplug, 180_000, mark);
    expect(await p.vm.mem.size()).toBeGreaterThan(0);

    // Watch the back-off for a minute with the data still pinned.
    await new Promise((r) => setTimeout(r, 60_000));
    const ts = daemonTransitions(p.vm).slice(mark);
    const shrinkTimes = ts.filter((t) => t.kind === 'shrink' && t.to.startsWith('ready.awaiting-host') && !t.from.startsWith('ready.awaiting-host')).map((t) => t.time ?? 0);
    expect(maxPerWindow(shrinkTimes, 60_000), `shrink requests at ${shrinkTimes.join(', ')}`).toBeLessThanOrEqual(MAX_SHRINKS_PER_MINUTE);
    recordFigure('c_shrink_requests_while_pinned', requestIds(ts, 'shrink').length, 'requests', p.vm.accel, `partial at plugged=${partial.plugged}`);

    const drop = await p.vm.guest.run('sh tmpfs-pin.sh drop /mnt/pin', 60_000);
    expect(drop.status, drop.lines.join('\n')).toBe(0);
    const start = performance.now();
    const back = await p.vm.mem.waitSize((s) => s <= ONE_STEP, 180_000, 500);
    expect(back.ok, `device still at ${back.size / MiB} MiB`).toBe(true);
    recordFigure('c_shrink_after_drop_ms', performance.now() - start, 'ms', p.vm.accel, 'data deleted -> device <= one step');
    expect(sampler.maxRequested()).toBeLessThanOrEqual(MAX);
  });
});
