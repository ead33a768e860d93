/**
 * Scenarios a, b and a2 of issue 6 on one guest running `memresize guest`, with
 * `memresize host` driving QEMU over QMP: grow under a fast anonymous workload (the control
 * run without the daemon is control-oom.test.ts), shrink once it exits, grow again under
 * page-cache pressure; a3: no grow for a cgroup that thrashes at its own memory.max; f: the
 * operator lowers the max below what the VM holds and the agent's reclaim shrinks it at once;
 * g: a grow refused for budget is answered by `available` (protocol 2) once the operator
 * raises the budget, and the daemon grows at once instead of waiting out the named wait.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { median, recordFigure } from './harness-figures.ts';
import { DeviceSampler, growLatencies, hostConfigYaml, type ProductVm } from './harness-product.ts';
import { GiB, MiB } from './harness-qemu.ts';
import { bootWithProduct, checkDaemonRestarts, daemonFootprint, daemonTransitions, MAX_DAEMON_RESTARTS, scenarioSkipReason, waitDaemonReady } from './harness-scenario.ts';
import { ANON_WORKLOAD, rereadPasses } from './workloads.ts';

const skip = scenarioSkipReason('scenarios a, b, a2');
const MAX = 2 * GiB;
/** "Back to at most boot + one step": the guest's smallest grow step (growStepMinBytes default). */
const ONE_STEP = 128 * MiB;
/** Rereads of the 900 MiB file: the first ones thrash, the last must run from the grown cache. */
const PASSES = 8;
/** Step f: the max the operator lowers the VM to while it holds more. */
const LOWERED_MAX = 256 * MiB;
/** Step g: the host budget while the workload grows (less than 900 MiB of anon needs). */
const LOW_BUDGET = 384 * MiB;

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

