/**
 * Scenarios d and e of issue 6, on one guest: the host agent dies mid-request and comes back
 * (the guest must reconcile without a double grant), then, with the daemon stopped, a rogue
 * guest floods the channel (the agent must cap, answer busy, hang up on the flood and keep
 * running). In both, QEMU's requested-size, sampled over the test's own QMP socket, never
 * exceeds the VM's max.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFigure } from './harness-figures.ts';
import { DeviceSampler, HostAgent, hostConfigYaml, requestIds, type ProductVm } from './harness-product.ts';
import { join } from 'node:path';
import { MiB, type Vm } from './harness-qemu.ts';
import { QmpDelayProxy } from './harness-qmp-proxy.ts';
import { bootWithProduct, checkDaemonRestarts, daemonRestarts, waitDaemonReady, daemonTransitions, isReady, MAX_DAEMON_RESTARTS, jobDone, scenarioSkipReason, waitTransition } from './harness-scenario.ts';

const skip = scenarioSkipReason('scenarios d, e');


describe.skipIf(skip !== undefined)('scenarios d, e on one guest: host agent killed mid-request; rogue flood', () => {
  const MAX = 1536 * MiB;
  let p: ProductVm;
  let sampler: DeviceSampler;
  let proxy: QmpDelayProxy;

  beforeAll(async () => {
    // The agent reaches QEMU's monitor through a proxy that holds QEMU's answers once the
    // agent has set a larger requested-size: the kill lands while the grow is in flight.
    const qmpProxyPath = (vm: Vm) => join(vm.dir, 'qmp-proxy.sock');
    p = await bootWithProduct({
      name: 'scenario-d',
      limits: { maxBytes: MAX },
      qmpSocket: qmpProxyPath,
      beforeHost: async (vm) => {
        proxy = new QmpDelayProxy(qmpProxyPath(vm), vm.agentQmpSocket);
        await proxy.listen();
      },
    });
    await waitDaemonReady(p);
    sampler = new DeviceSampler(p.vm).start(50);
  });

  afterAll(async () => {
    sampler?.stop();
    await p?.host.stop();
    proxy?.close();
    await p?.vm.stop();
  });

  it('d: goes degraded, reconnects, reconciles with the real size, never double-grants or exceeds max', async () => {
    const mark = daemonTransitions(p.vm).length;
    const held = proxy.holdOnGrow();
    const work = p.vm.guest.start('node alloc.mjs 900 50 5');
    const qomSet = await Promise.race([held, work.done.then((r) => Promise.reject(new Error(`workload ended (${r.status}) before any grow: ${r.lines.join(' | ')}`)))]);
    // Inside the window: the agent decided and acked, QEMU is plugging, no qom-set reply yet.
    await p.host.kill();
    const killMs = Date.now() - qomSet.at;
    const agentLines = p.host.lines();
    expect(agentLines.some((l) => l.msg === 'host agent stopping'), 'the agent shut down in order: it was not SIGKILLed').toBe(false);
    const decision = agentLines.filter((l) => l.msg === 'decision' && l.kind === 'grow').at(-1);
    expect(decision, 'the agent logged no grow decision before the kill').toBeDefined();
    expect(decision?.granted).toBe(qomSet.value);
    const reqId = decision?.requestId;
    expect(
      agentLines.some((l) => l.msg === 'resize done' && l.requestId === reqId),
      'the kill landed after the agent reported the grow done',
    ).toBe(false);
    const killedAt = daemonTransitions(p.vm).length;
    const lost = await waitTransition(p.vm, (t) => /^(degraded|connecting)$/.test(t.to), 60_000, mark);
    expect(lost.to).toMatch(/degraded|connecting/);

    // Nobody sets requested-size while the agent is dead: the plug QEMU got before the kill
    // completes, and that size is the truth the guest must adopt when the agent is back.
    const settled = await p.vm.mem.waitSize((s) => s === qomSet.value, 10_000);
    expect(settled.ok, `device at ${settled.size / MiB} MiB, agent had set ${qomSet.value / MiB} MiB`).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
    const sizeWhileDown = await p.vm.mem.size();
    p.host.start();
    const back = await waitTransition(p.vm, isReady, 60_000, killedAt);
    if (typeof back.plugged === 'number') expect(back.plugged).toBe(sizeWhileDown);

    // 900 MiB at 50 MB/s + 5 s hold take ~25 s; minutes means the guest is stuck.
    const res = await jobDone(p, work, 180_000, 'the workload');
    recordFigure('d_workload_status', res.status, 'exit', p.vm.accel, `grow ${String(reqId)} to ${qomSet.value / MiB} MiB in flight: agent killed ${killMs} ms after its qom-set, before QEMU's reply; guest back at plugged=${String(back.plugged)}`);
    expect(res.status, res.lines.join('\n')).toBe(0);
    const ts = daemonTransitions(p.vm).slice(mark);
    // One increase of requested-size per distinct grow request at most: a replayed id
    // after the restart must not be granted twice.
    expect(sampler.increases()).toBeLessThanOrEqual(requestIds(ts, 'grow').length);
    expect(sampler.maxRequested()).toBeLessThanOrEqual(MAX);
    expect(Math.max(...proxy.qomSets.map((q) => q.value))).toBeLessThanOrEqual(MAX);
  });

  it('d: the daemon did not keep crashing', () => {
    expect(checkDaemonRestarts(p.vm, 'd').restarts).toBeLessThanOrEqual(MAX_DAEMON_RESTARTS);
  });

  // Scenario e on the same guest (one boot less): the daemon is stopped with SIGTERM, which
  // /init, like systemd, does not restart, so the rogue script can own the memresize port;
  // a new host agent serves the VM with a rate limit.
  it('e: caps at max, answers busy, disconnects the flood and keeps running', async () => {
    await p.host.stop();
    await p.vm.guest.sh('kill -TERM $(cat /run/memresize-guest.pid)');
    const t0 = Date.now();
    while (!/memresize guest exited with status/.test(p.vm.console().split('e2e-init: restarting').at(-1) ?? '') && Date.now() - t0 < 20_000) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const exits = daemonRestarts(p.vm).statuses;
    expect(exits.at(-1), `the daemon did not exit cleanly on SIGTERM: ${p.vm.console().split('\n').slice(-5).join(' | ')}`).toSatisfy((s: number | undefined) => s === 0 || s === 143);
    p.host = new HostAgent(p.vm, hostConfigYaml(p.vm, { maxBytes: MAX, requestsPerSec: 5, burst: 10 }));
    p.host.start();
    const eMark = sampler.samples.length;

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
    expect(Math.max(0, ...sampler.samples.slice(eMark).map((x) => x.requested))).toBeLessThanOrEqual(MAX);
    expect(await p.vm.mem.requestedSize()).toBeLessThanOrEqual(MAX);
    recordFigure('e_rogue_lines_sent', s.sent, 'lines', p.vm.accel, JSON.stringify(s.acks));

    // Still serving: a well-behaved hello on the same port gets its welcome.
    const again = await p.vm.guest.run('node rogue.mjs hello', 60_000);
    expect(again.lines.join('\n')).toMatch(/"welcome":true/);
    expect(p.host.isRunning()).toBe(true);
  });
});

