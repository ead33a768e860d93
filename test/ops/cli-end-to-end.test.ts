/**
 * Issue 4's done criterion from the command line: `memresize host` (fake adapter, one VM on
 * a unix socket) and `memresize guest` (link over that socket, procfs/sysfs in a FakeKernel)
 * as two processes. The test is the workload and the guest's kernel: it makes MemAvailable
 * fall fast, shows the memory the host's device plugged (following the host's `resize
 * done` lines, as a virtio-mem driver would), then makes memory plentiful.
 *
 * Also issue 7's restart safety: the guest daemon is killed (SIGKILL) with a grow in flight
 * and started again; it rebuilds its state from the memory it observes and the host's
 * welcome, and the device never holds more than one absolute target asked for.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeKernel, killAll, MiB, spawnCli, tempDir, type Daemon, type Line } from './harness.ts';

const dirs: string[] = [];
const timers: ReturnType<typeof setInterval>[] = [];
afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  await killAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Setup {
  dir: string;
  kernel: FakeKernel;
  host: Daemon;
  guestArgs: string[];
}

function setup(opts: { latencyMs: number; relaxedHoldMs?: number; guestExtra?: string }): Setup {
  const dir = tempDir('ops-e2e');
  dirs.push(dir);
  const kernel = new FakeKernel(join(dir, 'k'));
  kernel.setUsed(300 * MiB);
  const sock = join(dir, 'vm1.sock');
  writeFileSync(
    join(dir, 'host.yaml'),
    [
      'budgetBytes: 8GiB',
      'metrics: { enabled: false }',
      'vms:',
      '  - name: vm1',
      `    channel: { kind: unix-listen, path: ${sock} }`,
      // 128 MiB device blocks: every plug is whole memory blocks, as the FakeKernel shows them.
      `    adapter: { kind: fake, blockBytes: 128MiB, maxBytes: 4GiB, latencyMs: ${opts.latencyMs} }`,
      '    maxBytes: 2GiB',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'guest.yaml'),
    [
      `link: { transport: unix, socketPath: ${sock}, reconnectBaseMs: 50, reconnectCapMs: 500 }`,
      `control: { socketPath: ${join(dir, 'guest.sock')} }`,
      'memory: { online: none, lockMemory: false, oomScoreAdj: 0, blocksIntervalMs: 200 }',
      // Short windows so the test runs in seconds; the control law is the production one.
      `signals: { psiMode: polling, psiPollIntervalMs: 500, meminfoIntervalMs: 100, meminfoFastIntervalMs: 50, trendWindowMs: 1000, relaxedHoldMs: ${opts.relaxedHoldMs ?? 1000}, relaxedCheckIntervalMs: 500, headroomRepeatMs: 500 }`,
      'timing: { cooldownAfterGrowMs: 300, cooldownAfterShrinkMs: 500 }',
      opts.guestExtra ?? '',
    ].join('\n'),
  );
  // The guest's kernel follows the device: what the host reports plugged appears in the guest.
  const host = spawnCli(['host', '--config', join(dir, 'host.yaml')], (l) => {
    if (l.msg === 'resize done' && typeof l.plugged === 'number') kernel.setPlugged(l.plugged);
  });
  return { dir, kernel, host, guestArgs: ['guest', '--config', join(dir, 'guest.yaml'), '--proc-root', kernel.procRoot, '--sys-root', kernel.sysRoot] };
}

/** Allocates `bytesPerSec` until stop() (MemAvailable falls). */
function consume(kernel: FakeKernel, bytesPerSec: number, ceilingBytes: number) {
  const t = setInterval(() => kernel.setUsed(Math.min(ceilingBytes, kernel.usedBytes + bytesPerSec / 10)), 100);
  timers.push(t);
  return { stop: () => clearInterval(t) };
}

const transition = (from: RegExp | string, to: RegExp | string) => (l: Line) =>
  l.msg === 'transition' && (typeof from === 'string' ? l.from === from : from.test(String(l.from))) && (typeof to === 'string' ? l.to === to : to.test(String(l.to)));

