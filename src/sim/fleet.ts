/**
 * A fleet in virtual time: several simulated VMs, each with its own workload and its own
 * instance of the policy (for memresize, a real daemon each), on ONE real host agent with
 * one budget. What one VM's run cannot show shows here: the weighted shares between real
 * neighbours, a rogue VM held at its share, the budget never exceeded, and how much of the
 * budget the fleet leaves to the host (docs/simulator.md, "Fleets").
 */
import { GuestConfigSchema, type GuestConfig } from '../config/schema.ts';
import { shareOf } from '../host/grant.ts';
import { makeLogger, type Logger } from '../io/log.ts';
import { alignDown } from '../policy/align.ts';
import { VirtualClock } from './clock.ts';
import type { FleetScenario } from './fleet-scenarios.ts';
import { makeSimAgent } from './host.ts';
import type { RunMetrics } from './metrics.ts';
import { makeRng } from './rng.ts';
import { drain, seriesInterval } from './run.ts';
import { defaultHost } from './scenarios.ts';
import { SimVm, type SeriesPoint } from './vm.ts';
import type { Policy } from './policies/types.ts';

export interface FleetVmResult {
  name: string;
  bootBytes: number;
  weight: number;
  /** The VM's weighted share of the budget, block-aligned down (what the agent guarantees); the lowest one if its max was lowered. */
  shareBytes: number;
  /** The oracle's device size stayed within the share in force all run: kills or stalls are then the policy's. */
  fitsShare: boolean;
  /** Most device memory the VM held (max of requested and plugged). */
  peakHoldsBytes: number;
  metrics: RunMetrics;
  series: SeriesPoint[];
}

/** A budget lowered below the holdings: how long the fleet took to hold no more than it (null: never did). */
export interface BudgetOutcome {
  atS: number;
  budgetBytes: number;
  /** What the VMs held together when the budget was lowered. */
  heldBytes: number;
  compliedAfterS: number | null;
}

/** A lowered max: how long the VM took to hold no more than it (null: never did). */
export interface LimitsOutcome {
  atS: number;
  vm: string;
  maxBytes: number;
  /** What the VM held when the max was lowered. */
  heldBytes: number;
  compliedAfterS: number | null;
}

export interface FleetMetrics {
  footprintGiBh: number;
  oracleGiBh: number;
  footprintOverOracle: number;
  /** The same over the VMs that fit their shares (a VM held at its share is not over-sized). */
  fitFootprintOverOracle: number;
  /** The budget at the start, and the lowest one in force during the run (budget events). */
  budgetBytes: number;
  minBudgetBytes: number;
  /** Device memory held by all VMs together (the agent's holds): mean and peak. */
  meanHoldsBytes: number;
  peakHoldsBytes: number;
  /**
   * The most the holds went over the budget in force, outside the give-back after a budget was
   * lowered below them (the agent can only ask; it never unplugs): 0 when the agent kept it.
   */
  overBudgetBytes: number;
  oomKills: number;
  /** OOM kills in VMs whose demand fit their share: the agent promised them that much. */
  oomKillsInFitVms: number;
  worstStallSomePercent: number;
  worstFitStallSomePercent: number;
  reclaimAsked: number;
}

export interface FleetResult {
  fleet: string;
  policy: string;
  seed: number;
  vms: FleetVmResult[];
  metrics: FleetMetrics;
  limits: LimitsOutcome[];
  budgets: BudgetOutcome[];
  /** Sum of holds over time and the budget in force, for the chart. */
  holds: { tS: number; bytes: number; budgetBytes: number }[];
  wallMs: number;
}

export interface FleetOptions {
  seed?: number;
  tickMs?: number;
  log?: Logger;
  config?: GuestConfig;
  seriesPoints?: number;
  /** The agent's `defaults.reclaimOnContention` (default true, as in a host config). */
  reclaimOnContention?: boolean;
}

