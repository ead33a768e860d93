import { describe, expect, it } from 'vitest';
import { GiB, MiB } from '../../src/config/units.ts';
import { runFleet, type FleetResult } from '../../src/sim/fleet.ts';
import { fleetDominates, fleetVerdict } from '../../src/sim/fleet-report.ts';
import { findFleet, type FleetEvent, type FleetScenario, type FleetVm } from '../../src/sim/fleet-scenarios.ts';
import { randomFleet } from '../../src/sim/random-fleets.ts';
import { findPolicy } from '../../src/sim/policies/index.ts';
import { traceWorkload } from '../../src/sim/workload.ts';

const memresize = findPolicy('memresize')!;
const staticMax = findPolicy('static-max')!;

/** A VM whose anon follows (t, bytes) knots, sampled every second, with a 100 MiB file working set. */
function vm(name: string, anon: (t: number) => number, over: Partial<FleetVm> = {}): FleetVm {
  return {
    name,
    bootBytes: 1 * GiB,
    maxBytes: 3 * GiB,
    workload: () =>
      traceWorkload(Array.from({ length: 1201 }, (_, t) => ({ tS: t, anonBytes: anon(t), fileBytes: 100 * MiB, unmovableBytes: 0, extra: {} }))),
    ...over,
  };
}

const ramp = (from: number, to: number, t0: number, t1: number) => (t: number) => (t <= t0 ? from : t >= t1 ? to : from + ((to - from) * (t - t0)) / (t1 - t0));

// 2 GiB of budget for two VMs: 1 GiB of device memory is each one's share.
const leakAndJob: FleetScenario = {
  name: 'test-leak-and-job',
  description: 'a leak to the max beside a VM whose job needs 700 MiB of device memory once the leak holds its share',
  durationS: 1200,
  budgetBytes: 2 * GiB,
  vms: [vm('rogue', ramp(400 * MiB, 3.5 * GiB, 0, 600)), vm('worker', ramp(400 * MiB, 1.4 * GiB, 700, 760))],
};

