import { describe, expect, it } from 'vitest';
import { GuestConfigSchema, type GuestConfig } from '../../src/config/schema.ts';
import { MiB, GiB } from '../../src/config/units.ts';
import { makeMemoryLogger } from '../../src/io/log.ts';
import { VirtualClock } from '../../src/sim/clock.ts';
import { defaultGuestParams, GuestModel } from '../../src/sim/guest.ts';
import { findPolicy } from '../../src/sim/policies/index.ts';
import { runSim } from '../../src/sim/run.ts';
import { findScenario } from '../../src/sim/scenarios.ts';
import { traceWorkload } from '../../src/sim/workload.ts';

const flat = (anon: number, file: number) =>
  traceWorkload([{ tS: 0, anonBytes: anon, fileBytes: file, unmovableBytes: 0, extra: {} }, { tS: 3600, anonBytes: anon, fileBytes: file, unmovableBytes: 0, extra: {} }]);

describe('virtual clock', () => {
  it('fires timers in due order, ties in insertion order, and serves as an RxJS scheduler', () => {
    const c = new VirtualClock();
    const seen: string[] = [];
    c.setTimeout(() => seen.push('b'), 20);
    c.setTimeout(() => seen.push('a'), 10);
    const gone = c.setTimeout(() => seen.push('never'), 15);
    c.setTimeout(() => seen.push('c'), 20);
    c.clearTimeout(gone);
    c.scheduler.schedule(function (this: { schedule(s: number, d: number): void }, n?: number) {
      seen.push(`rx${n}@${c.now()}`);
      if ((n ?? 0) < 2) this.schedule((n ?? 0) + 1, 7);
    }, 5, 0);
    c.advanceTo(30);
    expect(seen).toEqual(['rx0@5', 'a', 'rx1@12', 'rx2@19', 'b', 'c']);
    expect(c.now()).toBe(30);
  });
});

describe('guest model', () => {
  it('stalls only once the file working set no longer fits, and OOMs after thrashing when anon cannot fit', () => {
    const ok = new GuestModel(defaultGuestParams(1 * GiB), flat(500 * MiB, 200 * MiB));
    for (let t = 100; t <= 10_000; t += 100) ok.tick(t, 100);
    expect(ok.some).toBe(0);
    const tight = new GuestModel(defaultGuestParams(1 * GiB), flat(700 * MiB, 300 * MiB));
    tight.tick(100, 100);
    expect(tight.some).toBeGreaterThan(0);
    expect(tight.kills).toEqual([]);
    const over = new GuestModel(defaultGuestParams(1 * GiB), flat(1.5 * GiB, 50 * MiB));
    let t = 0;
    while (over.kills.length === 0 && t < 60_000) over.tick((t += 100), 100);
    // The kernel thrashes first (thrashOomS = 20 s by default), then kills.
    expect(t).toBe(20_000);
    expect(over.kills[0]!.cause).toBe('no-memory');
  });

  it('OOMs an all-movable guest whose ZONE_NORMAL is full of anon when memory is plugged, with memory free', () => {
    const g = new GuestModel(defaultGuestParams(1 * GiB, { onlinePolicy: 'movable' }), flat(940 * MiB, 0));
    g.tick(100, 100);
    expect(g.kills).toEqual([]);
    g.setPlugged(2 * GiB);
    g.tick(200, 100);
    expect(g.kills[0]?.cause).toBe('zone-normal');
    expect(g.kills[0]!.freeBytes).toBeGreaterThan(1 * GiB);
  });

  it('keeps pinned memory from being unplugged', () => {
    const w = traceWorkload([{ tS: 0, anonBytes: 1 * GiB, fileBytes: 0, unmovableBytes: 0.9 * GiB, extra: {} }]);
    const g = new GuestModel(defaultGuestParams(1 * GiB), w);
    g.setPlugged(2 * GiB);
    g.tick(100, 100);
    expect(g.unplugFloorBytes()).toBeGreaterThan(1 * GiB);
  });

  it('unplugs plugged kernel-zone memory as far as what it holds fits in boot memory, minus what kernel allocations pin', () => {
    // A burst that needed 1 GiB of Normal memory, then exited (test/e2e/kernel-zone-unplug.test.ts).
    const burst = traceWorkload([
      { tS: 0, anonBytes: 1.3 * GiB, fileBytes: 0, unmovableBytes: 0, extra: {} },
      { tS: 1, anonBytes: 100 * MiB, fileBytes: 0, unmovableBytes: 0, extra: {} },
      { tS: 3600, anonBytes: 100 * MiB, fileBytes: 0, unmovableBytes: 0, extra: {} },
    ]);
    const g = new GuestModel(defaultGuestParams(512 * MiB, { onlinePolicy: 'normal' }), burst);
    g.setPlugged(1 * GiB);
    g.tick(100, 100);
    // While the burst holds it, only what boot memory can take in besides can go.
    expect(g.unplugFloorBytes()).toBeGreaterThan(1.3 * GiB - 512 * MiB);
    for (let t = 200; t <= 5000; t += 100) g.tick(t, 100);
    expect(g.anonBytes).toBeLessThan(128 * MiB);
    const floor = g.unplugFloorBytes();
    // After it: only the plugged share of the kernel's allocations, spread over blocks, stays:
    // more than the 4 MiB measured, far less than the whole GiB.
    expect(floor).toBeGreaterThan(4 * MiB);
    expect(floor).toBeLessThan(128 * MiB);
    expect(floor).toBeCloseTo(g.kernelDynBytes * (1 * GiB / g.normalCapBytes) * g.p.pinnedSpread, -3);
  });
});

