/**
 * Scenario a, control run: the same guest and workload as scenario a, without memresize.
 * A 512 MiB guest cannot hold 1.2 GiB of anonymous memory and has no swap, so the kernel's
 * OOM killer must end the workload. This is the proof that, in scenario a, the daemon made
 * the difference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2ePrerequisites, reportSkip } from './harness-paths.ts';
import { recordFigure } from './harness-figures.ts';
import { bootVm, type Vm } from './harness-qemu.ts';
import { ANON_WORKLOAD, lastAllocatedMiB } from './workloads.ts';

const pre = e2ePrerequisites();
if (!pre.ok) reportSkip('scenario a control run', pre.reason);

describe.skipIf(!pre.ok)('scenario a, control run: no daemon', () => {
  let vm: Vm;

  beforeAll(async () => {
    vm = await bootVm({ name: 'control-a' });
  });

  afterAll(async () => {
    await vm?.stop();
  });

  it('OOM-kills the 100 MB/s anonymous workload that heads for 1.2 GiB in a 512 MiB guest', async () => {
    expect(await vm.mem.requestedSize()).toBe(0);
    const res = await vm.guest.run(ANON_WORKLOAD.command, 240_000);
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