describe('memresize host + memresize guest from the CLI', () => {
  it('grows when MemAvailable falls fast, shrinks when memory is plentiful, and both exit 0 on SIGTERM', async () => {
    const { kernel, host, guestArgs } = setup({ latencyMs: 2 });
    await host.waitFor('host started', (l) => l.msg === 'host agent started');
    const guest = spawnCli(guestArgs);
    await guest.waitFor('handshake', transition('handshake', 'ready.idle'));

    const load = consume(kernel, 150 * MiB, 1000 * MiB);
    const sent = await guest.waitFor('grow request', (l) => l.msg === 'request' && l.kind === 'grow');
    expect(sent.reason).toMatch(/./);
    const toAwait = await guest.waitFor('request transition', (l) => l.msg === 'transition' && l.to === 'ready.awaiting-host.sent');
    expect(toAwait).toMatchObject({ from: 'ready.idle', event: 'headroom.low', kind: 'grow' });
    const decision = await host.waitFor('host decision', (l) => l.msg === 'decision' && l.requestId === sent.requestId);
    expect(decision).toMatchObject({ vm: 'vm1', kind: 'grow', outcome: 'granted', granted: sent.target, rule: expect.any(String) });
    await guest.waitFor('growing', transition(/^ready\.awaiting-host/, 'ready.growing'));
    const grown = await guest.waitFor('cooling after the grow', transition('ready.growing', 'ready.cooling'));
    expect(grown.plugged).toBe(sent.target);
    load.stop();

    // Memory is plentiful again: the relaxed signal gives back what is not needed.
    kernel.setUsed(100 * MiB);
    const shrink = await guest.waitFor('shrink request', (l) => l.msg === 'request' && l.kind === 'shrink', 20_000);
    expect(Number(shrink.target)).toBeLessThan(Number(grown.plugged));
    const hostShrink = await host.waitFor('host shrink decision', (l) => l.msg === 'decision' && l.requestId === shrink.requestId);
    expect(hostShrink).toMatchObject({ kind: 'shrink', outcome: 'granted' });
    await guest.waitFor('shrinking', transition(/^ready\.awaiting-host/, 'ready.shrinking'));
    const shrunk = await guest.waitFor('cooling after the shrink', transition('ready.shrinking', 'ready.cooling'), 15_000);
    expect(shrunk.plugged).toBe(shrink.target);
    expect(kernel.pluggedBytes).toBe(shrink.target);

    guest.proc.kill('SIGTERM');
    host.proc.kill('SIGTERM');
    const [g, h] = await Promise.all([guest.exited, host.exited]);
    expect(g.code).toBe(0);
    expect(h.code).toBe(0);
    // The guest asked nothing on its way out, so the device kept its size.
    expect(host.lines.filter((l) => l.msg === 'decision').map((l) => l.requestId)).toEqual([sent.requestId, shrink.requestId]);
  }, 45_000);

  it('a guest daemon killed with a grow in flight restarts from observed memory and the welcome; the device never doubles', async () => {
    // The device waits 2 s before it moves: the kill lands between grant and completion.
    // No shrink in this one: only the grants around the restart are under test.
    // A long assumed grow latency makes the first request early, so memory is still falling
    // when the new daemon is up: it has a reason to ask again, which is what is under test.
    const { kernel, host, guestArgs } = setup({ latencyMs: 2000, relaxedHoldMs: 600_000, guestExtra: 'policy: { growLatencyInitialMs: 3000 }' });
    await host.waitFor('host started', (l) => l.msg === 'host agent started');
    const first = spawnCli(guestArgs);
    await first.waitFor('handshake', transition('handshake', 'ready.idle'));
    const load = consume(kernel, 100 * MiB, 1000 * MiB);
    const sent = await first.waitFor('grow request', (l) => l.msg === 'request' && l.kind === 'grow');
    await host.waitFor('grant', (l) => l.msg === 'decision' && l.requestId === sent.requestId && l.outcome === 'granted');
    first.proc.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(kernel.pluggedBytes).toBe(0);
    const granted = Number(sent.target);

    // Restarted at once, still under the same falling memory: the grow has not landed yet.
    // What the kernel showed when the new daemon reconciled with the host's welcome.
    let shownAtWelcome = -1;
    const second = spawnCli(guestArgs, (l) => {
      if (transition('handshake', 'ready.idle')(l)) shownAtWelcome = kernel.pluggedBytes;
    });
    const welcome = await second.waitFor('welcome', transition('handshake', 'ready.idle'));
    // State from the host's word (requested) and the guest's own observation (plugged), no file.
    expect(welcome).toMatchObject({ requested: granted, plugged: shownAtWelcome });
    // The earlier grant lands while the new daemon runs: it observes it as its own memory.
    await second.waitFor('the grant observed', (l) => l.msg === 'transition' && l.plugged === granted, 10_000);
    load.stop();
    // Whatever the new daemon asked (the same absolute target, or more under the same
    // falling memory) has completed before the sums are checked.
    const lastDecision = () => host.lines.filter((l) => l.msg === 'decision' && l.outcome !== 'denied' && l.outcome !== 'busy').at(-1)!;
    await host.waitFor('last resize done', (l) => l.msg === 'resize done' && l.requestId === lastDecision().requestId && l.superseded === undefined, 10_000);

    const grants = host.lines.filter((l) => l.msg === 'decision' && (l.outcome === 'granted' || l.outcome === 'partial'));
    const again = grants.filter((l) => l.requestId !== sent.requestId);
    expect(again.length).toBeGreaterThan(0);
    // Each re-request is absolute: the host's requested size becomes its target, never the
    // earlier grant plus it.
    for (const g of again) expect(g.granted).toBe(g.target);
    const plugged = host.lines.filter((l) => l.msg === 'resize done').map((l) => Number(l.plugged));
    const largest = Math.max(...grants.map((g) => Number(g.granted)));
    expect(Math.max(...plugged)).toBeLessThanOrEqual(largest);
    expect(kernel.pluggedBytes).toBe(Number(grants.at(-1)!.granted));
    expect(kernel.pluggedBytes).toBeLessThan(granted + Number(again[0]!.target));
    // Nothing lost either: the new daemon's view is the device's.
    await second.waitFor('observed final size', (l) => l.msg === 'transition' && l.plugged === kernel.pluggedBytes, 5000);

    second.proc.kill('SIGTERM');
    host.proc.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect((await host.exited).code).toBe(0);
  }, 45_000);
});