describe('fleet simulation (several VMs, one real host agent)', () => {
  it('holds a leaking VM at its share, so its neighbour still gets what its job needs', async () => {
    const r = await runFleet(leakAndJob, memresize);
    const [rogue, worker] = r.vms;
    expect(rogue!.shareBytes).toBe(1 * GiB);
    expect(rogue!.fitsShare).toBe(false);
    // The neighbour was under its share all along: the rogue could not borrow it.
    expect(rogue!.peakHoldsBytes).toBeLessThanOrEqual(1 * GiB);
    expect(rogue!.metrics.requests.denied).toBeGreaterThan(0);
    expect(worker!.fitsShare).toBe(true);
    expect(worker!.peakHoldsBytes).toBeGreaterThanOrEqual(600 * MiB);
    expect(worker!.metrics.oomKills).toBe(0);
    expect(worker!.metrics.stallSomePercent).toBeLessThan(2);
    expect(r.metrics.peakHoldsBytes).toBeLessThanOrEqual(r.metrics.budgetBytes);
    expect(fleetVerdict(r, []).pass).toBe(true);
  }, 30_000);

  it('never lets the VMs together hold more than the budget, even when every VM asks for its max', async () => {
    const r = await runFleet(leakAndJob, staticMax);
    expect(r.metrics.peakHoldsBytes).toBeGreaterThan(1.5 * GiB);
    expect(r.metrics.peakHoldsBytes).toBeLessThanOrEqual(2 * GiB);
    for (const v of r.vms) expect(v.peakHoldsBytes).toBeLessThanOrEqual(v.shareBytes);
  }, 30_000);

  it('is the same run for the same seed', async () => {
    const short = { ...leakAndJob, durationS: 300 };
    const a = await runFleet(short, memresize, { seed: 4 });
    const b = await runFleet(short, memresize, { seed: 4 });
    expect(a.vms.map((v) => v.metrics)).toEqual(b.vms.map((v) => v.metrics));
    expect(a.holds).toEqual(b.holds);
  }, 30_000);

  /** A 1 GiB job ends at 400 s; the operator's event comes at 402 s, before the daemon's own shrink. */
  const afterJob = (event: FleetEvent): FleetScenario => ({
    name: 'test-after-job',
    description: 'an operator event right after a job',
    durationS: 600,
    budgetBytes: 6 * GiB,
    vms: [vm('batch', (t) => (t >= 100 && t < 400 ? 1.4 * GiB : 400 * MiB))],
    events: [event],
  });

  it('a lowered max is given back by the memresize daemon when the agent asks (reclaim), not by a policy that never answers', async () => {
    const squeeze = afterJob({ atS: 402, vm: 'batch', maxBytes: 128 * MiB });
    const ours = await runFleet(squeeze, memresize);
    expect(ours.limits).toHaveLength(1);
    expect(ours.limits[0]!.heldBytes).toBeGreaterThan(128 * MiB);
    expect(ours.limits[0]!.compliedAfterS).not.toBeNull();
    expect(ours.limits[0]!.compliedAfterS!).toBeLessThan(5);
    expect(ours.vms[0]!.metrics.requests.reclaimAsked).toBe(1);
    expect(ours.vms[0]!.metrics.requests.reclaimAccepted).toBe(1);
    const theirs = await runFleet(squeeze, staticMax);
    expect(theirs.limits[0]!.compliedAfterS).toBeNull();
  }, 30_000);

  it('a budget cut below the holdings is given back through reclaim by the memresize daemon, not by a policy that never answers', async () => {
    const cut = afterJob({ atS: 402, budgetBytes: 128 * MiB });
    const ours = await runFleet(cut, memresize);
    expect(ours.budgets).toHaveLength(1);
    expect(ours.budgets[0]!.heldBytes).toBeGreaterThan(128 * MiB);
    expect(ours.budgets[0]!.compliedAfterS).not.toBeNull();
    expect(ours.budgets[0]!.compliedAfterS!).toBeLessThan(5);
    expect(ours.vms[0]!.metrics.requests.reclaimAccepted).toBe(1);
    expect(ours.metrics).toMatchObject({ minBudgetBytes: 128 * MiB, overBudgetBytes: 0 });
    expect(ours.holds.at(-1)!.budgetBytes).toBe(128 * MiB);
    const theirs = await runFleet(cut, staticMax);
    expect(theirs.budgets[0]!.compliedAfterS).toBeNull();
  }, 30_000);

  it('a VM refused budget waits as the agent says instead of asking every 5 s, and is told the moment budget frees', async () => {
    // 'hungry' wants ~2 GiB of device memory; 'idle' needs none but its unused share reserves
    // 1 GiB, until the operator lowers its max to 0 at 600 s.
    const freed: FleetScenario = {
      name: 'test-freed',
      description: 'a reserved share released by lowering an idle VM\'s max',
      durationS: 900,
      budgetBytes: 2 * GiB,
      vms: [vm('hungry', ramp(400 * MiB, 2.3 * GiB, 0, 300)), vm('idle', () => 300 * MiB)],
      events: [{ atS: 600, vm: 'idle', maxBytes: 0 }],
    };
    const r = await runFleet(freed, memresize);
    const hungry = r.vms[0]!;
    // ~450 s held at its share: one ask per budgetRetryAfterMs (30 s), not ~90 at 5 s.
    expect(hungry.metrics.requests.denied).toBeGreaterThan(5);
    expect(hungry.metrics.requests.denied).toBeLessThan(30);
    expect(hungry.metrics.requests.available).toBeGreaterThanOrEqual(1);
    // The first grant follows the release at once, not the end of a 30 s wait (the holdings
    // series is ~1.5 s apart); the rest follows in the daemon's ordinary steps.
    const before = r.holds.filter((p) => p.tS < 600);
    expect(Math.max(...before.map((p) => p.bytes))).toBeLessThanOrEqual(1 * GiB);
    const first = r.holds.find((p) => p.tS >= 600 && p.bytes > 1 * GiB);
    expect(first).toBeDefined();
    expect(first!.tS).toBeLessThanOrEqual(602);
    expect(r.holds.find((p) => p.tS >= 600 && p.bytes > 1.5 * GiB)!.tS).toBeLessThan(620);
  }, 30_000);
});

