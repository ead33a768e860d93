/**
 * One guest without memresize, two suites (one boot):
 *
 * Harness self-test: a real guest kernel and a real virtio-mem device, no memresize at all.
 * The test itself sets requested-size over QMP and the guest kernel onlines plugged blocks
 * (memhp_default_state=online_movable), so this proves the machinery every scenario stands
 * on: boot, device, plug, unplug and a partial unplug.
 *
 * Then scenario a, control run: the same workload as scenario a, without memresize, once
 * the self-test has left the device at 0 (asserted again). A 512 MiB guest cannot hold
 * 1.2 GiB of anonymous memory and has no swap, so the kernel's OOM killer must end the
 * workload (with MGLRU's thrashing prevention on, so that it does so promptly). This is
 * the proof that, in scenario a, the daemon made the difference. It runs
 * last: the OOM kill is the end of this guest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2ePrerequisites, reportSkip } from './harness-paths.ts';
import { recordFigure } from './harness-figures.ts';
import { bootVm, GiB, guestMeminfo, MiB, type Vm } from './harness-qemu.ts';
import { ANON_WORKLOAD, lastAllocatedMiB } from './workloads.ts';

const pre = e2ePrerequisites();
if (!pre.ok) reportSkip('harness self-test and scenario a control run', pre.reason);

async function waitMemTotal(vm: Vm, done: (total: number) => boolean, timeoutMs: number): Promise<{ total: number; ms: number }> {
  const t0 = performance.now();
  for (;;) {
    const { total } = await guestMeminfo(vm);
    if (done(total)) return { total, ms: performance.now() - t0 };
    if (performance.now() - t0 > timeoutMs) throw new Error(`MemTotal stuck at ${total / MiB} MiB`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!pre.ok)('one guest, no daemon', () => {
  let vm: Vm;

  beforeAll(async () => {
    vm = await bootVm({ name: 'selftest-control', autoOnline: 'online_movable' });
    recordFigure('boot_to_ready_ms', vm.bootMs, 'ms', vm.accel, 'QEMU start -> guest control agent answers');
  });

  afterAll(async () => {
    await vm?.stop();
  });

  describe('harness self-test: a real guest under QEMU with virtio-mem, no daemon', () => {
    let baseTotal = 0;

    it('shows the virtio-mem device in the guest with nothing plugged', async () => {
      const ids = await vm.guest.sh('cat /sys/bus/virtio/devices/*/device');
      expect(ids.split('\n')).toContain('0x0018');
      expect(await vm.mem.size()).toBe(0);
      expect(await vm.mem.requestedSize()).toBe(0);
      baseTotal = (await guestMeminfo(vm)).total;
      expect(baseTotal).toBeGreaterThan(256 * MiB);
      expect(baseTotal).toBeLessThanOrEqual(512 * MiB);
    });

    it('grows MemTotal when the test requests 1 GiB over QMP', async () => {
      await vm.mem.setRequestedSize(1 * GiB);
      const plug = await vm.mem.waitSize((s) => s === 1 * GiB, 30_000);
      expect(plug.ok).toBe(true);
      const seen = await waitMemTotal(vm, (t) => t >= baseTotal + 1 * GiB - 64 * MiB, 30_000);
      recordFigure('plug_1GiB_ms', plug.ms, 'ms', vm.accel, 'qom-set requested-size -> size equals it');
      recordFigure('plug_1GiB_memtotal_ms', seen.ms, 'ms', vm.accel, 'size reached -> guest MemTotal grown');
    });

    it('shrinks MemTotal back when the request returns to 0', async () => {
      await vm.mem.setRequestedSize(0);
      const unplug = await vm.mem.waitSize((s) => s === 0, 60_000);
      expect(unplug.ok).toBe(true);
      const seen = await waitMemTotal(vm, (t) => t <= baseTotal, 30_000);
      expect(seen.total).toBe(baseTotal);
      recordFigure('unplug_1GiB_idle_ms', unplug.ms, 'ms', vm.accel, 'qom-set 0 -> size 0, idle guest');
    });

    it('ends an unplug partial while tmpfs pins more than base RAM holds, and completes it once the data is gone', async () => {
      await vm.mem.setRequestedSize(1 * GiB);
      expect((await vm.mem.waitSize((s) => s === 1 * GiB, 30_000)).ok).toBe(true);
      await waitMemTotal(vm, (t) => t >= baseTotal + 1 * GiB - 64 * MiB, 30_000);
      // Base MemTotal is ~390 MiB: 600 MiB of tmpfs cannot all migrate back into it.
      const pinMiB = 600;
      const fill = await vm.guest.run(`sh tmpfs-pin.sh fill /mnt/pin 1200 ${pinMiB}`, 120_000);
      expect(fill.status, fill.lines.join('\n')).toBe(0);
      expect(fill.lines).toContain(`fill done ${pinMiB}MiB`);

      await vm.mem.setRequestedSize(0);
      const stuck = await vm.mem.waitSettled(4000, 60_000);
      expect(await vm.mem.requestedSize()).toBe(0);
      // What cannot move back stays plugged: at least the data that base RAM cannot hold.
      expect(stuck).toBeGreaterThanOrEqual((pinMiB * MiB - baseTotal) / 2);
      expect(stuck).toBeLessThan(1 * GiB);
      recordFigure('partial_unplug_stuck_MiB', stuck / MiB, 'MiB', vm.accel, `${pinMiB} MiB tmpfs pinned, request 0`);

      const drop = await vm.guest.run('sh tmpfs-pin.sh drop /mnt/pin', 30_000);
      expect(drop.status, drop.lines.join('\n')).toBe(0);
      // The driver retries a failed unplug only after tens of seconds; setting the request
      // again (even to the same value) makes it retry at once.
      const t0 = performance.now();
      await vm.mem.setRequestedSize(0);
      const done = await vm.mem.waitSize((s) => s === 0, 60_000);
      expect(done.ok, `size still ${done.size / MiB} MiB`).toBe(true);
      recordFigure('unplug_after_drop_ms', performance.now() - t0, 'ms', vm.accel, `from ${stuck / MiB} MiB, data deleted`);
    });
  });

  describe('scenario a, control run: no daemon', () => {
    it('OOM-kills the 100 MB/s anonymous workload that heads for 1.2 GiB in a 512 MiB guest', async () => {
      // The self-test left nothing plugged: the guest has only its boot RAM.
      expect(await vm.mem.requestedSize()).toBe(0);
      expect(await vm.mem.size()).toBe(0);
      // Without swap the only reclaimable pages left are file pages, chiefly node's own code
      // (read over 9p). The kernel can keep evicting and refaulting them for minutes before it
      // decides reclaim made no progress: a livelock, not an OOM kill (one CI run waited 240 s).
      // MGLRU's thrashing prevention is the kernel's answer: with min_ttl_ms set, it invokes
      // the OOM killer once it cannot keep the working set of the last second resident. That
      // only makes the unavoidable end (1.2 GiB cannot fit in 512 MiB) come promptly.
      const thrash = await vm.guest.run(
        'echo y >/sys/kernel/mm/lru_gen/enabled && echo 1000 >/sys/kernel/mm/lru_gen/min_ttl_ms && cat /sys/kernel/mm/lru_gen/min_ttl_ms',
        30_000,
      );
      expect(thrash.status, `MGLRU thrashing prevention unavailable: ${thrash.lines.join('\n')}`).toBe(0);
      const res = await vm.guest.run(ANON_WORKLOAD.command, 180_000);
      const out = res.lines.join('\n');
      // 137 = 128 + SIGKILL: what the OOM killer sends.
      expect(res.status, out).toBe(137);
      expect(out).not.toMatch(/^done /m);
      const dmesg = await vm.guest.sh('dmesg');
      expect(dmesg).toMatch(/Out of memory: Killed process \d+ \(node\)/);
      // Nothing was plugged: the guest had only its boot RAM.
      expect(await vm.mem.size()).toBe(0);
      recordFigure('control_oom_kill_after_ms', res.ms, 'ms', vm.accel, `no daemon, killed at ~${lastAllocatedMiB(res.lines)} MiB allocated`);
    });
  });
});
