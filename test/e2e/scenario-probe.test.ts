/**
 * The probe zone under a real kernel: a page-cache working set stalls and teaches the daemon
 * a floor; the floor decays (a 20 s half-life here instead of 30 min, so it fits the run) and
 * the daemon gives the memory back; the same rereads then run from below the learned floor.
 * There the daemon must read PSI every 100 ms (rtpoll mode: the guest's daemon is root with
 * CAP_SYS_RESOURCE), answer the stall with a grow, and its reads must not suppress the
 * kernel's trigger (they would in avgs mode, docs/signals.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFigure } from './harness-figures.ts';
import { DeviceSampler, type ProductVm } from './harness-product.ts';
import { GiB, MiB } from './harness-qemu.ts';
import { bootWithProduct, checkDaemonRestarts, daemonTransitions, MAX_DAEMON_RESTARTS, scenarioSkipReason, waitDaemonReady } from './harness-scenario.ts';
import { rereadPasses } from './workloads.ts';

const skip = scenarioSkipReason('scenario probe');
const MAX = 2 * GiB;
const HALF_LIFE_MS = 20_000;
const REREAD = 'sh reread.sh /mnt/reread/data.bin';

interface GuestStatusView {
  sizes: { memAvailableBytes?: number; floorBytes?: number; learnedFloorBytes?: number; probing: boolean; pluggedBytes: number };
  signals: { psi?: { mode?: string }; psiTriggers: number; psiProbeReads: number };
}

describe.skipIf(skip !== undefined)('scenario probe: below a decayed stall floor the daemon probes PSI and grows on the stall', () => {
  let p: ProductVm;
  let sampler: DeviceSampler;

  const status = async (): Promise<GuestStatusView> => {
    const st = await p.vm.guest.run('node /app/dist/memresize-guest.mjs status --json', 30_000);
    expect(st.status, st.lines.join('\n')).toBe(0);
    return JSON.parse(st.lines.join('\n')) as GuestStatusView;
  };

  beforeAll(async () => {
    p = await bootWithProduct({ name: 'scenario-probe', limits: { maxBytes: MAX }, vm: { rereadDisk: true }, guestExtra: { policy: { stallFloorHalfLifeMs: HALF_LIFE_MS } } });
    await waitDaemonReady(p);
    sampler = new DeviceSampler(p.vm).start(200);
    const mount = await p.vm.guest.run('mkdir -p /mnt/reread && mount -t ext4 -o ro,noload /dev/vda /mnt/reread', 60_000);
    expect(mount.status, mount.lines.join('\n')).toBe(0);
  });

  afterAll(async () => {
    sampler?.stop();
    await p?.host.stop();
    await p?.vm.stop();
  });

  it('learns a floor from rereads, gives the memory back as it decays, then probes and grows when the rereads return', async () => {
    const st0 = await status();
    expect(st0.signals.psi?.mode, 'probes need the rtpoll mode (a daemon with CAP_SYS_RESOURCE)').toBe('rtpoll');

    // 1: the working set stalls and teaches a floor.
    const first = await p.vm.guest.run(`${REREAD} 4 2`, 300_000);
    expect(first.status, first.lines.join('\n')).toBe(0);
    const taught = await status();
    expect(taught.sizes.learnedFloorBytes, 'no stall taught a floor').toBeDefined();
    const grownTo = Math.max(...sampler.samples.map((s) => s.size));

    // 2: the floor decays and the daemon shrinks under what the stall taught.
    const deadline = Date.now() + 240_000;
    let st = taught;
    while (!(st.sizes.probing && st.sizes.pluggedBytes < grownTo) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5000));
      st = await status();
    }
    expect(st.sizes.probing, `MemAvailable never fell below the learned floor: ${JSON.stringify(st.sizes)}`).toBe(true);
    expect(st.sizes.pluggedBytes).toBeLessThan(grownTo);

    // 3: the rereads again, from inside the probe zone.
    const mark = daemonTransitions(p.vm).length;
    const before = st.signals;
    const again = await p.vm.guest.run(`${REREAD} 3 2`, 300_000);
    expect(again.status, again.lines.join('\n')).toBe(0);
    const after = (await status()).signals;
    const stalls = daemonTransitions(p.vm)
      .slice(mark)
      .filter((t) => t.event === 'psi.pressure');
    const vias = stalls.map((t) => String(t.via));
    const grows = daemonTransitions(p.vm)
      .slice(mark)
      .filter((t) => t.kind === 'grow' && t.to.startsWith('ready.awaiting-host') && t.event === 'psi.pressure');
    expect(after.psiProbeReads - before.psiProbeReads, 'no probe reads in the zone').toBeGreaterThan(0);
    expect(grows.length, `no grow on the stall (psi.pressure via ${vias.join(', ') || 'nothing'})`).toBeGreaterThan(0);
    // The kernel's trigger goes on firing (probe reads fold the averages' aggregator, the
    // trigger is the rtpoll thread's; in avgs mode they would share one, and it would not).
    expect(after.psiTriggers - before.psiTriggers, `no trigger while probing (psi.pressure via ${vias.join(', ')})`).toBeGreaterThan(0);
    const passes = rereadPasses(again.lines);
    recordFigure('probe_reads', after.psiProbeReads - before.psiProbeReads, 'reads', p.vm.accel, `triggers ${after.psiTriggers - before.psiTriggers}; psi.pressure via ${vias.join(', ')}; passes ${passes.map((x) => `${x.ms} ms/${x.stallUs} us`).join(', ')}`);
    expect(checkDaemonRestarts(p.vm, 'scenario probe').restarts).toBeLessThanOrEqual(MAX_DAEMON_RESTARTS);
    console.log(`learned floor ${(taught.sizes.learnedFloorBytes ?? 0) / MiB} MiB; probing at ${(st.sizes.memAvailableBytes ?? 0) / MiB} MiB available, ${st.sizes.pluggedBytes / MiB} MiB plugged; psi.pressure via: ${vias.join(', ')}`);
  });
});
