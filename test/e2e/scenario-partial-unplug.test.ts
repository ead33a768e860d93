/**
 * Scenario c of issue 6: demand returns while the daemon's unplug runs. After an anonymous
 * burst the daemon shrinks the surplus; the moment the guest sees MemTotal drop (the unplug
 * has begun), a guest script pins in tmpfs nearly all of what is available, more than what
 * stays plugged after the unplug can hold. tmpfs has no swap, so the memory being unplugged
 * can no longer be emptied: the device stays above the requested size, the host reports the
 * unplug `done` partial, and the daemon must record the failure and back off (no unplug
 * storm). Once the data is deleted a later shrink must complete.
 *
 * Why not pin first: MemAvailable excludes shmem, so the daemon's shrinks always stay above
 * data pinned beforehand and every unplug completes (measured: 1.57 GiB -> 776 MiB plugged
 * with 700 MiB pinned, tmpfs pages migrate). The daemon may also abort a shrink when the
 * demand shows in its signals first (it then asks the host to hold or grow): product
 * behaviour too, but not this scenario's; the test then says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFigure } from './harness-figures.ts';
import { DeviceSampler, requestIds, type ProductVm, type Transition } from './harness-product.ts';
import { GiB, MiB } from './harness-qemu.ts';
import { bootWithProduct, checkDaemonRestarts, daemonTransitions, jobDone, MAX_DAEMON_RESTARTS, scenarioSkipReason, waitDaemonReady, waitTransition } from './harness-scenario.ts';

const skip = scenarioSkipReason('scenario c');
const MAX = 2 * GiB;
const ONE_STEP = 128 * MiB;
/** No storm: at most this many shrink requests in any 60 s. */
const MAX_SHRINKS_PER_MINUTE = 4;
/**
 * Share of MemAvailable pinned when the unplug begins. After the ~900 MiB burst that is
 * ~1 GiB, far above what the shrink leaves available: reserve + one grow step (~256 MiB),
 * or up to ~450 MiB when a PSI stall during the burst raised the daemon's stall floor (with
 * 50 % one run in four pinned too little, and the unplug was slow instead of stuck).
 */
const PIN_PERCENT = 75;
/** dd of ~1 GiB into tmpfs takes seconds under TCG; minutes means the guest is stuck. */
const PIN_DEADLINE_MS = 120_000;

const isShrinkEnd = (t: Transition): boolean => t.from === 'ready.shrinking' && t.to !== 'ready.shrinking';
const isPartialUnplug = (t: Transition): boolean => isShrinkEnd(t) && /partial|failed|not observed/i.test(t.why ?? '');

function maxPerWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0; i < times.length; i++) {
    const n = times.filter((t) => t >= (times[i] as number) && t < (times[i] as number) + windowMs).length;
    best = Math.max(best, n);
  }
  return best;
}

