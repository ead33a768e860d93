/**
 * Scenarios d and e of issue 6: the host agent dies mid-request and comes back (the guest
 * must reconcile without a double grant), and a rogue guest floods the channel (the agent
 * must cap, answer busy, hang up on the flood and keep running). In both, QEMU's
 * requested-size, sampled over the test's own QMP socket, never exceeds the VM's max.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFigure } from './harness-figures.ts';
import { DeviceSampler, requestIds, type ProductVm } from './harness-product.ts';
import { GiB, MiB } from './harness-qemu.ts';
import { bootWithProduct, waitDaemonReady, daemonTransitions, isReady, scenarioSkipReason, waitTransition } from './harness-scenario.ts';

const skip = scenarioSkipReason('scenarios d, e');

describe.skipIf(skip !== undefined)('scenario d: host agent killed mid-request and restarted', () => {
  const MAX = 1536 * MiB;
  let p: ProductVm;
  let sampler: DeviceSampler;

  beforeAll(async () => {
    p = await bootWithProduct({ name: 'scenario-d', limits: { maxBytes: MAX } });
    await waitDaemonReady(p);
    sampler = new DeviceSampler(p.vm).start(50);
  });

  afterAll(async () => {
    sampler?.stop();
    await p?.host.stop();
    await p?.vm.stop();
  });

  it('d: goes degraded, reconnects, reconciles with the real size, never double-grants or exceeds max', async () => {
    const mark = daemonTransitions(p.vm).length;
    const work = p.vm.guest.start('node alloc.mjs 900 50 5');
    const sent = await waitTransition(p.vm, (t) => t.kind === 'grow' && t.to === 'ready.awaiting-host.sent', 120_000, mark);
    await p.host.kill();
    const killedAt = daemonTransitions(p.vm).length;
    const lost = await waitTransition(p.vm, (t) => /^(degraded|connecting)$/.test(t.to), 60_000, mark);
    expect(lost.to).toMatch(/degraded|connecting/);

    // Nobody sets requested-size while the agent is dead: the size now is the truth the
    // guest must adopt when it is back.
    await new Promise((r) => setTimeout(r, 2000));
    const sizeWhileDown = await p.vm.mem.size();
    p.host.start();
    const back = await waitTransition(p.vm, isReady, 60_000, killedAt);
    if (typeof back.plugged === 'number') expect(back.plugged).toBe(sizeWhileDown);

    const res = await work.done;
    recordFigure('d_workload_status', res.status, 'exit', p.vm.accel, `grow ${sent.requestId} in flight when the agent was killed`);
    const ts = daemonTransitions(p.vm).slice(mark);
    // One increase of requested-size per distinct grow request at most: a replayed id
    // after the restart must not be granted twice.
    expect(sampler.increases()).toBeLessThanOrEqual(requestIds(ts, 'grow').length);
    expect(sampler.maxRequested()).toBeLessThanOrEqual(MAX);
  });
});

describe.skipIf(skip !== undefined)('scenario e: a rogue guest floods the channel', () => {
  const MAX = 1 * GiB;
  let p: ProductVm;
  let sampler: DeviceSampler;

  beforeAll(async () => {
    // No daemon in this guest: the rogue script owns the memresize port.
    p = await bootWithProduct({ name: 'scenario-e', daemon: false, limits: { maxBytes: MAX, requestsPerSec: 5, burst: 10 } });
    sampler = new DeviceSampler(p.vm).start(50);
  });

  afterAll(async () => {
    sampler?.stop();
    await p?.host.stop();
    await p?.vm.stop();
  });

  it('e: caps at max, answers busy, disconnects the flood and keeps running', async () => {
    const res = await p.vm.guest.run('node rogue.mjs 100 20000 15', 120_000);
    expect(res.status, res.lines.join('\n')).toBe(0);
    const line = res.lines.find((l) => l.startsWith('rogue '));
    expect(line, res.lines.join('\n')).toBeDefined();
    const s = JSON.parse(line!.slice('rogue '.length)) as { sent: number; acks: Record<string, number>; maxGranted: number; welcome: boolean; disconnected: boolean; errors: number };
    expect(s.welcome).toBe(true);
    expect(s.maxGranted).toBeLessThanOrEqual(MAX);
    expect(s.acks.busy ?? 0, JSON.stringify(s)).toBeGreaterThan(0);
    expect(s.disconnected, JSON.stringify(s)).toBe(true);
    expect(p.host.isRunning()).toBe(true);
    expect(sampler.maxRequested()).toBeLessThanOrEqual(MAX);
    expect(await p.vm.mem.requestedSize()).toBeLessThanOrEqual(MAX);
    recordFigure('e_rogue_lines_sent', s.sent, 'lines', p.vm.accel, JSON.stringify(s.acks));

    // Still serving: a well-behaved hello on the same port gets its welcome.
    const again = await p.vm.guest.run('node rogue.mjs hello', 60_000);
    expect(again.lines.join('\n')).toMatch(/"welcome":true/);
    expect(p.host.isRunning()).toBe(true);
  });
});
