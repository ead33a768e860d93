/**
 * The fact the simulator's unplug model rests on (docs/simulator.md, "Guest memory model"):
 * can hot-plugged memory that was onlined into a kernel zone (ZONE_NORMAL) be unplugged
 * again? The daemon onlines kernel-zone blocks on purpose (the kernel-zone floor and the
 * auto-movable ratio, src/policy/zones.ts), so what they cost afterwards matters.
 *
 * One guest, no daemon; the kernel onlines every plugged block into Normal
 * (memhp_default_state=online_kernel). Measured here: after an anonymous burst that exits,
 * an unplug to 0 leaves 4 MiB plugged; with a process still holding 200 MiB and 50,000
 * files' worth of unreclaimable slab, 58 MiB (the anonymous pages migrate into boot memory,
 * the slab pages pin their blocks). The kernel zone is not free to unplug, but neither is
 * it stuck: what stays is what the kernel's own allocations occupy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2ePrerequisites, reportSkip } from './harness-paths.ts';
import { recordFigure } from './harness-figures.ts';
import { bootVm, GiB, guestMeminfo, MiB, type Vm } from './harness-qemu.ts';

const pre = e2ePrerequisites();
if (!pre.ok) reportSkip('kernel-zone unplug', pre.reason);

describe.skipIf(!pre.ok)('hot-plugged memory onlined into ZONE_NORMAL, no daemon', () => {
  let vm: Vm;

  beforeAll(async () => {
    vm = await bootVm({ name: 'kernel-zone-unplug', autoOnline: 'online_kernel' });
  });

  afterAll(async () => {
    await vm?.stop();
  });

  const normalZoneOf = async (): Promise<string[]> =>
    (await vm.guest.sh('for b in /sys/devices/system/memory/memory*; do [ "$(cat $b/state)" = online ] && cat $b/valid_zones; done')).split('\n').filter(Boolean);

  const plugOneGiB = async () => {
    await vm.mem.setRequestedSize(1 * GiB);
    expect((await vm.mem.waitSize((s) => s === 1 * GiB, 30_000)).ok).toBe(true);
    // 8 blocks of 128 MiB, each onlined Normal by the kernel.
    for (let i = 0; i < 100 && (await normalZoneOf()).filter((z) => z === 'Normal').length < 8; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await normalZoneOf()).filter((z) => z === 'Normal').length).toBeGreaterThanOrEqual(8);
  };

  const unplugAll = async (): Promise<number> => {
    await vm.mem.setRequestedSize(0);
    await vm.mem.waitSettled(4000, 90_000);
    // The driver retries a stuck unplug only after tens of seconds: ask again at once.
    await vm.mem.setRequestedSize(0);
    return vm.mem.waitSettled(4000, 90_000);
  };

  it('unplugs nearly all of it after an anonymous burst that used it has exited', async () => {
    await plugOneGiB();
    const burst = await vm.guest.run('node alloc.mjs 1100 100 3', 180_000);
    expect(burst.status, burst.lines.join('\n')).toBe(0);
    const stuck = await unplugAll();
    expect(stuck, `${stuck / MiB} MiB stayed plugged`).toBeLessThanOrEqual(64 * MiB);
    recordFigure('kernel_zone_unplug_after_burst_MiB', stuck / MiB, 'MiB', vm.accel, '1 GiB onlined Normal, 1100 MiB anon burst exited, request 0');
  });

  it('keeps only what kernel allocations pin while a process holds memory and slab is in use', async () => {
    await plugOneGiB();
    const hold = vm.guest.start('node alloc.mjs 200 100 600');
    await hold.waitFor(/^holding/, 60_000);
    // 50,000 empty tmpfs files: dentries and inodes, unreclaimable while the files exist.
    const files = await vm.guest.run(
      `mkdir -p /mnt/f && mount -t tmpfs -o size=64m f /mnt/f && node -e "const fs=require('fs');for(let i=0;i<50000;i++)fs.writeFileSync('/mnt/f/'+i,'')" && grep -E '^(Slab|SUnreclaim):' /proc/meminfo`,
      180_000,
    );
    expect(files.status, files.lines.join('\n')).toBe(0);
    const slabKiB = Number(/Slab:\s+(\d+)/.exec(files.lines.join('\n'))?.[1] ?? 0);
    const stuck = await unplugAll();
    // The holder's pages migrated into boot memory (it is alive, not OOM-killed) ...
    expect(hold.lines.some((l) => /done|killed/i.test(l))).toBe(false);
    expect((await guestMeminfo(vm)).total).toBeGreaterThan(256 * MiB);
    // ... and most of the block went, but not all: slab pages pin theirs.
    expect(stuck, `${stuck / MiB} MiB stayed plugged`).toBeLessThan(512 * MiB);
    expect(stuck).toBeGreaterThan(0);
    recordFigure('kernel_zone_unplug_with_slab_MiB', stuck / MiB, 'MiB', vm.accel, `1 GiB onlined Normal, 200 MiB held by a live process, slab ${Math.round(slabKiB / 1024)} MiB (50k tmpfs files), request 0`);
    await vm.guest.run('rm -f /mnt/f/* ; umount /mnt/f', 120_000);
  });
});