describe('fleet verdict and dominance', () => {
  const result = (over: { kills?: number; stall?: number; fits?: boolean; fp?: number; over?: number }): FleetResult => {
    const metrics = { footprintGiBh: over.fp ?? 4, oracleGiBh: 4, footprintOverOracle: (over.fp ?? 4) / 4, stallSomePercent: over.stall ?? 0, oomKills: over.kills ?? 0 };
    return {
      fleet: 'f',
      policy: 'p',
      seed: 1,
      vms: [{ name: 'a', bootBytes: GiB, weight: 1, shareBytes: GiB, fitsShare: over.fits ?? true, peakHoldsBytes: GiB, series: [], metrics: metrics as never }],
      metrics: {
        footprintGiBh: metrics.footprintGiBh,
        oracleGiBh: 4,
        footprintOverOracle: metrics.footprintOverOracle,
        fitFootprintOverOracle: metrics.footprintOverOracle,
        budgetBytes: 2 * GiB,
        minBudgetBytes: 2 * GiB,
        meanHoldsBytes: GiB,
        peakHoldsBytes: GiB + (over.over ?? 0),
        overBudgetBytes: over.over ?? 0,
        oomKills: metrics.oomKills,
        oomKillsInFitVms: over.fits === false ? 0 : metrics.oomKills,
        worstStallSomePercent: metrics.stallSomePercent,
        worstFitStallSomePercent: over.fits === false ? 0 : metrics.stallSomePercent,
        reclaimAsked: 0,
      },
      limits: [],
      budgets: [],
      holds: [],
      wallMs: 0,
    };
  };

  it('fails a kill or a stall in a VM within its share, a budget overrun and an oversized fleet, but not a squeezed VM\'s stall', () => {
    expect(fleetVerdict(result({}), []).pass).toBe(true);
    expect(fleetVerdict(result({ kills: 1 }), []).failures.join()).toMatch(/a: 1 OOM kill/);
    expect(fleetVerdict(result({ stall: 3 }), []).failures.join()).toMatch(/some stall 3\.00% > 2%/);
    expect(fleetVerdict(result({ over: GiB }), []).failures.join()).toMatch(/over the budget/);
    expect(fleetVerdict(result({ fp: 5 }), []).failures.join()).toMatch(/1\.25x oracle/);
    expect(fleetVerdict(result({ fits: false, kills: 3, stall: 9 }), []).pass).toBe(true);
  });

  it('counts every VM for dominance: fewer kills in a squeezed VM is a real difference', () => {
    expect(fleetDominates(result({ fp: 3.9 }), result({}))).toBe(true);
    expect(fleetDominates(result({}), result({}))).toBe(false);
    expect(fleetDominates(result({ fp: 3.9, fits: false, kills: 2 }), result({ fits: false }))).toBe(false);
    expect(fleetVerdict(result({}), [result({ fp: 3.9 })]).failures).toContain('p dominates');
  });
});

describe('random fleets', () => {
  it('are the same for the same seed: 3-6 random VMs on a budget of 30-90 % of their devices, found as random:<seed>', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const f = randomFleet(seed);
      expect(f.vms.length).toBeGreaterThanOrEqual(3);
      expect(f.vms.length).toBeLessThanOrEqual(6);
      const devices = f.vms.reduce((s, v) => s + v.maxBytes, 0);
      expect(f.budgetBytes % (128 * MiB)).toBe(0);
      expect(f.budgetBytes).toBeGreaterThanOrEqual(0.3 * devices - 64 * MiB);
      expect(f.budgetBytes).toBeLessThanOrEqual(0.9 * devices + 64 * MiB);
      for (const v of f.vms) expect([1, 2, 3]).toContain(v.weight);
    }
    expect(randomFleet(5).description).toBe(randomFleet(5).description);
    expect(randomFleet(5).description).not.toBe(randomFleet(6).description);
    expect(findFleet('random:5')?.description).toBe(randomFleet(5).description);
    expect(findFleet('random:x')).toBeUndefined();
  });
});

describe('fleet scenarios', () => {
  it('an event naming a VM the fleet does not have is a clear error, not a crash mid-run', async () => {
    const bad: FleetScenario = { ...leakAndJob, durationS: 10, events: [{ atS: 5, vm: 'nobody', maxBytes: GiB }] };
    await expect(runFleet(bad, staticMax)).rejects.toThrow(/event at 5 s names VM 'nobody'/);
  });
});
