/**
 * The guest's real resize machine and real HostLink over a unix socket, against the real
 * host agent (fake adapter) started in-process, on real (short) timers. The fake device
 * stands in for the VM: the test feeds its plugged size back to the machine as what the
 * guest observes. The trace must show every ack outcome.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createActor } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { HostConfigSchema } from '../../src/config/host.ts';
import { LinkSchema } from '../../src/config/link.ts';
import { MachineConfigSchema } from '../../src/config/schema.ts';
import { MiB } from '../../src/config/units.ts';
import { startHostAgent, type RunningAgent } from '../../src/host/run.ts';
import { makeResizerEffects } from '../../src/io/effects.ts';
import { makeHostLinkFromConfig } from '../../src/io/host-link-factory.ts';
import type { HostLink } from '../../src/io/host-link.ts';
import { makeMemoryLogger } from '../../src/io/log.ts';
import { makeTransitionTracer, stateName, type TransitionRecord } from '../../src/io/transition-trace.ts';
import { resizerMachine } from '../../src/machines/resizer.ts';
import { waitUntil } from '../ops/harness.ts';

const BOOT = 512 * MiB;
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe('guest machine and host agent end to end over a unix socket', () => {
  it('grows and shrinks, and the trace shows granted, partial, denied and busy', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memresize-e2e-'));
    const socketPath = path.join(dir, 'vm1.sock');
    cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }));

    const hostLog = makeMemoryLogger({ level: 'info' });
    const config = HostConfigSchema.parse({
      // Room for two 128 MiB steps only partly: the second grow is partial, the third denied.
      budgetBytes: '192MiB',
      metrics: { enabled: true, port: 0 },
      vms: [{ name: 'vm1', channel: { kind: 'unix-listen', path: socketPath }, adapter: { kind: 'fake' }, maxBytes: '512MiB', requestsPerSec: 0.5, burst: 3 }],
    });
    const host: RunningAgent = await startHostAgent(config, { log: hostLog.log });
    cleanup.push(() => host.close());

    const guestLog = makeMemoryLogger({ level: 'info' });
    const link: HostLink = makeHostLinkFromConfig(LinkSchema.parse({ transport: 'unix', socketPath, reconnectBaseMs: 20 }), { log: guestLog.log });
    cleanup.push(() => link.close());
    const records: TransitionRecord[] = [];
    const machineConfig = MachineConfigSchema.parse({ timing: { cooldownAfterGrowMs: 50, cooldownAfterDenyMs: 50, cooldownAfterDenyMaxMs: 50, cooldownAfterShrinkMs: 50 } });
    const actor = createActor(resizerMachine.provide(makeResizerEffects(link, guestLog.log)), {
      input: { config: machineConfig, idPrefix: 'e2e', pluggedBytes: 0 },
      inspect: makeTransitionTracer(guestLog.log, { onRecord: (r) => records.push(r) }),
    });
    actor.start();
    cleanup.push(async () => void actor.stop());
    const sub = link.events$.subscribe((e) => actor.send(e));
    cleanup.push(async () => sub.unsubscribe());

    // The guest observes its own memory: here, the fake device's plugged size.
    const device = host.adapters.vm1!;
    const observer = setInterval(() => {
      const plugged = device.state()?.pluggedBytes ?? 0;
      actor.send({ type: 'mem.observed', pluggedBytes: plugged });
    }, 10);
    cleanup.push(async () => clearInterval(observer));

    const state = () => stateName(actor.getSnapshot().value);
    const waitFor = async (what: string, cond: () => boolean, ms = 5000) => {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; state ${state()}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const cooled = () => records.filter((r) => r.from === 'ready.cooling' && r.to === 'ready.idle').length;
    const pressure = () => actor.send({ type: 'psi.pressure', severity: 'some', stallPercent: 20 });

    await waitFor('handshake', () => state() === 'ready.idle');
    pressure();
    await waitFor('first grow', () => cooled() === 1 && state() === 'ready.idle');
    const first = device.state()!.pluggedBytes;
    pressure();
    await waitFor('second grow', () => cooled() === 2 && state() === 'ready.idle');
    expect(first).toBeGreaterThanOrEqual(128 * MiB);
    expect(device.state()!.pluggedBytes).toBe(192 * MiB);
    pressure();
    await waitFor('denial', () => records.some((r) => r.event === 'host.ack' && r.context.lastOutcome === 'denied'));
    await waitFor('idle after denial', () => state() === 'ready.idle');
    // Plenty of free memory and no pressure: give memory back. The request rate (0.5/s, burst
    // 3) is used up by now, so the host first says busy and the guest retries the same id.
    actor.send({ type: 'meminfo.sample', atMs: 0, memTotalBytes: BOOT + 192 * MiB, memAvailableBytes: 600 * MiB, availableTrendBps: 0 });
    actor.send({ type: 'psi.relaxed' });
    await waitFor('shrink', () => state() === 'ready.idle' && device.state()!.pluggedBytes < 192 * MiB, 8000);

    const outcomes = records.filter((r) => r.event === 'host.ack').map((r) => `${r.context.lastOutcome}${r.context.lastReason ? `:${r.context.lastReason}` : ''}`);
    expect(outcomes).toEqual(['granted', 'partial:budget', 'denied:budget', 'busy:rate-limited', 'granted']);
    const visited = new Set(records.map((r) => r.to));
    expect([...visited]).toEqual(expect.arrayContaining(['ready.growing', 'ready.shrinking', 'ready.awaiting-host.busy', 'ready.cooling']));
    // The busy request was retried with the same id.
    const sends = guestLog.lines.filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('request'));
    const shrinkSends = sends.filter((l) => l.kind === 'shrink');
    expect(shrinkSends.length).toBe(2);
    expect(shrinkSends[0]!.requestId).toBe(shrinkSends[1]!.requestId);
    // The host never went over its budget, and logged each decision with its rule.
    expect(host.agent.holdsBytes()).toBeLessThanOrEqual(192 * MiB);
    const decisions = hostLog.lines.filter((l) => l.msg === 'decision').map((l) => `${String(l.outcome)}/${String(l.rule ?? '-')}`);
    expect(decisions).toEqual(['granted/none', 'partial/budget', 'denied/budget', 'busy/-', 'granted/none']);
    // And its metrics count the outcomes.
    const text = await (await fetch(`http://127.0.0.1:${host.metricsPort}/metrics`)).text();
    expect(text).toMatch(/memresize_requests_total\{vm="vm1",outcome="busy"\} 1/);
    expect(text).toMatch(/memresize_requests_total\{vm="vm1",outcome="granted"\} 2/);
    expect(text).toMatch(/memresize_vm_max_bytes\{vm="vm1"\} 536870912/);
  });
});

describe('two guests and the host agent over unix sockets: borrowed budget comes back', () => {
  it('a VM refused its share makes the agent ask the borrower, whose machine shrinks; then the grow is granted', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memresize-e2e-'));
    cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const hostLog = makeMemoryLogger({ level: 'info' });
    // vm1's device already holds 832 MiB when the agent starts (an agent restart); the
    // shares are 448 MiB each, so vm1 holds 384 MiB of vm2's and only 64 MiB is free.
    const vm = (name: string, extra: object = {}) => ({ name, channel: { kind: 'unix-listen', path: path.join(dir, `${name}.sock`) }, adapter: { kind: 'fake', ...extra }, maxBytes: '1GiB' });
    const config = HostConfigSchema.parse({ budgetBytes: '896MiB', metrics: { enabled: true, port: 0 }, vms: [vm('vm1', { initialBytes: 832 * MiB }), vm('vm2')] });
    const host: RunningAgent = await startHostAgent(config, { log: hostLog.log });
    cleanup.push(() => host.close());

    const machineConfig = MachineConfigSchema.parse({ timing: { cooldownAfterGrowMs: 50, cooldownAfterDenyMs: 50, cooldownAfterDenyMaxMs: 50, cooldownAfterShrinkMs: 50 } });
    const startGuest = (name: string) => {
      const log = makeMemoryLogger({ level: 'info' });
      const link = makeHostLinkFromConfig(LinkSchema.parse({ transport: 'unix', socketPath: path.join(dir, `${name}.sock`), reconnectBaseMs: 20 }), { log: log.log });
      cleanup.push(() => link.close());
      const device = host.adapters[name]!;
      const records: TransitionRecord[] = [];
      const actor = createActor(resizerMachine.provide(makeResizerEffects(link, log.log)), {
        input: { config: machineConfig, idPrefix: name, pluggedBytes: device.state()?.pluggedBytes ?? 0 },
        inspect: makeTransitionTracer(log.log, { onRecord: (r) => records.push(r) }),
      });
      actor.start();
      cleanup.push(async () => void actor.stop());
      const sub = link.events$.subscribe((e) => actor.send(e));
      cleanup.push(async () => sub.unsubscribe());
      const observer = setInterval(() => actor.send({ type: 'mem.observed', pluggedBytes: device.state()?.pluggedBytes ?? 0 }), 10);
      cleanup.push(async () => clearInterval(observer));
      return { actor, records, device, state: () => stateName(actor.getSnapshot().value) };
    };
    const waitFor = (what: string, cond: () => boolean, ms = 5000) => waitUntil(what, cond, ms, 5);

    const g1 = startGuest('vm1');
    const g2 = startGuest('vm2');
    await waitFor('handshakes', () => g1.state() === 'ready.idle' && g2.state() === 'ready.idle');
    // vm1 has plenty to spare (its workload left); vm2 is under pressure.
    g1.actor.send({ type: 'meminfo.sample', atMs: 0, memTotalBytes: BOOT + 832 * MiB, memAvailableBytes: 1024 * MiB, availableTrendBps: 0 });
    g2.actor.send({ type: 'psi.pressure', severity: 'some', stallPercent: 40 });
    await waitFor('vm2 refused for budget', () => g2.records.some((r) => r.event === 'host.ack' && r.context.lastReason === 'budget'));
    await waitFor('vm1 gives back', () => g1.device.state()!.pluggedBytes <= 448 * MiB, 8000);
    // The reclaim went through vm1's machine: accepted, sent as a shrink, acked, unplugged.
    const path1 = g1.records.map((r) => `${r.event} ${r.to}`);
    expect(path1).toEqual(expect.arrayContaining(['host.reclaim ready.awaiting-host.sent', 'host.ack ready.shrinking']));
    await waitFor('vm1 idle', () => g1.state() === 'ready.idle');
    await waitFor('vm2 idle', () => g2.state() === 'ready.idle');
    const before = g2.device.state()!.pluggedBytes;
    g2.actor.send({ type: 'psi.pressure', severity: 'some', stallPercent: 40 });
    await waitFor('vm2 grows into what came back', () => g2.device.state()!.pluggedBytes > before);

    const asked = hostLog.lines.filter((l) => l.msg === 'reclaim asked');
    expect(asked[0]).toMatchObject({ vm: 'vm1', reason: 'contention', forVm: 'vm2' });
    expect(hostLog.lines.some((l) => l.msg === 'reclaim reply' && l.vm === 'vm1' && l.accepted === true)).toBe(true);
    expect(host.agent.holdsBytes()).toBeLessThanOrEqual(896 * MiB);
    const text = await (await fetch(`http://127.0.0.1:${host.metricsPort}/metrics`)).text();
    expect(text).toMatch(/memresize_reclaims_total\{vm="vm1",outcome="accepted"\} 1/);
  });
});