export async function runFleet(fleet: FleetScenario, policy: Policy, opts: FleetOptions = {}): Promise<FleetResult> {
  const wall0 = performance.now();
  const seed = opts.seed ?? 1;
  const tickMs = opts.tickMs ?? 100;
  const clock = new VirtualClock(0);
  const rng = makeRng(seed);
  const log = opts.log ?? makeLogger({ level: 'silent', now: () => clock.now() });
  const config = opts.config ?? GuestConfigSchema.parse({});
  const vms = fleet.vms.map((spec) => ({ spec, vm: new SimVm(spec, spec.workload(rng.fork(`workload:${spec.name}`)), tickMs) }));
  const sim = makeSimAgent(
    clock,
    {
      budgetBytes: fleet.budgetBytes,
      vms: vms.map(({ spec, vm }) => ({ name: spec.name, params: defaultHost(spec.maxBytes, spec.host), device: vm.device, rng: rng.fork(`link:${spec.name}`), weight: spec.weight ?? 1 })),
      reclaimOnContention: opts.reclaimOnContention ?? true,
    },
    log,
  );
  for (const { spec, vm } of vms) vm.start(policy, { clock, host: sim.hosts.get(spec.name)!, log: log.child({ vm: spec.name }), config });

  const totalWeight = fleet.vms.reduce((s, v) => s + (v.weight ?? 1), 0);
  let budget = fleet.budgetBytes;
  const maxOf = vms.map(({ spec }) => spec.maxBytes);
  const shareFor = (i: number) => alignDown(shareOf(fleet.vms[i]!.weight ?? 1, maxOf[i]!, budget, totalWeight), vms[i]!.vm.device.p.blockBytes);
  const per = vms.map((_, i) => ({
    share: shareFor(i),
    minShare: shareFor(i),
    fits: true,
    peak: 0,
    series: [] as SeriesPoint[],
  }));
  const endMs = fleet.durationS * 1000;
  const seriesEvery = seriesInterval(endMs, tickMs, opts.seriesPoints);
  const holds: FleetResult['holds'] = [];
  let holdsSum = 0;
  let holdsPeak = 0;
  let minBudget = budget;
  let overBudget = 0;
  let ticks = 0;
  const events = [...(fleet.events ?? [])].sort((a, b) => a.atS - b.atS);
  const indexOf = new Map(fleet.vms.map((v, i) => [v.name, i]));
  for (const e of events) if ('vm' in e && !indexOf.has(e.vm)) throw new Error(`fleet ${fleet.name}: an event at ${e.atS} s names VM '${e.vm}', which the fleet does not have`);
  const limits: (LimitsOutcome & { i: number; open: boolean })[] = [];
  const budgets: (BudgetOutcome & { open: boolean })[] = [];
  const held = (i: number) => Math.max(vms[i]!.vm.device.requestedBytes, vms[i]!.vm.device.pluggedBytes);
  const setShare = (i: number) => {
    per[i]!.share = shareFor(i);
    per[i]!.minShare = Math.min(per[i]!.minShare, per[i]!.share);
  };
  for (let t = tickMs; t <= endMs; t += tickMs) {
    clock.advanceTo(t);
    while (events.length && events[0]!.atS * 1000 <= t) {
      const e = events.shift()!;
      if ('budgetBytes' in e) {
        sim.agent.setBudget(e.budgetBytes);
        budget = e.budgetBytes;
        minBudget = Math.min(minBudget, budget);
        vms.forEach((_, i) => setShare(i));
        // A newer budget ends the wait on the older one.
        for (const b of budgets) b.open = false;
        const h = sim.agent.holdsBytes();
        if (h > budget) budgets.push({ ...e, open: true, heldBytes: h, compliedAfterS: null });
        continue;
      }
      const i = indexOf.get(e.vm)!;
      sim.agent.setLimits(e.vm, { minBytes: 0, maxBytes: e.maxBytes });
      maxOf[i] = e.maxBytes;
      setShare(i);
      // A newer max for the VM ends the wait on the older one (still null if it never complied).
      for (const l of limits) if (l.i === i) l.open = false;
      if (held(i) > e.maxBytes) limits.push({ ...e, i, open: true, heldBytes: held(i), compliedAfterS: null });
    }
    sim.tick(t);
    vms.forEach(({ spec, vm }, i) => {
      vm.step(t, tickMs);
      const p = per[i]!;
      if (vm.metrics.lastOracleBytes - spec.bootBytes > p.share) p.fits = false;
      p.peak = Math.max(p.peak, held(i));
    });
    await drain(sim);
    for (const l of limits) {
      if (l.open && held(l.i) <= l.maxBytes) {
        l.compliedAfterS = t / 1000 - l.atS;
        l.open = false;
      }
    }
    const h = sim.agent.holdsBytes();
    for (const b of budgets) {
      if (b.open && h <= budget) {
        b.compliedAfterS = t / 1000 - b.atS;
        b.open = false;
      }
    }
    if (!budgets.some((b) => b.open)) overBudget = Math.max(overBudget, h - budget);
    holdsSum += h;
    holdsPeak = Math.max(holdsPeak, h);
    ticks++;
    if (t % seriesEvery === 0) {
      holds.push({ tS: t / 1000, bytes: h, budgetBytes: budget });
      vms.forEach(({ vm }, i) => per[i]!.series.push(vm.point(t)));
    }
  }
  for (const { vm } of vms) vm.stop();

  const results: FleetVmResult[] = vms.map(({ spec, vm }, i) => ({
    name: spec.name,
    bootBytes: spec.bootBytes,
    weight: spec.weight ?? 1,
    shareBytes: per[i]!.minShare,
    fitsShare: per[i]!.fits,
    peakHoldsBytes: per[i]!.peak,
    metrics: vm.result(sim.hosts.get(spec.name)!.counters),
    series: per[i]!.series,
  }));
  return {
    fleet: fleet.name,
    policy: policy.name,
    seed,
    vms: results,
    metrics: { ...fleetMetrics(results, fleet.budgetBytes, holdsSum / Math.max(1, ticks), holdsPeak), minBudgetBytes: minBudget, overBudgetBytes: Math.max(0, overBudget) },
    limits: limits.map(({ i: _i, open: _o, ...l }) => l),
    budgets: budgets.map(({ open: _o, ...b }) => b),
    holds,
    wallMs: performance.now() - wall0,
  };
}