describe.skipIf(skip !== undefined)('scenarios a, b, a2: memresize grows a guest under load and shrinks it after', () => {
  let p: ProductVm;
  let sampler: DeviceSampler;
  const t0 = Date.now();

  beforeAll(async () => {
    p = await bootWithProduct({ name: 'scenario-ab', limits: { maxBytes: MAX }, vm: { rereadDisk: true } });
    await waitDaemonReady(p);
    sampler = new DeviceSampler(p.vm).start(100);
  });

  afterAll(async () => {
    sampler?.stop();
    await p?.host.stop();
    await p?.vm.stop();
    if (p) recordFigure('scenarios_ab_a2_wall_ms', Date.now() - t0, 'ms', p.vm.accel);
  });

  it('a: grows the VM so that 1.2 GiB of anonymous memory at 100 MB/s fits, with no OOM kill', async () => {
    const mark = daemonTransitions(p.vm).length;
    const before = await daemonFootprint(p.vm);
    const res = await p.vm.guest.run(ANON_WORKLOAD.command, 300_000);
    expect(res.status, res.lines.join('\n')).toBe(0);
    expect(res.lines.some((l) => l.startsWith(`done ${ANON_WORKLOAD.targetMiB}MiB`))).toBe(true);
    expect(await p.vm.guest.sh('dmesg')).not.toMatch(/Out of memory: Killed process/);
    expect(sampler.maxRequested()).toBeGreaterThan(0);
    expect(sampler.maxRequested()).toBeLessThanOrEqual(MAX);

    const lat = growLatencies(daemonTransitions(p.vm).slice(mark));
    expect(lat.length, 'the daemon logged no completed grow').toBeGreaterThan(0);
    recordFigure('a_grow_onset_to_online_median_ms', median(lat), 'ms', p.vm.accel, `${lat.length} grows: ${lat.join(', ')}`);
    recordFigure('a_workload_ms', res.ms, 'ms', p.vm.accel, '1.2 GiB at 100 MB/s + 10 s hold, with memresize');
    const fp = await daemonFootprint(p.vm);
    recordFigure('daemon_peak_rss_MiB', fp.peakRssBytes / MiB, 'MiB', p.vm.accel, 'VmHWM inside the guest');
    // Over the workload only: the daemon's start (loading the bundle under TCG) is not its running cost.
    const cpuMs = fp.cpuMs - before.cpuMs;
    const wallS = fp.uptimeS - before.uptimeS;
    recordFigure('daemon_cpu_percent_during_a', (100 * cpuMs) / 1000 / wallS, '% of a core', p.vm.accel, `${Math.round(cpuMs)} ms CPU over ${wallS.toFixed(1)} s, emulated`);
  });

  it('b: is back to at most boot + one step within 90 s after the workload exits', async () => {
    const start = performance.now();
    const back = await p.vm.mem.waitSize((s) => s <= ONE_STEP, 90_000, 250);
    expect(back.ok, `device still at ${back.size / MiB} MiB after 90 s`).toBe(true);
    expect(await p.vm.mem.requestedSize()).toBeLessThanOrEqual(ONE_STEP);
    recordFigure('b_shrink_completion_ms', performance.now() - start, 'ms', p.vm.accel, 'workload exit -> device <= one step');
  });

  it('a2: grows under page-cache pressure from rereading a file larger than free memory, and the stall stops', async () => {
    const mark = daemonTransitions(p.vm).length;
    const sizeBefore = await p.vm.mem.size();
    const sampleMark = sampler.samples.length;
    const res = await p.vm.guest.run(`mkdir -p /mnt/reread && mount -t ext4 -o ro,noload /dev/vda /mnt/reread && sh reread.sh /mnt/reread/data.bin ${PASSES} 2`, 300_000);
    expect(res.status, res.lines.join('\n')).toBe(0);
    const passes = rereadPasses(res.lines);
    expect(passes).toHaveLength(PASSES);
    const table = passes.map((x) => `pass ${x.pass}: ${x.ms} ms, stall ${x.stallUs} us`).join('\n');

    const after = daemonTransitions(p.vm).slice(mark);
    const grows = after.filter((t) => t.kind === 'grow' && t.to.startsWith('ready.awaiting-host'));
    expect(grows.length, 'no grow request under page-cache pressure').toBeGreaterThan(0);
    expect(grows.some((t) => t.event === 'psi.pressure'), `grow events: ${grows.map((t) => t.event).join(', ')}`).toBe(true);
    expect(Math.max(...sampler.samples.slice(sampleMark).map((s) => s.size))).toBeGreaterThan(sizeBefore);
    expect(sampler.maxRequested()).toBeLessThanOrEqual(MAX);

    // Once the disk fits in the grown page cache the rereads stop stalling.
    const worst = Math.max(...passes.slice(0, -1).map((x) => x.stallUs));
    const last = passes.at(-1)!;
    expect(worst, 'the workload never stalled: it made no pressure').toBeGreaterThan(0);
    expect(last.stallUs, table).toBeLessThan(worst / 10);
    const lat = growLatencies(after);
    if (lat.length) recordFigure('a2_grow_onset_to_online_median_ms', median(lat), 'ms', p.vm.accel, `${lat.length} grows`);
    recordFigure('a2_last_pass_stall_us', last.stallUs, 'us', p.vm.accel, `worst earlier pass ${worst} us`);
    console.log(table);
  });

  it('a3: does not grow for a cgroup thrashing at its own memory.max while the VM has memory to spare', async () => {
    // Triggers not answered, from the daemon's status (its log says so at most once a minute).
    const discounted = async () => {
      const st = await p.vm.guest.run('node /app/dist/memresize-guest.mjs status --json', 30_000);
      expect(st.status, st.lines.join('\n')).toBe(0);
      return (JSON.parse(st.lines.join('\n')) as { signals: { psiDiscounted: number } }).signals.psiDiscounted;
    };
    // Caches first: a2 leaves the VM full of page cache, and a stall while it is (node
    // starting for the status read, say) is the VM's own and rightly grows it (seen in one
    // run, when the mark was taken before this).
    const setup = await p.vm.guest.run(
      [
        'sync; echo 3 > /proc/sys/vm/drop_caches',
        "grep -q ' /mnt/reread ' /proc/mounts || { mkdir -p /mnt/reread && mount -t ext4 -o ro,noload /dev/vda /mnt/reread; }",
        "grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup",
        'echo +memory > /sys/fs/cgroup/cgroup.subtree_control',
        'mkdir -p /sys/fs/cgroup/limited && echo 64M > /sys/fs/cgroup/limited/memory.max',
      ].join(' && '),
      60_000,
    );
    expect(setup.status, setup.lines.join('\n')).toBe(0);
    const before = await discounted();
    const mark = daemonTransitions(p.vm).length;
    // The same rereads, confined to a 64 MiB memcg: plenty of stall, none of it the VM's.
    const res = await p.vm.guest.run("sh -c 'echo $$ > /sys/fs/cgroup/limited/cgroup.procs; exec sh reread.sh /mnt/reread/data.bin 3 2'", 300_000);
    expect(res.status, res.lines.join('\n')).toBe(0);
    const passes = rereadPasses(res.lines);
    expect(passes).toHaveLength(3);
    const stallUs = passes.reduce((a, x) => a + x.stallUs, 0);
    expect(stallUs, 'the limited cgroup never stalled: the test made no pressure').toBeGreaterThan(0);
    const grows = daemonTransitions(p.vm).slice(mark).filter((t) => t.kind === 'grow' && t.to.startsWith('ready.awaiting-host'));
    expect(grows.filter((t) => t.event === 'psi.pressure'), 'grew for a stall that more VM memory cannot relieve').toEqual([]);
    const notAnswered = (await discounted()) - before;
    expect(notAnswered, 'no trigger fired, or it was answered').toBeGreaterThan(0);
    recordFigure('a3_memcg_stall_us', stallUs, 'us', p.vm.accel, `3 passes in a 64 MiB memcg; ${grows.length} grows, none for psi; ${notAnswered} triggers not answered`);
  });

  it('f: gives memory back at once when the operator lowers its max below what it holds (SIGHUP -> limits + reclaim)', async () => {
    const mark = daemonTransitions(p.vm).length;
    const hostMark = p.host.lines().length;
    const res = await p.vm.guest.run('node alloc.mjs 900 200 2', 300_000);
    expect(res.status, res.lines.join('\n')).toBe(0);
    const grown = await p.vm.mem.size();
    expect(grown, 'the workload did not grow the VM').toBeGreaterThan(LOWERED_MAX + ONE_STEP);
    // The daemon must be between requests (a reclaim during one is refused, by design); its own
    // shrink would come only after relaxedHoldMs (30 s) of quiet.
    const settled = await waitFor(() => /^ready\.(idle|cooling)$/.test(daemonTransitions(p.vm).at(-1)?.to ?? ''), 20_000);
    expect(settled, `daemon in ${daemonTransitions(p.vm).at(-1)?.to}`).toBe(true);
    writeFileSync(p.host.configFile, hostConfigYaml(p.vm, { maxBytes: LOWERED_MAX }));
    const start = performance.now();
    process.kill(p.host.pid!, 'SIGHUP');
    const back = await p.vm.mem.waitSize((s) => s <= LOWERED_MAX, 60_000, 100);
    expect(back.ok, `device still at ${back.size / MiB} MiB 60 s after the max was lowered`).toBe(true);
    const ms = performance.now() - start;

    const host = p.host.lines().slice(hostMark);
    expect(host.find((l) => l.msg === 'reclaim asked'), 'the agent did not ask').toMatchObject({ reason: 'limits', maxBytes: LOWERED_MAX });
    // Accepted at once, or (had a shrink of its own just begun) after the agent asked again.
    const replies = host.filter((l) => l.msg === 'reclaim reply');
    expect(replies.some((l) => l.accepted === true), `replies: ${JSON.stringify(replies)}`).toBe(true);
    const after = daemonTransitions(p.vm).slice(mark);
    expect(after.some((t) => t.event === 'host.reclaim' && t.to.startsWith('ready.awaiting-host')), 'the daemon did not take the reclaim as a shrink').toBe(true);
    // No regrow past the new max.
    expect(await p.vm.mem.requestedSize()).toBeLessThanOrEqual(LOWERED_MAX);
    recordFigure('f_lowered_max_to_device_ms', ms, 'ms', p.vm.accel, `SIGHUP (max ${LOWERED_MAX / MiB} MiB) -> device <= max, from ${grown / MiB} MiB`);
  });

  it('g: a grow refused for budget waits as the agent says, and grows at once when the operator raises the budget (available)', async () => {
    const mark = daemonTransitions(p.vm).length;
    let hostMark = p.host.lines().length;
    writeFileSync(p.host.configFile, hostConfigYaml(p.vm, { maxBytes: MAX, budgetBytes: LOW_BUDGET }));
    process.kill(p.host.pid!, 'SIGHUP');
    expect(await waitFor(() => p.host.lines().slice(hostMark).some((l) => l.msg === 'budget changed' && l.to === LOW_BUDGET), 10_000), 'the agent did not take the new budget').toBe(true);

    // 900 MiB at 50 MB/s: the VM reaches the budget and is refused the rest.
    const work = p.vm.guest.start('node alloc.mjs 900 50 5');
    const refused = await waitFor(() => p.host.lines().slice(hostMark).some((l) => l.msg === 'decision' && l.outcome === 'denied' && l.reason === 'budget'), 60_000);
    expect(refused, 'no grow was refused for budget').toBe(true);
    const denial = p.host.lines().slice(hostMark).find((l) => l.msg === 'decision' && l.outcome === 'denied' && l.reason === 'budget')!;
    expect(denial.retryAfterMs, 'a protocol-2 guest is told how long to wait').toBe(30_000);

    hostMark = p.host.lines().length;
    const raisedAt = performance.now();
    writeFileSync(p.host.configFile, hostConfigYaml(p.vm, { maxBytes: MAX }));
    process.kill(p.host.pid!, 'SIGHUP');
    const grew = await p.vm.mem.waitSize((s) => s > LOW_BUDGET, 20_000, 100);
    const ms = performance.now() - raisedAt;
    expect(grew.ok, `device still at ${grew.size / MiB} MiB 20 s after the budget was raised`).toBe(true);
    expect(p.host.lines().slice(hostMark).find((l) => l.msg === 'budget available'), 'the agent did not tell the refused VM').toMatchObject({ vm: 'e2e' });
    const after = daemonTransitions(p.vm).slice(mark);
    expect(after.some((t) => t.event === 'host.available' && t.to.startsWith('ready.awaiting-host')), 'the daemon did not ask on available').toBe(true);
    // Well inside the 30 s the denial named: the grow followed the offer, not the timer.
    expect(ms).toBeLessThan(15_000);
    const res = await work.done;
    recordFigure('g_budget_raised_to_grow_ms', ms, 'ms', p.vm.accel, `SIGHUP (budget ${LOW_BUDGET / MiB} MiB -> whole device) -> device > ${LOW_BUDGET / MiB} MiB, after a budget denial; workload exit ${res.status}`);
  });

  it('the daemon did not keep crashing (restarted at most twice by /init)', () => {
    expect(checkDaemonRestarts(p.vm, 'ab_a2').restarts).toBeLessThanOrEqual(MAX_DAEMON_RESTARTS);
  });
});