describe('simulator runs', () => {
  it('is deterministic for a seed and runs the real daemon against the real host agent', async () => {
    const s = findScenario('spike')!;
    const a = await runSim(s, findPolicy('memresize')!, { seed: 7 });
    const b = await runSim(s, findPolicy('memresize')!, { seed: 7 });
    expect(a.metrics).toEqual(b.metrics);
    expect(a.metrics.requests.requests).toBeGreaterThan(0);
  });

  it('answers the probe of a decayed stall floor sooner than the trigger would (steady)', async () => {
    // steady: the page-cache working set stalls at the same MemAvailable each time; between
    // stalls the floor decays and MemAvailable drifts slowly back onto it.
    const run = async (config: GuestConfig) => {
      let lines: Record<string, unknown>[] = [];
      const r = await runSim(findScenario('steady')!, findPolicy('memresize')!, {
        config,
        makeLog: (now) => {
          const m = makeMemoryLogger({ now });
          lines = m.lines;
          return m.log;
        },
      });
      return { r, vias: lines.filter((l) => l.msg === 'transition' && l.event === 'psi.pressure').map((l) => l.via) };
    };
    const probing = await run(GuestConfigSchema.parse({}));
    const triggerOnly = await run(GuestConfigSchema.parse({ signals: { psiProbeThresholdPercent: 100 } }));
    expect(probing.vias).toContain('probe');
    expect(triggerOnly.vias).not.toContain('probe');
    expect(triggerOnly.vias).toContain('trigger');
    // The same stalls, seen sooner: the slowest grow is faster, and the VM holds no more.
    expect(probing.r.metrics.growLatencyP99Ms!).toBeLessThan(triggerOnly.r.metrics.growLatencyP99Ms!);
    expect(probing.r.metrics.footprintGiBh).toBeLessThanOrEqual(triggerOnly.r.metrics.footprintGiBh * 1.01);
  });

  it('static-max holds the most memory and never stalls on a scenario its max can hold', async () => {
    const s = findScenario('sawtooth')!;
    const max = await runSim(s, findPolicy('static-max')!);
    const boot = await runSim(s, findPolicy('static-boot')!);
    expect(max.metrics.footprintGiBh).toBeGreaterThan(boot.metrics.footprintGiBh);
    expect(max.metrics.oomKills).toBe(0);
    expect(boot.metrics.oomKills).toBeGreaterThan(0);
  });
});

describe('the demo scenario', () => {
  it('goes through a partial grant, lost messages and an unplug failure, and charts as SVG', async () => {
    const { DEMO_SCENARIO } = await import('../../src/sim/scenarios.ts');
    const { scenarioSvg } = await import('../../src/sim/chart.ts');
    const r = await runSim(DEMO_SCENARIO, findPolicy('memresize')!);
    const q = r.metrics.requests;
    expect(q.partial).toBeGreaterThan(0);
    expect(q.dropped).toBeGreaterThan(0);
    expect(q.unplugPartial + q.unplugFailed).toBeGreaterThan(0);
    const svg = await scenarioSvg('demo', [r]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('memresize');
  });
});