function fleetMetrics(vms: readonly FleetVmResult[], budgetBytes: number, meanHoldsBytes: number, peakHoldsBytes: number): Omit<FleetMetrics, 'minBudgetBytes' | 'overBudgetBytes'> {
  const sum = (xs: readonly FleetVmResult[], f: (m: RunMetrics) => number) => xs.reduce((s, v) => s + f(v.metrics), 0);
  const fit = vms.filter((v) => v.fitsShare);
  const ratio = (xs: readonly FleetVmResult[]) => {
    const o = sum(xs, (m) => m.oracleGiBh);
    return o > 0 ? sum(xs, (m) => m.footprintGiBh) / o : 0;
  };
  return {
    footprintGiBh: sum(vms, (m) => m.footprintGiBh),
    oracleGiBh: sum(vms, (m) => m.oracleGiBh),
    footprintOverOracle: ratio(vms),
    fitFootprintOverOracle: ratio(fit),
    budgetBytes,
    meanHoldsBytes,
    peakHoldsBytes,
    oomKills: sum(vms, (m) => m.oomKills),
    oomKillsInFitVms: sum(fit, (m) => m.oomKills),
    worstStallSomePercent: Math.max(0, ...vms.map((v) => v.metrics.stallSomePercent)),
    worstFitStallSomePercent: Math.max(0, ...fit.map((v) => v.metrics.stallSomePercent)),
    reclaimAsked: sum(vms, (m) => m.requests.reclaimAsked),
  };
}