describe.skipIf(skip !== undefined)('scenario c: an unplug that demand makes partial is recorded, backed off and completed later', () => {
  let p: ProductVm;
  let sampler: DeviceSampler;

  beforeAll(async () => {
    p = await bootWithProduct({
      name: 'scenario-c',
      // The host calls an unplug that has not reached its target after 1 s (default 60 s)
      // and the daemon waits 30 s for it (default 5 s + 6 s/GiB): the partial comes as the
      // host's `done`, before the pin's fall of MemAvailable shows in the daemon's trend
      // (with 8 s the daemon aborted the shrink on headroom.low in 1 of 2 runs: the other
      // product path, not this scenario's; with 2 s it passed 7 CI runs, then on
      // 2026-11-27 lost the race 5 times in a row, old and new code alike: the daemon's
      // headroom.low came 1.5-1.9 s into the unplug). The unplug of ~900 MiB takes 2-3 s
      // here, so at 1 s it is unfinished with or without the pin; what the pin adds is
      // that the next shrinks cannot complete while it stays. Back-off and cooldown shorter
      // than production so the retry after the data is gone fits the run.
      limits: { maxBytes: MAX, adapter: { unplugTimeoutMs: 1000 } },
      // relaxedHoldMs stays at its default (30 s): with 10 s the daemon, after regrowing for
      // the pinned data, sent a small successful shrink every 10 s (5 in 60 s).
      guestExtra: { timing: { unplugBackoffBaseMs: 10_000, cooldownAfterShrinkMs: 5000, unplugTimeoutBaseMs: 30_000 } },
    });
    await waitDaemonReady(p);
    sampler = new DeviceSampler(p.vm).start(200);
  });

  afterAll(async () => {
    sampler?.stop();
    await p?.host.stop();
    await p?.vm.stop();
  });

  it('c: ends the shrink partial when demand returns during the unplug, backs off, and completes the shrink once the data is deleted', async () => {
    const mark = daemonTransitions(p.vm).length;
    // An anonymous burst that exits: the surplus it leaves is what the daemon shrinks.
    const burst = await p.vm.guest.run('node alloc.mjs 900 100 3', 180_000);
    expect(burst.status, burst.lines.join('\n')).toBe(0);
    expect(await p.vm.mem.size(), 'the burst did not grow the VM').toBeGreaterThan(256 * MiB);

    const pinJob = p.vm.guest.start(`sh shrink-pin.sh /mnt/pin ${PIN_PERCENT} 150`);
    await pinJob.waitFor(/^unplug seen/, 170_000);
    // The shrink the pin answered: the last one that began before the guest saw the drop.
    const atSeen = daemonTransitions(p.vm);
    const began = atSeen.map((t, i) => ({ t, i })).filter(({ t, i }) => i >= mark && t.to === 'ready.shrinking' && t.from !== 'ready.shrinking').at(-1);
    expect(began, 'the guest saw MemTotal drop, but the daemon logged no shrink').toBeDefined();
    const pin = await jobDone(p, pinJob, PIN_DEADLINE_MS, 'the pin');
    expect(pin.status, pin.lines.join('\n')).toBe(0);
    const end = await waitTransition(p.vm, isShrinkEnd, 90_000, began!.i + 1);
    const ts0 = daemonTransitions(p.vm).slice(mark);
    expect(
      isPartialUnplug(end),
      `the shrink ended ${end.from} -> ${end.to} (${end.event}, why: ${end.why}) instead of partial; pin: ${pin.lines.join(' | ')}\n` +
        ts0.map((t) => `${t.from} -> ${t.to} ${t.event} ${t.kind ?? ''} plugged=${t.plugged} ${t.why ?? ''}`).join('\n'),
    ).toBe(true);
    // The host's own account of that unplug: stopped above its target.
    const hostDone = p.host.lines().find((l) => l.msg === 'resize done' && l.requestId === end.requestId);
    expect(hostDone, `no host 'resize done' for ${end.requestId}`).toBeDefined();
    expect(hostDone?.status).toMatch(/partial|failed/);
    expect(Number(hostDone?.plugged)).toBeGreaterThan(Number(hostDone?.target));
    // The host stopped the unplug where it reported it: nothing is unplugged behind the
    // reply in the 5 s after (before the fix the guest's driver went on towards the target,
    // 402 -> 134 MiB in 1.2 s, while the pinned data needed the memory: OOM kills).
    const doneAt = Number(hostDone?.time);
    expect(p.host.lines().some((l) => l.msg === 'resize stopped at the size reached' && Number(l.reached) === Number(hostDone?.plugged))).toBe(true);
    await new Promise((r) => setTimeout(r, Math.max(0, doneAt + 5000 - Date.now())));
    const after = sampler.samples.filter((x) => x.t >= doneAt && x.t <= doneAt + 5000);
    expect(after.length).toBeGreaterThan(5);
    expect(Math.min(...after.map((x) => x.size)), 'memory was unplugged after the host reported the unplug stopped').toBeGreaterThanOrEqual(Number(hostDone?.plugged));
    const from = ts0.filter((t) => t.to === 'ready.shrinking').at(-1)?.plugged;
    recordFigure(
      'c_partial_unplug_stuck_MiB',
      Number(hostDone?.plugged) / MiB,
      'MiB',
      p.vm.accel,
      `shrink ${Number(from) / MiB} -> ${Number(hostDone?.target) / MiB} MiB stopped at ${Number(hostDone?.plugged) / MiB} MiB (host: ${String(hostDone?.status)}); ${pin.lines.find((l) => l.startsWith('unplug seen')) ?? ''}`,
    );

    // Watch the back-off for a minute with the data still pinned.
    await new Promise((r) => setTimeout(r, 60_000));
    const ts = daemonTransitions(p.vm).slice(mark);
    const shrinkTimes = ts.filter((t) => t.kind === 'shrink' && t.to.startsWith('ready.awaiting-host') && !t.from.startsWith('ready.awaiting-host')).map((t) => t.time ?? 0);
    expect(maxPerWindow(shrinkTimes, 60_000), `shrink requests at ${shrinkTimes.join(', ')}`).toBeLessThanOrEqual(MAX_SHRINKS_PER_MINUTE);
    recordFigure('c_shrink_requests_while_pinned', requestIds(ts, 'shrink').length, 'requests', p.vm.accel, `partial at plugged=${end.plugged}`);

    const drop = await p.vm.guest.run('sh tmpfs-pin.sh drop /mnt/pin', 60_000);
    expect(drop.status, drop.lines.join('\n')).toBe(0);
    const start = performance.now();
    const back = await p.vm.mem.waitSize((s) => s <= ONE_STEP, 150_000, 500);
    expect(back.ok, `device still at ${back.size / MiB} MiB`).toBe(true);
    recordFigure('c_shrink_after_drop_ms', performance.now() - start, 'ms', p.vm.accel, 'data deleted -> device <= one step');
    expect(sampler.maxRequested()).toBeLessThanOrEqual(MAX);
    expect(p.vm.console(), 'the guest OOM-killed').not.toMatch(/Out of memory/);
  });

  it('c: the daemon did not keep crashing', () => {
    expect(checkDaemonRestarts(p.vm, 'c').restarts).toBeLessThanOrEqual(MAX_DAEMON_RESTARTS);
  });
});
